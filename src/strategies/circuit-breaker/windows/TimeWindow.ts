/**
 * @internal How many buckets a window of `durationMs` gets: one per second, but never fewer
 * than 10 (so short windows still slide smoothly) nor more than 60 (so long ones stay small).
 */
export function bucketsFor(durationMs: number): number {
  return Math.min(60, Math.max(10, Math.ceil(durationMs / 1000)));
}

/**
 * @internal The call outcomes of the last `durationMs`, kept in `buckets` equal time buckets in
 * a ring buffer with running totals. Recording is O(1); buckets fall out lazily by comparing
 * timestamps when the window is next touched (no timers).
 *
 * Time is cut into buckets of `durationMs / buckets` starting from 0; the window holds the
 * bucket containing `now` and the `buckets - 1` before it. So an outcome leaves the window when
 * the bucket `durationMs` after its own begins: at most `durationMs`, and at least
 * `durationMs - durationMs / buckets`, after it was recorded.
 */
export class TimeWindow {
  /** Length of the window in milliseconds. */
  readonly durationMs: number;
  /** Number of buckets. */
  readonly buckets: number;
  readonly #width: number;
  readonly #calls: Float64Array;
  readonly #failures: Float64Array;
  readonly #slow: Float64Array;
  // Index (time / width, floored) of the newest bucket in use; every older bucket still in the
  // ring is within `buckets - 1` of it.
  #latest = -Infinity;
  #totalCalls = 0;
  #totalFailures = 0;
  #totalSlow = 0;

  constructor(durationMs: number, buckets: number = bucketsFor(durationMs)) {
    this.durationMs = durationMs;
    this.buckets = buckets;
    this.#width = durationMs / buckets;
    this.#calls = new Float64Array(buckets);
    this.#failures = new Float64Array(buckets);
    this.#slow = new Float64Array(buckets);
  }

  /** Outcomes in the window as of the last `record` or `expire`. */
  get calls(): number {
    return this.#totalCalls;
  }

  /** Failed outcomes in the window as of the last `record` or `expire`. */
  get failures(): number {
    return this.#totalFailures;
  }

  /** Slow outcomes (failed or not) in the window as of the last `record` or `expire`. */
  get slowCalls(): number {
    return this.#totalSlow;
  }

  /** Adds one outcome at time `now` (after dropping what has expired by then). */
  record(failure: boolean, slow: boolean, now: number): void {
    const slot = this.#advance(now);
    this.#calls[slot] = (this.#calls[slot] as number) + 1;
    this.#totalCalls++;
    if (failure) {
      this.#failures[slot] = (this.#failures[slot] as number) + 1;
      this.#totalFailures++;
    }
    if (slow) {
      this.#slow[slot] = (this.#slow[slot] as number) + 1;
      this.#totalSlow++;
    }
  }

  /** Drops the outcomes that have left the window by `now`. */
  expire(now: number): void {
    this.#advance(now);
  }

  /** Forgets every outcome. */
  clear(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.#latest = -Infinity;
    this.#totalCalls = 0;
    this.#totalFailures = 0;
    this.#totalSlow = 0;
  }

  // Moves the window forward to `now`, emptying the buckets it passes over, and returns the
  // slot of the current bucket. A clock that steps back is treated as standing still.
  #advance(now: number): number {
    const n = this.buckets;
    const index = Math.floor(now / this.#width);
    const latest = this.#latest;
    if (index > latest) {
      if (index - latest >= n) {
        if (this.#totalCalls !== 0) this.clear();
      } else {
        for (let i = latest + 1; i <= index; i++) this.#empty(slotOf(i, n));
      }
      this.#latest = index;
    }
    return slotOf(this.#latest, n);
  }

  #empty(slot: number): void {
    this.#totalCalls -= this.#calls[slot] as number;
    this.#totalFailures -= this.#failures[slot] as number;
    this.#totalSlow -= this.#slow[slot] as number;
    this.#calls[slot] = 0;
    this.#failures[slot] = 0;
    this.#slow[slot] = 0;
  }
}

function slotOf(index: number, n: number): number {
  const slot = index % n;
  return slot < 0 ? slot + n : slot;
}
