// The signal and promise helpers every stage shares: waiting on a clock, racing a caller's abort,
// yielding a turn, and running a callee as an async call would.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import {
  NEVER_ABORTED,
  abortable,
  callAsync,
  isThenable,
  nextTurn,
  nextTurnPromise,
  pendingTurns,
  raceAbort,
  sleep,
} from '../../src/internal/signals.js';
import type { Clock } from '../../src/internal/clock.js';
import { MAX_TIMER_MS } from '../../src/internal/timerLimit.js';
import { ManualClock } from '../support/clock.js';
import { deferred, rejectionOf, settle } from '../support/promises.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A ManualClock whose timers fire `early(ms)` ms before they are due (never before they are set). */
class EarlyClock implements Clock {
  readonly inner = new ManualClock();
  readonly delays: number[] = [];
  readonly #early: (ms: number) => number;
  constructor(early: (ms: number) => number) {
    this.#early = early;
  }
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    return this.inner.setTimeout(fn, Math.max(0, ms - this.#early(ms)));
  }
  clearTimeout(handle: unknown): void {
    this.inner.clearTimeout(handle);
  }
}

describe('signals', () => {
  describe('NEVER_ABORTED', () => {
    it('is a signal that is not aborted and has no reason', () => {
      expect(NEVER_ABORTED).to.be.instanceOf(AbortSignal);
      expect(NEVER_ABORTED.aborted).to.equal(false);
      expect(NEVER_ABORTED.reason).to.equal(undefined);
    });
  });

  describe('abortable', () => {
    it('maps the shared never-aborting signal and none to undefined, any other signal to itself', () => {
      const signal = new AbortController().signal;
      expect(abortable(NEVER_ABORTED)).to.equal(undefined);
      expect(abortable(undefined)).to.equal(undefined);
      expect(abortable(signal)).to.equal(signal);
      const aborted = AbortSignal.abort();
      expect(abortable(aborted)).to.equal(aborted);
    });
  });

  describe('sleep', () => {
    it('resolves once the clock passes the delay, not before', async () => {
      const clock = new ManualClock();
      const slept = settle(sleep(clock, 50));
      expect(clock.delays).to.deep.equal([50]);
      await clock.advance(49);
      expect(slept.status).to.equal('pending');
      await clock.advance(1);
      expect(slept.status).to.equal('fulfilled');
      expect(clock.pending()).to.equal(0);
    });

    it('rejects at once with the reason of an already-aborted signal, setting no timer', async () => {
      const clock = new ManualClock();
      const reason = new Error('gone');
      expect(await rejectionOf(sleep(clock, 50, AbortSignal.abort(reason)))).to.equal(reason);
      expect(clock.delays).to.deep.equal([]);
    });

    it('rejects with the reason when the signal aborts mid-wait, clearing its timer and listener', async () => {
      const clock = new ManualClock();
      const controller = new AbortController();
      const slept = sleep(clock, 50, controller.signal);
      expect(listeners(controller.signal)).to.equal(1);
      await clock.advance(10);
      const reason = new Error('stop');
      controller.abort(reason);
      expect(await rejectionOf(slept)).to.equal(reason);
      expect(clock.pending(), 'timer cleared').to.equal(0);
      expect(listeners(controller.signal)).to.equal(0);
    });

    it('removes its abort listener when the wait ends normally', async () => {
      const clock = new ManualClock();
      const controller = new AbortController();
      const slept = settle(sleep(clock, 5, controller.signal));
      await clock.advance(5);
      expect(slept.status).to.equal('fulfilled');
      expect(listeners(controller.signal)).to.equal(0);
    });

    it('never listens to the shared never-aborting signal', async () => {
      const clock = new ManualClock();
      // Counted relative to before: other code in the process may listen to it meanwhile.
      const before = listeners(NEVER_ABORTED);
      const slept = settle(sleep(clock, 5, NEVER_ABORTED));
      expect(listeners(NEVER_ABORTED)).to.equal(before);
      await clock.advance(5);
      expect(slept.status).to.equal('fulfilled');
    });

    it('sets its timer again for as long as it fires early, and ends no sooner than the delay', async () => {
      // Half the delay early, 0.4 ms at most, for timers of 0.3 ms or more: as a host's timer
      // set again for a fraction of a millisecond may fire early again.
      const clock = new EarlyClock((ms) => (ms >= 0.3 ? Math.min(0.4, ms / 2) : 0));
      let endedAt: number | undefined;
      void sleep(clock, 5.5).then(() => (endedAt = clock.now()));
      await clock.inner.advance(100);
      expect(endedAt).to.equal(5.5);
      expect(clock.delays.map((d) => +d.toFixed(9))).to.deep.equal([5.5, 0.4, 0.2]);
      expect(clock.inner.pending()).to.equal(0);
    });

    it('ends a wait longer than a host timer can be set for no sooner than its delay', async () => {
      // A clock that clamps its timers as hosts do (the default clock clamps them the same way).
      const inner = new ManualClock();
      const clamped: Clock = {
        now: () => inner.now(),
        setTimeout: (fn, ms) => inner.setTimeout(fn, Math.min(ms, MAX_TIMER_MS)),
        clearTimeout: (handle) => inner.clearTimeout(handle),
      };
      const ms = 3 * MAX_TIMER_MS + 5;
      let endedAt: number | undefined;
      void sleep(clamped, ms).then(() => (endedAt = inner.now()));
      await inner.advance(4 * MAX_TIMER_MS);
      expect(endedAt).to.equal(ms);
      expect(inner.delays).to.have.length(4);
    });

    it('gives up setting its timer again, and ends, on a clock whose timers never stop firing early', async () => {
      // Each timer fires 0.4 ms early, or half its delay when that is less: never on time.
      const clock = new EarlyClock((ms) => Math.min(0.4, ms / 2));
      const slept = settle(sleep(clock, 5.5));
      await clock.inner.advance(100);
      expect(slept.status).to.equal('fulfilled');
      expect(clock.delays.length).to.be.within(3, 17);
      expect(clock.inner.pending()).to.equal(0);
    });

    it('ends when its timer fires long before the delay on a clock whose timers run at once', async () => {
      // Not a host's timer firing early (by a millisecond at most): setting it again would only
      // make a loop of timers until the time had passed.
      let now = 0;
      const delays: number[] = [];
      const clock: Clock = {
        now: () => (now += 0.01),
        setTimeout: (fn, ms) => {
          delays.push(ms);
          queueMicrotask(fn);
          return delays.length;
        },
        clearTimeout: () => undefined,
      };
      await sleep(clock, 300);
      expect(delays).to.deep.equal([300]);
    });
  });

  describe('nextTurn', () => {
    it('runs its callback in a later macrotask, after pending microtasks, counting it as pending meanwhile', async () => {
      const order: string[] = [];
      const before = pendingTurns();
      nextTurn(() => order.push('turn'));
      expect(pendingTurns()).to.equal(before + 1);
      await Promise.resolve();
      order.push('microtask');
      expect(order).to.deep.equal(['microtask']);
      await new Promise((resolve) => setImmediate(resolve));
      expect(order).to.deep.equal(['microtask', 'turn']);
      expect(pendingTurns()).to.equal(before);
    });

    it('as a promise, resolves in a later turn', async () => {
      const turn = settle(nextTurnPromise());
      await Promise.resolve();
      await Promise.resolve();
      expect(turn.status).to.equal('pending');
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.resolve();
      expect(turn.status).to.equal('fulfilled');
    });
  });

  describe('raceAbort', () => {
    it('returns the promise itself without a signal or with the never-aborting one', () => {
      const promise = Promise.resolve(1);
      expect(raceAbort(promise, undefined)).to.equal(promise);
      expect(raceAbort(promise, NEVER_ABORTED)).to.equal(promise);
    });

    it('settles as the promise does when the signal stays quiet, then stops listening', async () => {
      const controller = new AbortController();
      expect(await raceAbort(Promise.resolve('v'), controller.signal)).to.equal('v');
      const error = new Error('e');
      expect(await rejectionOf(raceAbort(Promise.reject(error), controller.signal))).to.equal(
        error,
      );
      expect(listeners(controller.signal)).to.equal(0);
    });

    it('rejects at once with the reason when the signal aborts first, leaving the work running', async () => {
      const controller = new AbortController();
      const work = deferred<string>();
      const raced = settle(raceAbort(work.promise, controller.signal));
      const reason = new Error('abort');
      controller.abort(reason);
      await Promise.resolve();
      expect(raced).to.deep.include({ status: 'rejected', reason });
      expect(listeners(controller.signal)).to.equal(0);
      work.reject(new Error('late'));
    });

    it('rejects with the reason of an already-aborted signal without listening, leaving no unhandled rejection', async () => {
      const reason = new Error('before');
      const signal = AbortSignal.abort(reason);
      const work = deferred<string>();
      expect(await rejectionOf(raceAbort(work.promise, signal))).to.equal(reason);
      expect(listeners(signal)).to.equal(0);
      // Nobody waits for the work any more: its later rejection must not go unhandled.
      work.reject(new Error('late'));
      await new Promise((resolve) => setImmediate(resolve));
    });
  });

  describe('isThenable', () => {
    it('is true for promises and for objects and functions with a callable then', () => {
      const fnWithThen = Object.assign(() => {}, { then: () => {} });
      expect(isThenable(Promise.resolve())).to.equal(true);
      expect(isThenable({ then: () => {} })).to.equal(true);
      expect(isThenable(fnWithThen)).to.equal(true);
    });

    it('is false for null, primitives, and a then that is not a function', () => {
      for (const value of [null, undefined, 0, 'then', true, {}, { then: 1 }, () => {}]) {
        expect(isThenable(value), String(value)).to.equal(false);
      }
    });
  });

  describe('callAsync', () => {
    it('passes the signal and resolves with the value, sync or async', async () => {
      const signal = new AbortController().signal;
      let seen: AbortSignal | undefined;
      expect(
        await callAsync((s) => {
          seen = s;
          return 1;
        }, signal),
      ).to.equal(1);
      expect(seen).to.equal(signal);
      expect(await callAsync(() => Promise.resolve(2), signal)).to.equal(2);
    });

    it('turns a synchronous throw into a rejection with the same error', async () => {
      const error = new Error('sync');
      const call = callAsync(() => {
        throw error;
      }, NEVER_ABORTED);
      expect(call).to.be.instanceOf(Promise);
      expect(await rejectionOf(call)).to.equal(error);
    });
  });
});
