// The circuit breaker stage, white-box through a policy: what it records of each call, how it
// refuses, and what a call it gave up on (a caller abort) leaves behind.
import { expect } from 'chai';
import { Policy } from '../../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerStore,
} from '../../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf, settle } from '../../support/promises.js';
import { breakerClock, expectOpenRefusal } from './support.js';

describe('CircuitBreaker stage', () => {
  it('records each call through the policy and refuses once open, counting and reporting the refusal', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: 100 });
    const policy = Policy.builder<string>('orders').circuitBreaker(breaker).build();
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    for (let i = 0; i < 2; i++)
      await rejectionOf(policy.execute(() => Promise.reject(new Error('x'))));
    expect(breaker.state).to.equal('open');
    await expectOpenRefusal(policy, rejected);
  });

  it('lets a half-open probe close the circuit through the policy', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 100 });
    const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
    await rejectionOf(policy.execute(() => Promise.reject(new Error('x'))));
    clock.tick(100);
    expect(await policy.execute(() => Promise.resolve('probe'))).to.equal('probe');
    expect(breaker.state).to.equal('closed');
  });

  it('times each call on the breaker clock when slow calls count', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      clock,
      failureThreshold: 100,
      slowCallDuration: 50,
      slowCallRateThreshold: 1,
      windowSize: 2,
    });
    const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
    const slow = deferred<string>();
    const call = policy.execute(() => slow.promise);
    await clock.advance(50);
    slow.resolve('late');
    expect(await call).to.equal('late');
    expect(await policy.execute(() => Promise.resolve('fast'))).to.equal('fast');
    expect(breaker.metrics).to.include({ bufferedCalls: 2, slowCalls: 1, failedCalls: 0 });
  });

  it('records nothing for a call whose caller aborted, and gives a probe its slot back', async () => {
    const clock = breakerClock();
    const breaker = new CircuitBreaker({
      clock,
      failureThreshold: 1,
      recoveryTimeout: 100,
      halfOpenMaxCalls: 1,
    });
    const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
    await rejectionOf(policy.execute(() => Promise.reject(new Error('x'))));
    clock.tick(100);
    const controller = new AbortController();
    const work = deferred<string>();
    const probe = settle(policy.execute(() => work.promise, { signal: controller.signal }));
    controller.abort(new Error('caller left'));
    work.reject(new Error('would re-open'));
    await flush();
    expect(probe.status).to.equal('rejected');
    expect(breaker.state, 'the failure was not recorded').to.equal('half-open');
    // The slot came back: the next call is admitted as the probe.
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    expect(breaker.state).to.equal('closed');
  });

  describe('with a store that answers asynchronously', () => {
    function asyncStore(inner = new InMemoryCircuitBreakerStore()): CircuitBreakerStore & {
      releases: number;
    } {
      const store = {
        releases: 0,
        configure: (c: never) => inner.configure(c),
        acquire: (): Promise<CircuitAdmission> => Promise.resolve().then(() => inner.acquire()),
        record: (o: never) => Promise.resolve().then(() => inner.record(o)),
        release: () => {
          store.releases++;
          return Promise.resolve().then(() => inner.release());
        },
        state: () => Promise.resolve(inner.state()),
        snapshot: () => Promise.resolve(inner.snapshot()),
        isolate: () => Promise.resolve(inner.isolate()),
        reset: () => Promise.resolve(inner.reset()),
      };
      return store;
    }

    it('waits for the admission before calling the thunk', async () => {
      const clock = breakerClock();
      const breaker = new CircuitBreaker({ clock, store: asyncStore() });
      const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
      let called = false;
      const call = policy.execute(() => {
        called = true;
        return 'ok';
      });
      expect(called).to.equal(false);
      expect(await call).to.equal('ok');
      expect(called).to.equal(true);
    });

    it('gives back a probe admitted after its caller aborted, without calling the thunk', async () => {
      const clock = breakerClock();
      const inner = new InMemoryCircuitBreakerStore();
      const store = asyncStore(inner);
      const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 1 });
      const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
      await rejectionOf(policy.execute(() => Promise.reject(new Error('x'))));
      clock.tick(1);
      const controller = new AbortController();
      let called = false;
      const reason = new Error('gave up');
      const call = policy.execute(
        () => {
          called = true;
          return 'no';
        },
        { signal: controller.signal },
      );
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      await flush();
      expect(called).to.equal(false);
      expect(store.releases, 'the probe slot went back').to.equal(1);
      expect(inner.acquire()).to.include({ admitted: true, probe: true });
    });

    it('passes a store error to the caller without counting it as a refusal', async () => {
      const clock = breakerClock();
      const failure = new Error('store down');
      const store = { ...asyncStore(), acquire: () => Promise.reject(failure) };
      const breaker = new CircuitBreaker({ clock, store });
      const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
      const rejected: unknown[] = [];
      policy.on('rejected', (e) => rejected.push(e));
      expect(await rejectionOf(policy.execute(() => 'ok'))).to.equal(failure);
      expect(policy.metrics().rejections.circuitOpen).to.equal(0);
      expect(rejected).to.deep.equal([]);
    });
  });
});
