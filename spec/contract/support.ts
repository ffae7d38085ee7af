// Helpers for the contract specs, which check the rules of docs/CONTRACT.md one by one against
// the built package (`bulwark`, `bulwark/redis`, `bulwark/otel` resolve to dist/ by the package's
// self-reference, so `node build.mjs` must have run).
import { createRequire } from 'node:module';
import type { Clock } from 'bulwark';

import { flush } from '../support/promises.js';

export { flush, never, rejectionOf, settle } from '../support/promises.js';

/** The CommonJS build of the core, loaded as a `require` user would load it. */
export function requireCore(): typeof import('bulwark') {
  return createRequire(import.meta.url)('bulwark') as typeof import('bulwark');
}

/** A hand-made clock: time moves only through `advance`, which runs the timers that fall due. */
export interface ManualClock extends Clock {
  /** The delay of every timer ever set, in order. */
  readonly delays: number[];
  /** Timers set and not yet run or cleared. */
  pending(): number;
  /** Moves time forward by `ms`, running due timers in order and letting promises settle. */
  advance(ms: number): Promise<void>;
}

export function manualClock(start = 1_000): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const delays: number[] = [];
  return {
    delays,
    now: () => now,
    setTimeout(fn: () => void, ms: number): unknown {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      delays.push(ms);
      return id;
    },
    clearTimeout(handle: unknown): void {
      timers.delete(handle as number);
    },
    pending: () => timers.size,
    async advance(ms: number): Promise<void> {
      const end = now + ms;
      for (;;) {
        await flush();
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) {
          if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
        }
        if (due === undefined) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
      await flush();
    },
  };
}

/** What `fn` throws synchronously; fails the spec when it returns. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
