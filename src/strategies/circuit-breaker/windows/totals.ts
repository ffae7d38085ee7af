/** @internal The running totals every window keeps. Read-only outside the window. */
export abstract class WindowTotals {
  /** Outcomes in the window. */
  calls = 0;
  /** Failed outcomes in the window. */
  failures = 0;
  /** Slow outcomes in the window (failed or not). */
  slowCalls = 0;
}
