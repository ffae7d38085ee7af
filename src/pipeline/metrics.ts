/** Counters and live stage state returned by `policy.metrics()`. */
export interface PolicyMetrics {
  /** Executions started. */
  readonly calls: number;
  /** Executions that resolved, by the thunk or by a fallback. */
  readonly successes: number;
  /** Executions that rejected, for any reason. */
  readonly failures: number;
  /** Refusals by kind, counted as they happen (also when an outer fallback then handled them). */
  readonly rejections: {
    readonly rateLimit: number;
    readonly bulkhead: number;
    readonly circuitOpen: number;
  };
  /**
   * `retry` events: retries due, each a wait begun before the next attempt or a retry skipped
   * (`skipped: 'deadline'` or `'budget'`) that made no further attempt.
   */
  readonly retries: number;
  /** Deadlines that passed. */
  readonly timeouts: number;
  /**
   * Failures a fallback took over: replaced by its value, or followed by another error its
   * method failed with (not those a method declined by rethrowing them).
   */
  readonly fallbacks: number;
  /**
   * Each stage's live state, outermost first. A stage whose state cannot be read (a custom store
   * that throws) shows its state as last read, or only its `kind` and `name` if never read.
   */
  readonly stages: readonly StageState[];
}

/** One stage's live state in {@link PolicyMetrics}. Keys beyond `kind`/`name` depend on the kind. */
export interface StageState {
  readonly kind: string;
  readonly name: string;
  readonly [key: string]: unknown;
}

/** @internal Mutable counters shared by a policy and its stages. */
export class Counters {
  calls = 0;
  successes = 0;
  failures = 0;
  rateLimit = 0;
  bulkhead = 0;
  circuitOpen = 0;
  retries = 0;
  timeouts = 0;
  fallbacks = 0;
}
