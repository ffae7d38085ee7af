// The circuit breaker stage in a policy, where a slip goes unseen by the usual calls: a refusal
// that an asynchronous store decides, a hostile value a store throws, and the clock a probe
// leaves unread when slow calls are not timed.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerStore,
} from '../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../support/clock.js';
import { flush, rejectionOf } from '../support/promises.js';
import { expectOpenRefusal } from '../strategies/circuit-breaker/support.js';

function asyncStore(inner: InMemoryCircuitBreakerStore): CircuitBreakerStore {
  return {
    configure: (c) => inner.configure(c),
    acquire: (): Promise<CircuitAdmission> => Promise.resolve().then(() => inner.acquire()),
    record: (o) => Promise.resolve().then(() => inner.record(o)),
    release: () => Promise.resolve().then(() => inner.release()),
    state: () => Promise.resolve().then(() => inner.state()),
    snapshot: () => Promise.resolve().then(() => inner.snapshot()),
    isolate: () => Promise.resolve().then(() => inner.isolate()),
    reset: () => Promise.resolve().then(() => inner.reset()),
  };
}

describe('CircuitBreaker stage: refusals and clock reads', () => {
  it('counts and reports a refusal that an asynchronous store decided', async () => {
    const clock = new ManualClock();
    const inner = new InMemoryCircuitBreakerStore();
    const breaker = new CircuitBreaker({
      store: asyncStore(inner),
      failureThreshold: 1,
      recoveryTimeout: 1000,
      clock,
    });
    const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
    await flush();
    inner.record({ failure: true, slow: false });
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    await expectOpenRefusal(policy, rejected);
  });

  it('passes a hostile value a store throws to the caller, not counted as a refusal', async () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no reading me');
        },
      },
    );
    const store = new InMemoryCircuitBreakerStore();
    const breaker = new CircuitBreaker({ store });
    store.acquire = () => {
      throw hostile;
    };
    const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    let caught: unknown;
    await policy
      .execute(() => 'no')
      .catch((error: unknown) => {
        caught = error;
      });
    expect(caught === hostile, 'the caller receives what the store threw').to.equal(true);
    expect(policy.metrics().rejections.circuitOpen).to.equal(0);
    expect(rejected.length).to.equal(0);
  });

  it('reads no clock when a probe ends, unless slow calls are timed', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
    const policy = Policy.builder<string>('p').circuitBreaker(breaker).build();
    await rejectionOf(policy.execute(() => Promise.reject(new Error('down'))));
    clock.tick(1000);
    let readsInCall = -1;
    const result = await policy.execute(() => {
      readsInCall = clock.reads;
      return 'probe';
    });
    expect(result).to.equal('probe');
    expect(breaker.state).to.equal('closed');
    expect(clock.reads, 'no read once the probe returned').to.equal(readsInCall);
  });
});
