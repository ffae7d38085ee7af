// The circuit breaker's bookkeeping where a slip goes unseen by the usual calls: state listeners
// that unsubscribe, trial slots given back (or not) by calls recorded by hand, a store's probe
// count, refusals decided from an asynchronous store's last known state, and a remote store
// whose answers reject.
import { expect } from 'chai';
import { CircuitOpenError } from '../../src/errors.js';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { ManualClock } from '../support/clock.js';
import { flush, rejectionOf } from '../support/promises.js';
import { AsyncStore } from '../strategies/circuit-breaker/support.js';

class Handled extends Error {}
class Other extends Error {}

/** A breaker that opens on one failure and reads HALF_OPEN 1 s later. */
function halfOpenBreaker(clock: ManualClock, extra: object = {}): CircuitBreaker {
  return new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock, ...extra });
}

async function trip(breaker: CircuitBreaker, error: Error = new Handled('down')): Promise<void> {
  await breaker.execute(() => Promise.reject(error)).catch(() => undefined);
}

describe('CircuitBreaker: bookkeeping', () => {
  describe('state listeners', () => {
    it('unsubscribing one leaves the others subscribed', () => {
      const breaker = new CircuitBreaker();
      const heard: string[] = [];
      breaker.onStateChange(() => heard.push('a'));
      const offB = breaker.onStateChange(() => heard.push('b'));
      breaker.onStateChange(() => heard.push('c'));
      offB();
      breaker.isolate();
      expect(heard).to.deep.equal(['a', 'c']);
    });

    it('unsubscribing twice, or a listener added twice once, removes one subscription each time', () => {
      const breaker = new CircuitBreaker();
      const heard: string[] = [];
      const twice = (): void => void heard.push('twice');
      const offFirst = breaker.onStateChange(twice);
      breaker.onStateChange(twice);
      const offOther = breaker.onStateChange(() => heard.push('other'));
      offFirst();
      offOther();
      offOther();
      breaker.isolate();
      expect(heard).to.deep.equal(['twice']);
    });

    it('hears every change in order, a listener’s own change after the one it reacts to', () => {
      const breaker = new CircuitBreaker();
      const heard: CircuitStateChange[][] = [[], []];
      breaker.onStateChange((change) => {
        heard[0]!.push(change);
        if (change.to === 'isolated') breaker.reset();
      });
      breaker.onStateChange((change) => heard[1]!.push(change));
      breaker.isolate();
      const expected = [
        { from: 'closed', to: 'isolated' },
        { from: 'isolated', to: 'closed' },
      ];
      expect(heard[0]).to.deep.equal(expected);
      expect(heard[1]).to.deep.equal(expected);
      expect(breaker.state).to.equal('closed');
    });

    it('refuses a listener that is not a function, naming it', () => {
      const breaker = new CircuitBreaker();
      expect(() => breaker.onStateChange('nope' as never)).to.throw(
        TypeError,
        '`listener` must be a function',
      );
    });
  });

  describe('trial slots and calls recorded by hand', () => {
    it('a failure that is not recorded, reported without a ticket during HALF_OPEN, gives the slot back', async () => {
      const clock = new ManualClock();
      const breaker = halfOpenBreaker(clock, { recordOn: [Handled] });
      await trip(breaker);
      await clock.advance(1000);
      expect(breaker.state).to.equal('half-open');
      breaker.beforeCall();
      expect(() => breaker.beforeCall(), 'the one trial slot is taken').to.throw(CircuitOpenError);
      breaker.onFailure(new Other('not counted'));
      expect(breaker.state).to.equal('half-open');
      expect(() => breaker.beforeCall(), 'the slot is free again').not.to.throw();
    });

    it('a cancelled call admitted while CLOSED frees no trial slot of a later HALF_OPEN', async () => {
      const clock = new ManualClock();
      const breaker = halfOpenBreaker(clock);
      const closedTicket = breaker.beforeCall();
      await trip(breaker);
      await clock.advance(1000);
      breaker.beforeCall();
      breaker.onCancel(closedTicket);
      expect(() => breaker.beforeCall(), 'still one probe at most').to.throw(CircuitOpenError);
    });

    it('a cancelled probe of the current HALF_OPEN period gives its slot back', async () => {
      const clock = new ManualClock();
      const breaker = halfOpenBreaker(clock);
      await trip(breaker);
      await clock.advance(1000);
      const probe = breaker.beforeCall();
      breaker.onCancel(probe);
      expect(() => breaker.beforeCall()).not.to.throw();
    });

    it('a probe of an earlier HALF_OPEN period neither frees a slot nor closes the circuit', async () => {
      const clock = new ManualClock();
      const breaker = halfOpenBreaker(clock);
      await trip(breaker);
      await clock.advance(1000);
      const stale = breaker.beforeCall();
      breaker.onFailure(new Handled('probe failed'));
      expect(breaker.state).to.equal('open');
      await clock.advance(1000);
      expect(breaker.state).to.equal('half-open');
      breaker.beforeCall();
      breaker.onCancel(stale);
      expect(() => breaker.beforeCall(), 'the stale ticket freed nothing').to.throw(
        CircuitOpenError,
      );
      breaker.onSuccess(0, stale);
      expect(breaker.state, 'the stale success decided nothing').to.equal('half-open');
    });
  });

  describe('the in-memory store', () => {
    it('gives back no probe it does not hold: its count never goes below zero', () => {
      const clock = new ManualClock();
      const store = new InMemoryCircuitBreakerStore();
      new CircuitBreaker({ store, failureThreshold: 1, recoveryTimeout: 1000, clock });
      store.record({ failure: true, slow: false });
      clock.tick(1000);
      expect(store.state()).to.equal('half-open');
      store.release();
      store.release();
      expect(store.acquire()).to.include({ admitted: true, probe: true });
      expect(store.acquire()).to.include({ admitted: false, state: 'half-open' });
    });

    it('ignores a late outcome recorded while OPEN: it decides no trial', () => {
      const clock = new ManualClock();
      const store = new InMemoryCircuitBreakerStore();
      new CircuitBreaker({ store, failureThreshold: 1, recoveryTimeout: 1000, clock });
      store.record({ failure: true, slow: false });
      expect(store.record({ failure: false, slow: false })).to.equal('open');
      expect(store.state()).to.equal('open');
    });

    it('says it needs configure() when used before it', () => {
      const store = new InMemoryCircuitBreakerStore();
      expect(() => store.record({ failure: true, slow: false })).to.throw(
        Error,
        'InMemoryCircuitBreakerStore used before configure()',
      );
      // A success too, which a CLOSED circuit's count window records on a path of its own.
      expect(() => store.record({ failure: false, slow: false })).to.throw(
        Error,
        'InMemoryCircuitBreakerStore used before configure()',
      );
    });

    it('gives back a probe it holds', () => {
      const clock = new ManualClock();
      const store = new InMemoryCircuitBreakerStore();
      new CircuitBreaker({ store, failureThreshold: 1, recoveryTimeout: 1000, clock });
      store.record({ failure: true, slow: false });
      clock.tick(1000);
      expect(store.acquire()).to.include({ admitted: true, probe: true });
      store.release();
      expect(store.acquire()).to.include({ admitted: true, probe: true });
    });
  });

  describe('describe()', () => {
    it('states a rate over a time window, a slow-call rate, and both together', () => {
      expect(
        new CircuitBreaker({
          failureRateThreshold: 0.5,
          windowType: 'time',
          windowDuration: '10s',
          minimumCalls: 5,
        }).describe(),
      ).to.equal(
        'opens at 50% failures over 10000 ms (minimum 5 calls), recovery 30000 ms, 1 half-open call, on all errors',
      );
      expect(
        new CircuitBreaker({ slowCallDuration: 100, slowCallRateThreshold: 0.25 }).describe(),
      ).to.equal(
        'opens after 5 consecutive failures, or 25% calls >= 100 ms over the last 10 calls (minimum 10 calls), recovery 30000 ms, 1 half-open call, on all errors',
      );
      expect(
        new CircuitBreaker({
          failureRateThreshold: 0.5,
          slowCallDuration: 100,
          slowCallRateThreshold: 0.25,
          windowSize: 20,
          minimumCalls: 4,
        }).describe(),
      ).to.equal(
        'opens at 50% failures over the last 20 calls or 25% calls >= 100 ms over the last 20 calls (minimum 4 calls), recovery 30000 ms, 1 half-open call, on all errors',
      );
    });
  });

  describe('an asynchronous store', () => {
    it('refuses from the last known OPEN state with the time left of its open period', async () => {
      const clock = new ManualClock();
      const breaker = halfOpenBreaker(clock, { store: new AsyncStore(), recoveryTimeout: 5000 });
      await trip(breaker);
      await flush();
      expect(breaker.state).to.equal('open');
      const refusal = await rejectionOf(breaker.execute(() => 'never runs'));
      expect(refusal).to.be.instanceOf(CircuitOpenError);
      await clock.advance(1200);
      let error: unknown;
      try {
        breaker.beforeCall();
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect((error as CircuitOpenError).retryAfterMs).to.equal(3800);
      await clock.advance(10_000);
      try {
        breaker.beforeCall();
      } catch (e) {
        error = e;
      }
      // The last known state was still OPEN: refused, but never with a negative wait.
      expect((error as CircuitOpenError).retryAfterMs).to.equal(0);
    });

    it('refuses from the last known ISOLATED state with an unbounded wait', async () => {
      const breaker = new CircuitBreaker({ store: new AsyncStore() });
      await flush();
      breaker.isolate();
      await flush();
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .with.property('retryAfterMs', Infinity);
    });

    it('learns the state from the answer to a call admitted by hand', async () => {
      const clock = new ManualClock();
      const store = new AsyncStore();
      const breaker = halfOpenBreaker(clock, { store });
      await flush();
      const heard: CircuitStateChange[] = [];
      breaker.onStateChange((change) => heard.push(change));
      // Another process trips the shared circuit.
      store.inner.record({ failure: true, slow: false });
      breaker.beforeCall();
      await flush();
      expect(heard).to.deep.equal([{ from: 'closed', to: 'open' }]);
    });

    it('after an exact refusal, refuses by hand with the time left that the store gave', async () => {
      const clock = new ManualClock();
      const store = new AsyncStore();
      const breaker = halfOpenBreaker(clock, { store, recoveryTimeout: 5000 });
      await flush();
      // Another process trips the shared circuit at 0; this breaker hears of it at 500, and takes
      // the open period to start then.
      store.inner.record({ failure: true, slow: false });
      await clock.advance(500);
      void breaker.state;
      await flush();
      expect(breaker.state).to.equal('open');
      await clock.advance(500);
      const refusal = await rejectionOf(breaker.execute(() => 'never runs'));
      expect((refusal as CircuitOpenError).retryAfterMs).to.equal(4000);
      await clock.advance(500);
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .with.property('retryAfterMs', 3500);
    });

    it('first hearing of OPEN from an exact refusal, keeps the time left that the store gave', async () => {
      const clock = new ManualClock();
      const store = new AsyncStore();
      const breaker = halfOpenBreaker(clock, { store, recoveryTimeout: 5000 });
      await flush();
      // Another process trips the shared circuit at 0; this breaker, which has not read the state
      // since, hears of it from the store's refusal at 3000.
      store.inner.record({ failure: true, slow: false });
      await clock.advance(3000);
      const refusal = await rejectionOf(breaker.execute(() => 'never runs'));
      expect((refusal as CircuitOpenError).retryAfterMs).to.equal(2000);
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .with.property('retryAfterMs', 2000);
    });

    it('grows the open period it assumes when a probe fails, as the store does', async () => {
      const clock = new ManualClock();
      const store = new AsyncStore();
      const breaker = halfOpenBreaker(clock, {
        store,
        recoveryTimeout: 1000,
        recoveryBackoff: 2,
        maxRecoveryTimeout: 10_000,
      });
      await trip(breaker);
      await flush();
      await clock.advance(1000);
      await trip(breaker);
      await flush();
      expect(breaker.state).to.equal('open');
      await clock.advance(500);
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .with.property('retryAfterMs', 1500);
    });

    it('in a policy, counts a call whose caller left before the admission came as failed, and frees its slot', async () => {
      const clock = new ManualClock();
      const store = new AsyncStore();
      const policy = Policy.builder<string>('p')
        .clock(clock)
        .circuitBreaker({ store, failureThreshold: 1, recoveryTimeout: 1000, clock })
        .build();
      await flush();
      store.inner.record({ failure: true, slow: false });
      await clock.advance(1000);
      const controller = new AbortController();
      const reason = new Error('left');
      const call = policy.execute(() => 'never runs', { signal: controller.signal });
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      await flush();
      expect(policy.metrics()).to.include({ calls: 1, successes: 0, failures: 1 });
      expect(await policy.execute(() => 'probe')).to.equal('probe');
    });

    it('whose isolate(), reset() and release() reject leaves no unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      const listeners = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      process.on('unhandledRejection', onUnhandled);
      try {
        const store = new AsyncStore();
        store.isolate = () => Promise.reject(new Error('isolate failed'));
        store.reset = () => Promise.reject(new Error('reset failed'));
        store.release = () => Promise.reject(new Error('release failed'));
        const breaker = new CircuitBreaker({ store, recordOn: [Handled] });
        breaker.isolate();
        expect(breaker.state).to.equal('isolated');
        breaker.reset();
        expect(breaker.state).to.equal('closed');
        // Not recorded: the call gives back its (possible) trial slot.
        await rejectionOf(breaker.execute(() => Promise.reject(new Other('x'))));
        breaker.onFailure(new Other('y'));
        await flush();
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).to.deep.equal([]);
      } finally {
        process.removeListener('unhandledRejection', onUnhandled);
        for (const l of listeners) process.on('unhandledRejection', l);
      }
    });
  });
});
