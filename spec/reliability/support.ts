// Shared helpers for the reliability specs: fast-check parameters read from the environment (so
// a failure can be replayed), and (re-exported) the promise helpers every spec folder shares.
// The manual clock is spec/support/clock.ts.
import type { Parameters } from 'fast-check';

export { deferred, flush, settle, type Deferred, type Settled } from '../support/promises.js';

/**
 * fast-check parameters for every property in this folder: `FC_RUNS` (default 1000) sets the run
 * count, `FC_SEED` and `FC_PATH` replay a failure (fast-check prints both when a property fails),
 * and `FC_VERBOSE=2` prints every step of the counterexample.
 */
export function fcParams<T>(overrides: Parameters<T> = {}): Parameters<T> {
  const params: Parameters<T> = {
    numRuns: Number(process.env.FC_RUNS ?? 1000),
    verbose: Number(process.env.FC_VERBOSE ?? 1) as 0 | 1 | 2,
    ...overrides,
  };
  if (process.env.FC_SEED !== undefined) params.seed = Number(process.env.FC_SEED);
  if (process.env.FC_PATH !== undefined) params.path = process.env.FC_PATH;
  return params;
}
