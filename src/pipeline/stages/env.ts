import type { EventHub } from '../events.js';
import type { Counters } from '../metrics.js';

/** @internal What a built-in stage shares with its policy. */
export interface StageEnv {
  readonly policy: string;
  readonly hub: EventHub;
  readonly counters: Counters;
}
