// The circuit breaker's tickets and what it learns from its store, where a slip goes unseen by
// the usual calls: a restored HALF_OPEN period, calls admitted as no probe, a HALF_OPEN period
// this breaker has not seen yet (the shared store moved on), a store that answers some questions
// synchronously and others with promises, the cause a refusal carries, and the open periods an
// asynchronous store's breaker assumes.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError } from '../../src/errors.js';
import { isOptionError } from '../../src/optionErrors.js';
import {
  CircuitBreaker,
  type CircuitBreakerSnapshot,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitState } from '../../src/strategies/circuit-breaker/CircuitState.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerMetrics,
  type CircuitBreakerStore,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
} from '../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../support/clock.js';
import { flush, rejectionOf } from '../support/promises.js';

/** The in-memory store, with each answer kind chosen: `async` lists the methods that answer with a promise. */
class MixedStore implements CircuitBreakerStore {
  readonly inner = new InMemoryCircuitBreakerStore();
  readonly outcomes: CircuitOutcome[] = [];
  admission: CircuitAdmission | undefined;
  readonly async: ReadonlySet<string>;
  constructor(async: ReadonlySet<string> = new Set()) {
    this.async = async;
  }
  #answer<T>(method: string, value: () => T): T | Promise<T> {
    return this.async.has(method) ? Promise.resolve().then(value) : value();
  }
  configure(config: CircuitBreakerStoreConfig): void {
    this.inner.configure(config);
  }
  acquire(): CircuitAdmission | Promise<CircuitAdmission> {
    return this.#answer('acquire', () => this.admission ?? this.inner.acquire());
  }
  record(outcome: CircuitOutcome): CircuitState | Promise<CircuitState> {
    this.outcomes.push(outcome);
    return this.#answer('record', () => this.inner.record(outcome));
  }
  release(): void | Promise<void> {
    return this.#answer('release', () => this.inner.release());
  }
  state(): CircuitState | Promise<CircuitState> {
    return this.#answer('state', () => this.inner.state());
  }
  snapshot(): CircuitBreakerMetrics | Promise<CircuitBreakerMetrics> {
    return this.#answer('snapshot', () => this.inner.snapshot());
  }
  isolate(): void | Promise<void> {
    return this.#answer('isolate', () => this.inner.isolate());
  }
  reset(): void | Promise<void> {
    return this.#answer('reset', () => this.inner.reset());
  }
}

const ALL_ASYNC = new Set([
  'acquire',
  'record',
  'release',
  'state',
  'snapshot',
  'isolate',
  'reset',
]);

function refusalOf(fn: () => unknown): CircuitOpenError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CircuitOpenError);
    return error as CircuitOpenError;
  }
  throw new Error('expected a refusal');
}

