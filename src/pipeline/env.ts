import type { Clock } from '../internal/clock.js';
import type { EventHub } from './events.js';
import type { Counters } from './metrics.js';

/** @internal What a built-in stage shares with its policy. */
export interface StageEnv {
  readonly policy: string;
  readonly hub: EventHub;
  readonly counters: Counters;
  /** The policy's clock, which set `startedAt`. */
  readonly clock: Clock;
  /**
   * `policy.execute`: a refusal made in the caller's turn starts its stack at the frame that
   * called it (or, for a wrapped function, at the wrapper's caller: `RootContext.entry`).
   */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a stack frame marker
  readonly entry: Function;
}

/** @internal Placeholder neighbour of a step not yet linked into a policy. */
export const UNLINKED = Object.freeze({
  enter(): void {
    throw new Error('stage used before it was linked into a policy');
  },
  leave(): void {
    throw new Error('stage used before it was linked into a policy');
  },
});
