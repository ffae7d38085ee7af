import { bucketsFor } from '../admissions.js';
import { WindowTotals } from './totals.js';

/**
 * @internal The call outcomes of the last `durationMs`, kept in `buckets` equal time buckets in
 * a ring buffer with running totals. Recording is O(1); buckets fall out lazily by comparing
 * timestamps when the window is next touched (no timers).
 *
 * Time is cut into buckets of `width = durationMs / buckets` starting from 0 (bucket `k` covers
 * `[k * width, (k + 1) * width)`), and a bucket is kept until its end is `durationMs` old: the
 * window holds the bucket containing `now` and the `buckets` before it (the ring has
 * `buckets + 1` slots). So an outcome recorded at `t` leaves at
 * `(floor(t / width) + 1) * width + durationMs`: never while it is `durationMs` old or younger,
 * and at most `durationMs + width` after it was recorded (exactly that when `t` starts a
 * bucket). Its totals are as of the last `record` or `expire`.
 */
export class TimeWindow extends WindowTotals {
  /** Number of buckets in `durationMs`. */
  readonly buckets: number;
  readonly #width: number;
  // Slots in the ring: `buckets` plus the one whose end is not yet `durationMs` old.
  readonly #slots: number;
  // Three counts per slot: calls, failures, slow calls.
  readonly #counts: Float64Array;
  // Index (time / width, floored) of the newest bucket in use; every older bucket still in the
  // ring is within `buckets` of it.
  #latest = -Infinity;

  constructor(durationMs: number, buckets: number = bucketsFor(durationMs)) {
    super();
    this.buckets = buckets;
    this.#width = durationMs / buckets;
    this.#slots = buckets + 1;
    this.#counts = new Float64Array(this.#slots * 3);
  }

  /** Adds one outcome at time `now` (after dropping what has expired by then). */
  record(failure: boolean, slow: boolean, now: number): void {
    this.#add(1, failure ? 1 : 0, slow ? 1 : 0, now);
  }

  /**
   * Adds a saved bucket's outcomes, `calls` of which `failures` failed and `slow` were slow,
   * whose bucket began at `start`, as of `now` (`start` not before that of the bucket added
   * last). They go into the bucket of this window that ends no earlier than the saved one did
   * (the same bucket when the buckets line up), but none later than the bucket of `now`.
   */
  restore(calls: number, failures: number, slow: number, start: number, now: number): void {
    // The bucket holding the instant a 1024th of a bucket before the saved one's end: the very
    // same bucket when the buckets line up, whatever rounding the times went through.
    const width = this.#width;
    this.#add(calls, failures, slow, Math.min(now, start + width - width / 1024));
  }

  /**
   * The buckets still in the window at `now` that hold outcomes, oldest first, each as
   * `[ageMs, calls, failures, slowCalls]`, where `ageMs` is the time since the bucket began.
   */
  contents(now: number): Array<[number, number, number, number]> {
    this.#advance(now);
    const list: Array<[number, number, number, number]> = [];
    const n = this.#slots;
    const c = this.#counts;
    for (let index = this.#latest - n + 1; index <= this.#latest; index++) {
      const at = slotOf(index, n) * 3;
      if (c[at]! > 0) list.push([now - index * this.#width, c[at]!, c[at + 1]!, c[at + 2]!]);
    }
    return list;
  }

  /** Drops the outcomes that have left the window by `now`. */
  expire(now: number): void {
    this.#advance(now);
  }

  /** Forgets every outcome. */
  clear(): void {
    this.#counts.fill(0);
    this.#latest = -Infinity;
    this.calls = this.failures = this.slowCalls = 0;
  }

  // Adds outcomes at time `at` (not before the newest bucket in use).
  #add(calls: number, failures: number, slow: number, at: number): void {
    const c = this.#counts;
    const slot = this.#advance(at) * 3;
    c[slot]! += calls;
    c[slot + 1]! += failures;
    c[slot + 2]! += slow;
    this.calls += calls;
    this.failures += failures;
    this.slowCalls += slow;
  }

  // Moves the window forward to `now`, emptying the slots it passes over, and returns the slot
  // of the current bucket. A clock that steps back is treated as standing still.
  #advance(now: number): number {
    const n = this.#slots;
    const index = Math.floor(now / this.#width);
    let i = this.#latest;
    // Stryker disable next-line EqualityOperator: at index === i the loop below moves nothing
    if (index > i) {
      // Stryker disable next-line EqualityOperator: passing over exactly n slots empties them all, as clear() does
      if (index - i >= n) this.clear();
      else {
        const c = this.#counts;
        while (i < index) {
          const at = slotOf(++i, n) * 3;
          this.calls -= c[at]!;
          this.failures -= c[at + 1]!;
          this.slowCalls -= c[at + 2]!;
          c[at] = c[at + 1] = c[at + 2] = 0;
        }
      }
      this.#latest = index;
    }
    return slotOf(this.#latest, n);
  }
}

// The ring slot of bucket `index` (which may be negative) in a ring of `n` slots.
function slotOf(index: number, n: number): number {
  const slot = index % n;
  return slot < 0 ? slot + n : slot;
}
