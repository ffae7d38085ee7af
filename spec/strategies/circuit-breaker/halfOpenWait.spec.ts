// CircuitBreaker, white-box: `halfOpenWait`, a call beyond the HALF_OPEN trial budget waiting for
// the trial calls' verdict instead of being refused at once; standalone and through a policy.
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError, OperationTimeoutError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Keyed } from '../../../src/strategies/keyed/Keyed.js';
import { ownTimers } from '../../../src/internal/timerMode.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf, settle } from '../../support/promises.js';
import { AsyncStore, breakerClock, run } from './support.js';

describe('CircuitBreaker halfOpenWait', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock();
  });

  /** A breaker that tripped on one failure and reads HALF_OPEN now (recoveryTimeout 10 s). */
  async function halfOpen(options: CircuitBreakerOptions = {}): Promise<CircuitBreaker> {
    const breaker = new CircuitBreaker({
      clock,
      failureThreshold: 1,
      recoveryTimeout: '10s',
      halfOpenWait: 500,
      ...options,
    });
    await run(breaker, 'F');
    clock.tick(10_000);
    expect(breaker.state).to.equal('half-open');
    return breaker;
  }

  /** `halfOpen()`'s breaker with its one trial call out: `first`, answered as `probe` settles. */
  async function trialCallOut() {
    const breaker = await halfOpen();
    const probe = deferred<string>();
    const first = breaker.execute(() => probe.promise);
    return { breaker, probe, first };
  }

  describe('options', () => {
    it('rejects a negative, infinite or NaN wait with a RangeError naming it and the value', () => {
      for (const bad of [-1, Infinity, NaN]) {
        expect(() => new CircuitBreaker({ halfOpenWait: bad }), String(bad)).to.throw(
          RangeError,
          `\`halfOpenWait\` must be`,
        );
      }
      expect(() => new CircuitBreaker({ halfOpenWait: -5 })).to.throw(
        RangeError,
        '`halfOpenWait` must be a duration >= 0, got -5',
      );
    });

    it('rejects a value that is not a duration with a TypeError naming it and the value', () => {
      expect(() => new CircuitBreaker({ halfOpenWait: 'soon' })).to.throw(
        TypeError,
        '`halfOpenWait` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "soon"',
      );
      expect(() => new CircuitBreaker({ halfOpenWait: true } as never)).to.throw(
        TypeError,
        '`halfOpenWait`',
      );
    });

    it('suggests it for a misspelt key', () => {
      expect(() => new CircuitBreaker({ halfOpenWiat: 100 } as never)).to.throw(
        TypeError,
        'did you mean `halfOpenWait`?',
      );
    });

    it('shows a wait in describe(), and nothing for the default', () => {
      expect(new CircuitBreaker({ halfOpenWait: '250ms' }).describe()).to.equal(
        'opens after 5 consecutive failures, recovery 30000 ms, 1 half-open call, on all errors, half-open wait 250 ms',
      );
      expect(new CircuitBreaker({ halfOpenWait: 0 }).describe()).to.equal(
        new CircuitBreaker().describe(),
      );
    });

    it('comes from configuration as half-open-wait', () => {
      const registry = PolicyRegistry.fromConfig({
        'circuit-breaker': { inventory: { 'half-open-wait': '150ms' } },
      });
      expect(registry.circuitBreaker('inventory').describe()).to.include('half-open wait 150 ms');
    });
  });

  describe('standalone', () => {
    it('without it refuses at once and sets no timer', async () => {
      const strict = breakerClock();
      const breaker = new CircuitBreaker({
        clock: strict,
        failureThreshold: 1,
        recoveryTimeout: 100,
        halfOpenWait: 0,
      });
      await run(breaker, 'F');
      strict.tick(100);
      const probe = deferred<string>();
      const first = breaker.execute(() => probe.promise);
      const error = await rejectionOf(breaker.execute(() => 'late'));
      expect(error).to.be.instanceOf(CircuitOpenError).and.include({
        state: 'half-open',
        retryAfterMs: 0,
      });
      probe.resolve('ok');
      await first;
    });

    it('admits a waiting call as a CLOSED call, counted in the window, once the trial call closes the circuit', async () => {
      const { breaker, probe, first } = await trialCallOut();
      const fn = sinon.spy(() => 'waited');
      const waiting = settle(breaker.execute(fn));
      await clock.advance(100);
      expect(waiting.status).to.equal('pending');
      expect(fn.callCount).to.equal(0);
      probe.resolve('probe');
      expect(await first).to.equal('probe');
      await flush();
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waited' });
      expect(fn.callCount).to.equal(1);
      // The close emptied the window; the waiting call is its one outcome.
      expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 1, failedCalls: 0 });
      expect(clock.pending(), 'no timer left').to.equal(0);
    });

    it('refuses the waiting calls with the open time left when the trial call fails', async () => {
      const breaker = await halfOpen();
      const probe = deferred<string>();
      const first = settle(breaker.execute(() => probe.promise));
      const fn = sinon.spy(() => 'never');
      const waiting = [settle(breaker.execute(fn)), settle(breaker.execute(fn))];
      await clock.advance(200);
      probe.reject(new Error('still down'));
      await flush();
      expect(first.status).to.equal('rejected');
      for (const w of waiting) {
        expect(w.status).to.equal('rejected');
        expect(w.reason).to.be.instanceOf(CircuitOpenError).and.include({
          state: 'open',
          retryAfterMs: 10_000,
        });
        // The failure that re-opened it is the cause, as for any refusal while OPEN.
        expect((w.reason as Error).cause).to.have.property('message', 'still down');
      }
      expect(fn.callCount).to.equal(0);
      expect(clock.pending()).to.equal(0);
    });

    it('refuses a waiting call when the wait runs out, exactly then, and runs it on no later verdict', async () => {
      const { breaker, probe, first } = await trialCallOut();
      const fn = sinon.spy(() => 'never');
      const waiting = settle(breaker.execute(fn));
      await clock.advance(499);
      expect(waiting.status).to.equal('pending');
      await clock.advance(1);
      expect(waiting.status).to.equal('rejected');
      expect(waiting.reason).to.be.instanceOf(CircuitOpenError).and.include({
        state: 'half-open',
        retryAfterMs: 0,
      });
      probe.resolve('ok');
      await first;
      await flush();
      expect(fn.callCount).to.equal(0);
      expect(breaker.state).to.equal('closed');
      expect(clock.pending()).to.equal(0);
    });

    it('rejects a waiting call at once with the reason when its signal aborts, and forgets it', async () => {
      const { breaker, probe, first } = await trialCallOut();
      const controller = new AbortController();
      const fn = sinon.spy(() => 'never');
      const waiting = settle(breaker.execute(fn, controller.signal));
      await flush();
      expect(getEventListeners(controller.signal, 'abort').length).to.be.greaterThan(0);
      const reason = new Error('user left');
      controller.abort(reason);
      await flush();
      expect(waiting).to.deep.include({ status: 'rejected', reason });
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      expect(clock.pending(), 'its timer is cleared').to.equal(0);
      probe.resolve('ok');
      await first;
      await flush();
      expect(fn.callCount).to.equal(0);
    });

    it('rejects at once with the reason for a signal aborted already', async () => {
      const { breaker, probe, first } = await trialCallOut();
      const reason = new Error('gone');
      expect(await rejectionOf(breaker.execute(() => 'x', AbortSignal.abort(reason)))).to.equal(
        reason,
      );
      expect(clock.pending()).to.equal(0);
      probe.resolve('ok');
      await first;
    });

    it('gives a trial slot handed back unrecorded to the first waiting call, the others wait on', async () => {
      const breaker = await halfOpen({ recordOn: (e) => (e as Error).message !== 'ignored' });
      const probe = deferred<string>();
      const first = settle(breaker.execute(() => probe.promise));
      const second = deferred<string>();
      const order: string[] = [];
      const a = settle(
        breaker.execute(() => {
          order.push('a');
          return second.promise;
        }),
      );
      const b = settle(
        breaker.execute(() => {
          order.push('b');
          return 'b';
        }),
      );
      await flush();
      probe.reject(new Error('ignored'));
      await flush();
      expect(first.status).to.equal('rejected');
      // The first waiting call is the new trial call; the second still waits for its verdict.
      expect(order).to.deep.equal(['a']);
      expect(b.status).to.equal('pending');
      second.resolve('a');
      await flush();
      expect(a).to.deep.equal({ status: 'fulfilled', value: 'a' });
      expect(b).to.deep.equal({ status: 'fulfilled', value: 'b' });
      expect(order).to.deep.equal(['a', 'b']);
      expect(breaker.state).to.equal('closed');
      expect(clock.pending()).to.equal(0);
    });

    it('gives a trial slot handed back unrecorded to the waiting call before a call arriving in the same turn', async () => {
      const breaker = await halfOpen({ recordOn: (e) => (e as Error).message !== 'ignored' });
      const ticket = breaker.beforeCall();
      const order: string[] = [];
      const trial = deferred<string>();
      const waiting = settle(
        breaker.execute(() => {
          order.push('waiting');
          return trial.promise;
        }),
      );
      await flush();
      breaker.onFailure(new Error('ignored'), 0, ticket);
      // In the same turn as the slot came back, before the waiting call's wake has run.
      const arriving = settle(breaker.execute(() => order.push('arriving')));
      await flush();
      expect(order).to.deep.equal(['waiting']);
      expect(arriving.status, 'waits for the new trial call').to.equal('pending');
      trial.resolve('waiting');
      await flush();
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waiting' });
      expect(arriving).to.deep.equal({ status: 'fulfilled', value: 2 });
      expect(order).to.deep.equal(['waiting', 'arriving']);
      expect(breaker.state).to.equal('closed');
      expect(clock.pending(), 'no timer left').to.equal(0);
    });

    it('admits the waiting calls on reset() and refuses them for good on isolate()', async () => {
      let breaker = await halfOpen();
      let probe = deferred<string>();
      let first = breaker.execute(() => probe.promise);
      const admitted = settle(breaker.execute(() => 'in'));
      await flush();
      breaker.reset();
      await flush();
      expect(admitted).to.deep.equal({ status: 'fulfilled', value: 'in' });
      probe.resolve('ok');
      await first;

      clock = new ManualClock();
      breaker = await halfOpen();
      probe = deferred<string>();
      first = breaker.execute(() => probe.promise);
      const refused = settle(breaker.execute(() => 'never'));
      await flush();
      breaker.isolate();
      await flush();
      expect(refused.status).to.equal('rejected');
      expect(refused.reason).to.be.instanceOf(CircuitOpenError).and.include({
        state: 'isolated',
        retryAfterMs: Infinity,
      });
      expect(clock.pending()).to.equal(0);
      probe.resolve('ok');
      await first;
    });

    it('lets 1000 calls wait at once and refuses the next one at once', async () => {
      const { breaker, probe, first } = await trialCallOut();
      const waiting = Array.from({ length: 1000 }, (_, i) => settle(breaker.execute(() => i)));
      const over = await rejectionOf(breaker.execute(() => 'over'));
      expect(over).to.be.instanceOf(CircuitOpenError).and.include({ state: 'half-open' });
      // A timer per waiting call, and one for the moment the trial call would be taken as lost.
      // (Where each waiting call keeps its own timers, its recheck's too: 2 each.)
      expect(clock.pending()).to.equal(ownTimers ? 2000 : 1001);
      probe.resolve('ok');
      await first;
      await flush();
      expect(waiting.every((w, i) => w.status === 'fulfilled' && w.value === i)).to.equal(true);
      expect(clock.pending()).to.equal(0);
    });

    it('gives the slot of a trial call taken as lost to the waiting calls first, in arrival order', async () => {
      // recoveryTimeout 10 s: a trial call that has not reported after 10 s is lost.
      const breaker = await halfOpen({ halfOpenWait: '30s' });
      void breaker.execute(() => new Promise<string>(() => undefined));
      const order: string[] = [];
      const trial = deferred<string>();
      await clock.advance(1_000);
      const a = settle(
        breaker.execute(() => {
          order.push('a');
          return trial.promise;
        }),
      );
      await clock.advance(1_000);
      const b = settle(breaker.execute(() => order.push('b')));
      await clock.advance(7_999);
      expect(order, 'the trial call is not lost yet').to.deep.equal([]);
      await clock.advance(1);
      // Lost now: the first waiting call is the new trial call, the second still waits.
      expect(order).to.deep.equal(['a']);
      expect(b.status).to.equal('pending');
      await clock.advance(1_000);
      const late = settle(breaker.execute(() => order.push('late')));
      await flush();
      expect(order, 'a call arriving later waits its turn').to.deep.equal(['a']);
      trial.resolve('a');
      await flush();
      expect(a).to.deep.equal({ status: 'fulfilled', value: 'a' });
      expect([b.status, late.status]).to.deep.equal(['fulfilled', 'fulfilled']);
      expect(order).to.deep.equal(['a', 'b', 'late']);
      expect(breaker.state).to.equal('closed');
      expect(clock.pending(), 'no timer left').to.equal(0);
    });

    it("lets the waiting calls take a lost trial call's slot before a call arriving ahead of a late timer", async () => {
      // A clock whose timers fire only when the spec says: here, late.
      let now = 0;
      const timers = new Set<() => void>();
      const late = {
        now: () => now,
        setTimeout: (fn: () => void) => (timers.add(fn), fn),
        clearTimeout: (fn: unknown) => void timers.delete(fn as () => void),
      };
      const breaker = new CircuitBreaker({
        clock: late,
        failureThreshold: 1,
        recoveryTimeout: '10s',
        halfOpenWait: '30s',
      });
      await run(breaker, 'F');
      now = 10_000;
      void breaker.execute(() => new Promise<string>(() => undefined));
      const order: string[] = [];
      const trial = deferred<string>();
      const waiting = settle(
        breaker.execute(() => {
          order.push('waiting');
          return trial.promise;
        }),
      );
      await flush();
      now = 20_000;
      // Lost by now, and its timer has not fired: the waiting call still comes first.
      expect(timers.size).to.equal(2);
      const arriving = settle(breaker.execute(() => order.push('arriving')));
      await flush();
      expect(order).to.deep.equal(['waiting']);
      expect(arriving.status, 'waits for the new trial call').to.equal('pending');
      trial.resolve('waiting');
      await flush();
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waiting' });
      expect(arriving.status).to.equal('fulfilled');
      expect(order).to.deep.equal(['waiting', 'arriving']);
      expect(timers.size, 'no timer left').to.equal(0);
    });

    it('never waits in beforeCall', async () => {
      const breaker = await halfOpen();
      breaker.beforeCall();
      expect(() => breaker.beforeCall()).to.throw(CircuitOpenError);
      expect(clock.pending()).to.equal(0);
    });

    it('keeps a keyed breaker with waiting calls from being dropped as idle', async () => {
      const keyed = new Keyed(
        () =>
          new CircuitBreaker({
            clock,
            failureThreshold: 1,
            recoveryTimeout: 100,
            halfOpenWait: '10m',
          }),
        { clock, idleTimeout: 1000 },
      );
      const other = keyed.get('b');
      await run(other, 'F');
      clock.tick(100);
      const hung = deferred<string>();
      void other.execute(() => hung.promise);
      const held = settle(other.execute(() => 'held'));
      await clock.advance(5_000);
      expect(held.status).to.equal('pending');
      expect(keyed.keys()).to.include('b');
      expect(keyed.get('b'), 'kept while a call waits').to.equal(other);
      hung.resolve('ok');
      await flush();
      expect(held.status).to.equal('fulfilled');
    });
  });

  describe('with a store that answers with promises', () => {
    /** A breaker on an AsyncStore that tripped on one failure, its circuit HALF_OPEN now. */
    async function asyncHalfOpen(halfOpenWait: CircuitBreakerOptions['halfOpenWait']) {
      const store = new AsyncStore();
      const breaker = new CircuitBreaker({
        store,
        clock,
        failureThreshold: 1,
        recoveryTimeout: 100,
        halfOpenWait,
      });
      await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
      clock.tick(100);
      return { store, breaker };
    }

    /** As `asyncHalfOpen`, with the circuit's one trial slot taken elsewhere. */
    async function sharedHalfOpen(halfOpenWait: number) {
      const shared = await asyncHalfOpen(halfOpenWait);
      // Another process's trial call holds the slot.
      expect(shared.store.inner.acquire()).to.include({ admitted: true, probe: true });
      return shared;
    }

    it('asks the store again for the first waiting call every halfOpenWait / 4, from 10 to 250 ms', async () => {
      for (const [wait, every] of [
        [32, 10],
        [400, 100],
        [4_000, 250],
      ] as const) {
        clock = new ManualClock();
        const { store, breaker } = await sharedHalfOpen(wait);
        const first = settle(breaker.execute(() => 'a'));
        const second = settle(breaker.execute(() => 'b'));
        await flush();
        const asked = store.acquires;
        await clock.advance(every - 1);
        expect(store.acquires, `${wait}: not yet`).to.equal(asked);
        await clock.advance(1);
        expect(store.acquires, `${wait}: one ask for the first`).to.equal(asked + 1);
        // The other process's trial call closes the circuit: the next poll admits both.
        store.inner.record({ failure: false, slow: false });
        await clock.advance(every);
        expect([first.value, second.value], String(wait)).to.deep.equal(['a', 'b']);
        expect(clock.pending(), String(wait)).to.equal(0);
      }
    });

    it("does not poll while this breaker's own trial call is out, and learns the verdict from it", async () => {
      const { store, breaker } = await asyncHalfOpen(400);
      const probe = deferred<string>();
      const first = breaker.execute(() => probe.promise);
      await flush();
      const waiting = settle(breaker.execute(() => 'waited'));
      await flush();
      const asked = store.acquires;
      await clock.advance(300);
      expect(store.acquires, 'no poll').to.equal(asked);
      probe.resolve('probe');
      await first;
      await flush();
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waited' });
      expect(clock.pending()).to.equal(0);
    });

    it("refuses the waiting calls without asking the store when this breaker's trial call re-opens the circuit", async () => {
      const { store, breaker } = await asyncHalfOpen(400);
      const probe = deferred<string>();
      const first = settle(breaker.execute(() => probe.promise));
      await flush();
      const waiting = [1, 2, 3].map(() => settle(breaker.execute(() => 'ran')));
      await flush();
      const asked = store.acquires;
      probe.reject(new Error('still down'));
      await flush();
      expect(first.status).to.equal('rejected');
      for (const outcome of waiting) {
        expect(outcome.status).to.equal('rejected');
        expect(outcome.reason).to.be.instanceOf(CircuitOpenError).and.include({ state: 'open' });
        expect((outcome.reason as CircuitOpenError).retryAfterMs).to.be.within(1, 100);
      }
      expect(store.acquires, 'the verdict is known: no round trip per waiting call').to.equal(
        asked,
      );
      expect(clock.pending()).to.equal(0);
    });

    it('gives back a trial slot its answer brings to a call that stopped waiting meanwhile', async () => {
      const { store, breaker } = await sharedHalfOpen(400);
      const controller = new AbortController();
      const waiting = settle(breaker.execute(() => 'never', controller.signal));
      await flush();
      // The slot comes free, and the poll asks for the waiting call; it leaves before the answer.
      store.inner.release();
      await clock.advance(99);
      clock.tick(1);
      const reason = new Error('gone');
      controller.abort(reason);
      await flush();
      expect(waiting).to.deep.include({ status: 'rejected', reason });
      // The slot it was given went back: the next call is the trial call.
      expect(store.inner.acquire()).to.include({ admitted: true, probe: true });
      expect(clock.pending()).to.equal(0);
    });

    it('waits through a policy too, admitted when a poll finds the circuit closed', async () => {
      const { store, breaker } = await sharedHalfOpen(400);
      const policy = Policy.builder<unknown>('p').clock(clock).circuitBreaker(breaker).build();
      const rejected: unknown[] = [];
      policy.on('rejected', (e) => rejected.push(e));
      const waiting = settle(policy.execute(() => 'waited'));
      const second = settle(policy.execute(() => 'second'));
      await flush();
      await clock.advance(100);
      expect([waiting.status, second.status]).to.deep.equal(['pending', 'pending']);
      store.inner.record({ failure: false, slow: false });
      await clock.advance(100);
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waited' });
      expect(second).to.deep.equal({ status: 'fulfilled', value: 'second' });
      expect(rejected).to.deep.equal([]);
      expect(clock.pending()).to.equal(0);
    });

    it('rejects a waiting call with what the store threw when asked again', async () => {
      const { store, breaker } = await sharedHalfOpen(400);
      const waiting = settle(breaker.execute(() => 'never'));
      await flush();
      const error = new Error('store down');
      store.failAcquire = error;
      await clock.advance(100);
      expect(waiting).to.deep.include({ status: 'rejected', reason: error });
      expect(clock.pending()).to.equal(0);
    });
    it('gives every waiting call the error at once when the store fails them, not one per poll', async () => {
      const { store, breaker } = await sharedHalfOpen(400);
      const fn = sinon.spy(() => 'never');
      const waiting = [1, 2, 3, 4].map(() => settle(breaker.execute(fn)));
      await flush();
      const error = new Error('store down');
      store.failAcquire = error;
      await clock.advance(100);
      expect(waiting.map((w) => w.status)).to.deep.equal(Array(4).fill('rejected'));
      for (const w of waiting) expect(w.reason).to.equal(error);
      expect(fn.callCount).to.equal(0);
      expect(clock.pending()).to.equal(0);
    });

    it("asks again once this breaker's own trial call is taken as lost, and the waiting call takes its slot", async () => {
      const { store, breaker } = await asyncHalfOpen('30s');
      void breaker.execute(() => new Promise<string>(() => undefined));
      await flush();
      const fn = sinon.spy(() => 'waited');
      const waiting = settle(breaker.execute(fn));
      await flush();
      const asked = store.acquires;
      await clock.advance(9_750);
      expect(store.acquires, 'no poll while the trial call may still report').to.equal(asked);
      // Lost 10 s after it was admitted: the next poll asks, and the store gives its slot.
      await clock.advance(250);
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waited' });
      expect(fn.callCount).to.equal(1);
      expect(clock.pending()).to.equal(0);
    });
  });

  describe('through a policy', () => {
    function policyOf(breaker: CircuitBreaker, timeoutMs?: number) {
      const builder = Policy.builder<unknown>('p').clock(clock);
      if (timeoutMs !== undefined) builder.timeout({ timeout: timeoutMs, clock });
      return builder.circuitBreaker(breaker).build();
    }

    it('admits a waiting call when the trial call closes the circuit, with no rejected event', async () => {
      const breaker = await halfOpen();
      const policy = policyOf(breaker);
      const rejected: unknown[] = [];
      policy.on('rejected', (e) => rejected.push(e));
      const probe = deferred<string>();
      const first = policy.execute(() => probe.promise);
      const waiting = settle(policy.execute(() => 'waited'));
      await clock.advance(50);
      expect(waiting.status).to.equal('pending');
      probe.resolve('probe');
      expect(await first).to.equal('probe');
      await flush();
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'waited' });
      expect(rejected).to.deep.equal([]);
      expect(policy.metrics().rejections.circuitOpen).to.equal(0);
      expect(clock.pending()).to.equal(0);
    });

    it('refuses a waiting call when the circuit re-opens, reporting the refusal once then', async () => {
      const breaker = await halfOpen();
      const policy = policyOf(breaker);
      const rejected: Array<{ error: unknown }> = [];
      policy.on('rejected', (e) => rejected.push(e));
      const probe = deferred<string>();
      const first = settle(policy.execute(() => probe.promise));
      const waiting = settle(policy.execute(() => 'never'));
      await clock.advance(50);
      expect(rejected).to.deep.equal([]);
      probe.reject(new Error('down'));
      await flush();
      expect(first.status).to.equal('rejected');
      expect(waiting.reason).to.be.instanceOf(CircuitOpenError).and.include({ state: 'open' });
      expect(rejected).to.have.length(1);
      expect(rejected[0]!.error).to.equal(waiting.reason);
      expect(policy.metrics().rejections.circuitOpen).to.equal(1);
    });

    it('refuses when the wait runs out', async () => {
      const breaker = await halfOpen();
      const policy = policyOf(breaker);
      const probe = deferred<string>();
      const first = policy.execute(() => probe.promise);
      const waiting = settle(policy.execute(() => 'never'));
      await clock.advance(500);
      expect(waiting.reason).to.be.instanceOf(CircuitOpenError).and.include({
        state: 'half-open',
        retryAfterMs: 0,
      });
      expect(policy.metrics().rejections.circuitOpen).to.equal(1);
      probe.resolve('ok');
      await first;
      expect(clock.pending()).to.equal(0);
    });

    it('waits no longer than the deadline of a timeout around the breaker', async () => {
      const breaker = await halfOpen({ halfOpenWait: '10s' });
      const policy = policyOf(breaker, 200);
      const probe = deferred<string>();
      const first = settle(policy.execute(() => probe.promise));
      await clock.advance(50);
      const fn = sinon.spy(() => 'never');
      const waiting = settle(policy.execute(fn));
      await flush();
      // No timer for halfOpenWait: the deadline ends the wait.
      expect(clock.delays).not.to.include(10_000);
      await clock.advance(200);
      expect(waiting.status).to.equal('rejected');
      expect(waiting.reason).to.be.instanceOf(OperationTimeoutError);
      expect(first.reason).to.be.instanceOf(OperationTimeoutError);
      probe.resolve('late');
      await flush();
      expect(fn.callCount).to.equal(0);
      expect(clock.pending()).to.equal(0);
    });

    it('ends each waiting call at its own end, a deadline cutting one short among others', async () => {
      const breaker = await halfOpen({ halfOpenWait: '1s' });
      const bare = policyOf(breaker);
      const timed = policyOf(breaker, 300);
      const probe = deferred<string>();
      const first = settle(bare.execute(() => probe.promise));
      const a = settle(bare.execute(() => 'a'));
      await clock.advance(100);
      // Joins the line behind a, with a deadline long before a's end.
      const b = settle(timed.execute(() => 'b'));
      await clock.advance(100);
      const c = settle(bare.execute(() => 'c'));
      await flush();
      await clock.advance(199);
      expect([a.status, b.status, c.status]).to.deep.equal(['pending', 'pending', 'pending']);
      await clock.advance(1);
      // b's deadline (at 400 ms) ends its wait with the timeout.
      expect(b.reason).to.be.instanceOf(OperationTimeoutError);
      expect([a.status, c.status]).to.deep.equal(['pending', 'pending']);
      await clock.advance(599);
      expect(a.status).to.equal('pending');
      await clock.advance(1);
      // a's wait (from 0) runs out at 1 s; c's (from 200 ms) at 1.2 s.
      expect(a.reason).to.be.instanceOf(CircuitOpenError).and.include({ state: 'half-open' });
      expect(c.status).to.equal('pending');
      await clock.advance(200);
      expect(c.reason).to.be.instanceOf(CircuitOpenError).and.include({ state: 'half-open' });
      probe.resolve('ok');
      await flush();
      expect(first).to.deep.include({ status: 'fulfilled', value: 'ok' });
      expect(clock.pending()).to.equal(0);
    });

    it("ends a waiting call at once on the caller's abort, leaving no listener", async () => {
      const breaker = await halfOpen();
      const policy = policyOf(breaker);
      const probe = deferred<string>();
      const first = policy.execute(() => probe.promise);
      const controller = new AbortController();
      const fn = sinon.spy(() => 'never');
      const waiting = settle(policy.execute(fn, { signal: controller.signal }));
      await flush();
      const reason = new Error('bye');
      controller.abort(reason);
      await flush();
      expect(waiting).to.deep.include({ status: 'rejected', reason });
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      probe.resolve('ok');
      await first;
      await flush();
      expect(fn.callCount).to.equal(0);
      expect(policy.metrics().rejections.circuitOpen).to.equal(0);
      expect(clock.pending()).to.equal(0);
    });

    it('ends the wait of a hedged attempt at once when another attempt answers the call', async () => {
      // Two trial slots, both held; one comes back unrecorded, and the hedge's first attempt,
      // which waits, takes it and answers the call while its second attempt still waits.
      const breaker = await halfOpen({
        halfOpenMaxCalls: 2,
        halfOpenWait: 1000,
        recordOn: (e) => (e as Error).message !== 'ignored',
      });
      const kept = deferred<string>();
      const given = deferred<string>();
      const trials = [
        settle(breaker.execute(() => kept.promise)),
        settle(breaker.execute(() => given.promise)),
      ];
      const policy = Policy.builder<unknown>('h')
        .clock(clock)
        .hedge({ maxHedges: 1, delay: 50, clock })
        .circuitBreaker(breaker)
        .build();
      const ran: number[] = [];
      const call = settle(
        policy.execute((ctx) => {
          ran.push(ctx.attempt);
          return `attempt ${ctx.attempt}`;
        }),
      );
      await clock.advance(60);
      expect([call.status, ran]).to.deep.equal(['pending', []]);
      given.reject(new Error('ignored'));
      await flush();
      expect(call).to.deep.equal({ status: 'fulfilled', value: 'attempt 1' });
      // The second attempt, given up, waits no more: no timer, nothing waiting, and it never runs.
      expect(clock.pending()).to.equal(0);
      kept.resolve('ok');
      await flush();
      expect(breaker.state).to.equal('closed');
      expect(breaker['bulwark.atRest']()).to.equal(true);
      expect(ran).to.deep.equal([1]);
      expect(trials.map((t) => t.status)).to.deep.equal(['fulfilled', 'rejected']);
    });

    it('waits in a keyed stage, per key', async () => {
      const policy = Policy.builder<unknown>('k')
        .clock(clock)
        .circuitBreaker({
          key: (ctx) => ctx.data.get('k') as string,
          clock,
          failureThreshold: 1,
          recoveryTimeout: 100,
          halfOpenWait: 1000,
        })
        .build();
      const call = (key: string, fn: () => unknown) => policy.execute(fn, { data: { k: key } });
      await rejectionOf(call('a', () => Promise.reject(new Error('x'))));
      await clock.advance(100);
      const probe = deferred<string>();
      const first = call('a', () => probe.promise);
      const waiting = settle(call('a', () => 'a2'));
      expect(await call('b', () => 'b')).to.equal('b');
      await flush();
      expect(waiting.status).to.equal('pending');
      probe.resolve('a1');
      await first;
      await flush();
      expect(waiting).to.deep.equal({ status: 'fulfilled', value: 'a2' });
    });
  });
});
