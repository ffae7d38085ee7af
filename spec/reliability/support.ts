// Shared helpers for the reliability specs: fast-check parameters read from the environment (so
// a failure can be replayed), a hand-made clock whose timers fire only when a spec advances it,
// and (re-exported) the promise helpers every spec folder shares.
import type { Parameters } from 'fast-check';
import type { Clock } from '../../src/internal/clock.js';
import { pendingTurns } from '../../src/internal/signals.js';
import { flush } from '../support/promises.js';

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

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that stands still until `advance` moves it. Timers fire in time order (then in the
 * order they were set), each at its own time, with microtasks (and the later turns a zero-delay
 * retry waits for) drained after each one so continuations observe the time their timer fired.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];
  /** Every delay passed to `setTimeout`, in order. */
  readonly delays: number[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers one by one. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settleTurns();
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (next === undefined || t.at < next.at)) next = t;
      }
      if (next === undefined) break;
      const fire = next;
      this.#timers = this.#timers.filter((t) => t !== fire);
      if (fire.at > this.#now) this.#now = fire.at;
      fire.fn();
      await settleTurns();
    }
    this.#now = target;
    await settleTurns();
  }
}

/** Lets pending promise chains run, and the zero-delay retries waiting for a later turn. */
async function settleTurns(): Promise<void> {
  do await flush();
  while (pendingTurns() > 0);
}
