// The one hand-made clock of the specs: time stands still until a spec moves it, and a timer
// runs only when time passes its due moment. Every folder (white-box, reliability, contract,
// fetch) uses this clock, so "time moved by 10 ms" means the same thing everywhere.
//
// It only needs the shape of `Clock` (`now`, `setTimeout`, `clearTimeout`), so the contract
// specs can hand it to the built package as well as to the sources.
import type { Clock } from '../../src/internal/clock.js';
import { pendingTurns } from '../../src/internal/signals.js';
import { flush } from './promises.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export interface ManualClockOptions {
  /**
   * Makes `setTimeout` throw an Error with this message: for a spec asserting that the code
   * under test reads the time but never sets a timer.
   */
  readonly forbidTimers?: string;
}

/**
 * A clock that stands still until `advance` (or `tick`) moves it. Timers fire in time order
 * (then in the order they were set), each at its own time: a timer's callback observes `now()`
 * equal to the moment it was due, never the end of the advance.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];
  readonly #forbidTimers: string | undefined;
  /** The delay of every timer ever set, in order. */
  readonly delays: number[] = [];
  /** How many times `now()` was read. */
  reads = 0;

  constructor(start = 0, options: ManualClockOptions = {}) {
    this.#now = start;
    this.#forbidTimers = options.forbidTimers;
  }

  now(): number {
    this.reads++;
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    if (this.#forbidTimers !== undefined) throw new Error(this.#forbidTimers);
    this.delays.push(ms);
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Timers set and not yet fired or cleared. */
  pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers one by one. Before the first timer, after each
   * one and at the end, pending promise chains run to completion, including the later turns a
   * zero-delay wait asks for (`pendingTurns()`), so continuations observe the time their timer
   * fired.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settleTurns();
    for (;;) {
      const due = this.#take(target);
      if (due === undefined) break;
      due.fn();
      await settleTurns();
    }
    this.#now = target;
    await settleTurns();
  }

  /**
   * Moves time forward by `ms` synchronously, firing due timers one by one without letting any
   * promise settle in between: for code that reacts to time only when it is next called.
   */
  tick(ms: number): void {
    const target = this.#now + ms;
    for (let due = this.#take(target); due !== undefined; due = this.#take(target)) due.fn();
    this.#now = target;
  }

  /** Removes the earliest timer due by `target`, moving time to its moment. */
  #take(target: number): Timer | undefined {
    let next: Timer | undefined;
    for (const t of this.#timers) {
      if (t.at <= target && (next === undefined || t.at < next.at)) next = t;
    }
    if (next === undefined) return undefined;
    const due = next;
    this.#timers = this.#timers.filter((t) => t !== due);
    if (due.at > this.#now) this.#now = due.at;
    return due;
  }
}

/**
 * Lets pending promise chains run, and the zero-delay waits asking for a later turn. Two turns
 * each time: a deadline's expiry runs in a promise reaction (in its call's async context), so a
 * later turn it asks for is set after the first one, and a copy of the library loaded apart (the
 * built package) keeps its own count of them.
 */
async function settleTurns(): Promise<void> {
  do {
    await flush();
    await flush();
  } while (pendingTurns() > 0);
}
