// Shared by the AdaptiveLimit specs.
import type { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';

/**
 * Feeds one full window (10 samples at `at`, `at + 100`, ..., `at + 900`) of `rtt` ms at
 * `inflight`, the first `failures` of them failed; returns the limit after it.
 */
export function window(
  limit: AdaptiveLimit,
  at: number,
  rtt: number,
  inflight = limit.limit,
  failures = 0,
): number {
  for (let i = 0; i < 10; i++) limit.sample(at + i * 100, rtt, inflight, i < failures);
  return limit.limit;
}

/** Feeds the 10 windows of the warm-up (from 0, one a second) of `rtt` ms at the limit. */
export function warmUp(limit: AdaptiveLimit, rtt: number): void {
  for (let i = 0; i < 10; i++) window(limit, i * 1000, rtt);
}
