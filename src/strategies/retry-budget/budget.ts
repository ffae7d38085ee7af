// The arithmetic of a retry budget, shared by the in-memory store and the Redis one (pure
// constants and functions, so a second bundled copy is harmless).

/** @internal Buckets per window: expiry moves in steps of a tenth of the window. */
export const BUCKETS = 10;

/**
 * @internal Sums of a few fractional ratios land a hair off the integer (0.7 * 10 =
 * 7.000000000000001): a withdrawal needs a whole retry, less this much.
 */
export const EPSILON = 1e-9;

/** @internal Retries a window of `windowMs` allows whatever the traffic, at `minPerSecond`. */
export function reserveOf(minPerSecond: number, windowMs: number): number {
  return (minPerSecond * windowMs) / 1000;
}

/**
 * @internal Retries a budget of `ratio` and `reserve` holds with `deposits` first attempts and
 * `withdrawals` retries in its window: below 0 when overdrawn, and one can be withdrawn from
 * `1 - EPSILON` on.
 */
export function budgetLeft(
  ratio: number,
  reserve: number,
  deposits: number,
  withdrawals: number,
): number {
  return ratio * deposits + reserve - withdrawals;
}

/**
 * @internal The retries a budget holds as it reports them, to a millionth of a retry: the counts
 * are whole, but `ratio` x first attempts is a binary fraction a hair off the decimal one
 * (0.2 x 101 = 20.200000000000003), and a budget reports 19.2, not 19.200000000000003. Its
 * decisions read the store's own figure (a withdrawal needs a whole retry, less `EPSILON`).
 */
export function roundTokens(tokens: number): number {
  return Math.round(tokens * 1e6) / 1e6;
}