describe('CircuitBreaker: tickets and learnt state', () => {
  describe('a circuit restored HALF_OPEN', () => {
    let wall: sinon.SinonFakeTimers;
    beforeEach(() => {
      wall = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    });
    afterEach(() => wall.restore());

    it('numbers its later HALF_OPEN periods so that their probes still decide', async () => {
      const clock = new ManualClock();
      const options = { failureThreshold: 1, recoveryTimeout: 1000, clock };
      const first = new CircuitBreaker(options);
      first.onFailure(new Error('down'));
      clock.tick(1000);
      expect(first.state).to.equal('half-open');
      const breaker = new CircuitBreaker({ ...options, initialState: first.toJSON() });
      expect(breaker.state).to.equal('half-open');
      await rejectionOf(breaker.execute(() => Promise.reject(new Error('probe failed'))));
      expect(breaker.state).to.equal('open');
      clock.tick(1000);
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      expect(breaker.state, 'the probe of the second period closed it').to.equal('closed');
    });
  });

  describe('calls admitted as no probe', () => {
    it('tells the store that the outcome of a call it admitted as no probe is not a probe’s', () => {
      const clock = new ManualClock();
      const store = new MixedStore();
      const breaker = new CircuitBreaker({
        store,
        failureThreshold: 1,
        recoveryTimeout: 10,
        clock,
      });
      store.inner.record({ failure: true, slow: false });
      clock.tick(10);
      expect(breaker.state).to.equal('half-open');
      // A store that lets a call through in HALF_OPEN without a probe slot.
      store.admission = { admitted: true, state: 'half-open', probe: false, retryAfterMs: 0 };
      const ticket = breaker.beforeCall();
      breaker.onSuccess(0, ticket);
      expect(store.outcomes).to.deep.equal([{ failure: false, slow: false, probe: false }]);
    });

    it('does not let a success of a call admitted while CLOSED decide a HALF_OPEN it has not seen', () => {
      const clock = new ManualClock();
      const store = new InMemoryCircuitBreakerStore();
      const breaker = new CircuitBreaker({
        store,
        failureThreshold: 1,
        recoveryTimeout: 10,
        clock,
      });
      const early = breaker.beforeCall();
      breaker.onFailure(new Error('down'), 0, breaker.beforeCall());
      expect(breaker.state).to.equal('open');
      clock.tick(10);
      // The store moves to HALF_OPEN on its own (another reader of the shared circuit).
      expect(store.state()).to.equal('half-open');
      breaker.onSuccess(0, early);
      expect(breaker.state).to.equal('half-open');
    });

    it('frees no slot of a HALF_OPEN period it has not seen for a probe of an earlier one', () => {
      const clock = new ManualClock();
      const store = new InMemoryCircuitBreakerStore();
      const breaker = new CircuitBreaker({
        store,
        failureThreshold: 1,
        recoveryTimeout: 10,
        clock,
      });
      breaker.onFailure(new Error('down'), 0, breaker.beforeCall());
      clock.tick(10);
      const probe = breaker.beforeCall();
      // Another process's probe fails: the shared circuit re-opens, and this breaker sees it.
      store.record({ failure: true, slow: false });
      expect(breaker.state).to.equal('open');
      clock.tick(10);
      // That process takes the one probe slot of the next HALF_OPEN period.
      expect(store.acquire()).to.include({ admitted: true, probe: true });
      breaker.onCancel(probe);
      refusalOf(() => breaker.beforeCall());
    });
  });

  describe('the cause of a refusal', () => {
    it('is none after a trip by slow calls, even when a failure was recorded before', () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 5,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.5,
        windowSize: 2,
      });
      breaker.onFailure(new Error('one failure'), 0, breaker.beforeCall());
      breaker.onSuccess(100, breaker.beforeCall());
      expect(breaker.state).to.equal('open');
      const refusal = refusalOf(() => breaker.beforeCall());
      expect('cause' in refusal, 'no cause').to.equal(false);
    });
  });

  describe('a store that throws or answers in more than one way', () => {
    it('rejects execute, rather than throwing, when the store’s acquire throws', async () => {
      const store = new MixedStore();
      const thrown = new Error('store down');
      const breaker = new CircuitBreaker({ store });
      store.acquire = () => {
        throw thrown;
      };
      let called = false;
      const result = breaker.execute(() => {
        called = true;
      });
      expect(result).to.be.instanceOf(Promise);
      expect(await rejectionOf(result)).to.equal(thrown);
      expect(called).to.equal(false);
    });

    it('refuses by hand from the last known OPEN state when the store answers its state synchronously', async () => {
      const clock = new ManualClock();
      const store = new MixedStore(new Set(['acquire', 'record']));
      const breaker = new CircuitBreaker({
        store,
        failureThreshold: 1,
        recoveryTimeout: 1000,
        clock,
      });
      await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
      await flush();
      expect(breaker.state).to.equal('open');
      expect(refusalOf(() => breaker.beforeCall()).retryAfterMs).to.equal(1000);
    });
  });

  describe('the open periods an asynchronous store’s breaker assumes', () => {
    it('grow with each re-open from HALF_OPEN, not from the base open time', async () => {
      const clock = new ManualClock();
      const breaker = new CircuitBreaker({
        store: new MixedStore(ALL_ASYNC),
        failureThreshold: 1,
        recoveryTimeout: 1000,
        recoveryBackoff: 2,
        maxRecoveryTimeout: 60_000,
        clock,
      });
      const fail = (): Promise<unknown> =>
        rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
      await fail();
      await flush();
      for (const openMs of [1000, 2000]) {
        await clock.advance(openMs);
        void breaker.state;
        await flush();
        expect(breaker.state).to.equal('half-open');
        await fail();
        await flush();
      }
      expect(breaker.state).to.equal('open');
      expect(refusalOf(() => breaker.beforeCall()).retryAfterMs).to.equal(4000);
    });
  });

  describe('snapshots refused', () => {
    let good: CircuitBreakerSnapshot;
    beforeEach(() => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      breaker.onFailure(new Error('down'));
      good = breaker.toJSON();
    });

    function refusal(options: object): Error & { expected?: string } {
      try {
        new CircuitBreaker(options);
      } catch (error) {
        expect(isOptionError(error) && error.option).to.equal('initialState');
        return error as Error & { expected?: string };
      }
      throw new Error('expected a refusal');
    }

    it('lists the states a snapshot may hold', () => {
      const error = refusal({ initialState: { ...good, state: 'ajar' } });
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.include('one of closed, open, half-open, isolated');
    });

    it('refuses a window of an unknown type as corrupt', () => {
      const error = refusal({ initialState: { ...good, window: { type: 'ring', size: 10 } } });
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.include("`type` must be 'count' or 'time'");
    });

    it('refuses a time window into a count window of the same number', () => {
      const window = { type: 'time', durationMs: 10, buckets: [] };
      const error = refusal({ windowSize: 10, initialState: { ...good, window } });
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.include('holds a time window of 10 ms');
      expect(error.expected).to.equal('a snapshot with a count window of 10 outcomes');
    });

    it('says what it expects of a breaker with a store of its own', () => {
      const error = refusal({ store: new MixedStore(ALL_ASYNC), initialState: good });
      expect(error.expected).to.equal('no `initialState` with a `store` of its own');
    });
  });
});
