// One byte per outcome: bit 0 = failure, bit 1 = slow.
const FAILURE = 1;
const SLOW = 2;

/**
 * @internal The last `size` call outcomes, in a ring buffer with running totals, so recording
 * an outcome and reading the totals are O(1) and nothing is allocated after construction.
 */
export class CountWindow {
  /** Outcomes the window holds at most. */
  readonly size: number;
  readonly #ring: Uint8Array;
  #next = 0;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(size: number) {
    this.size = size;
    this.#ring = new Uint8Array(size);
  }

  /** Outcomes in the window. */
  get calls(): number {
    return this.#calls;
  }

  /** Failed outcomes in the window. */
  get failures(): number {
    return this.#failures;
  }

  /** Slow outcomes in the window (failed or not). */
  get slowCalls(): number {
    return this.#slow;
  }

  /**
   * Adds one outcome, pushing the oldest out once the window is full.
   * @param _now - ignored; present so both window kinds are called alike
   */
  record(failure: boolean, slow: boolean, _now?: number): void {
    const at = this.#next;
    if (this.#calls === this.size) {
      const evicted = this.#ring[at] as number;
      if ((evicted & FAILURE) !== 0) this.#failures--;
      if ((evicted & SLOW) !== 0) this.#slow--;
    } else {
      this.#calls++;
    }
    this.#ring[at] = (failure ? FAILURE : 0) | (slow ? SLOW : 0);
    if (failure) this.#failures++;
    if (slow) this.#slow++;
    this.#next = at + 1 === this.size ? 0 : at + 1;
  }

  /** A count window has nothing that expires with time. */
  expire(_now?: number): void {}

  /** Forgets every outcome. */
  clear(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.#calls = 0;
    this.#failures = 0;
    this.#slow = 0;
  }
}
