// The admissions the in-memory store answers, as a breaker's caller sees them: the move to
// HALF_OPEN that a call makes, the slots of lost probes taken back, and the refusals of a
// HALF_OPEN circuit with every slot taken and of an ISOLATED one.
import { expect } from 'chai';
import { CircuitOpenError } from '../../src/errors.js';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import {
  ADMIT_CLOSED,
  ADMIT_PROBE,
  ADMIT_PROBE_RECLAIMED,
  admissionOf,
  REFUSE_HALF_OPEN,
  REFUSE_ISOLATED,
} from '../../src/strategies/circuit-breaker/admissions.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, rejectionOf } from '../support/promises.js';

describe('CircuitBreaker admissions', () => {
  it('tells listeners of the move to HALF_OPEN that a call makes', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
    const heard: CircuitStateChange[] = [];
    breaker.onStateChange((change) => heard.push(change));
    await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
    clock.tick(1000);
    expect(await breaker.execute(() => 'probe')).to.equal('probe');
    expect(heard).to.deep.equal([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
      { from: 'half-open', to: 'closed' },
    ]);
  });

  it('takes back the slot of a lost probe: only the new probe decides', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
    await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
    clock.tick(1000);
    const lost = deferred<string>();
    const first = breaker.execute(() => lost.promise);
    await flush();
    expect(await rejectionOf(breaker.execute(() => 'refused'))).to.be.instanceOf(CircuitOpenError);
    clock.tick(10_000);
    const heard: CircuitStateChange[] = [];
    breaker.onStateChange((change) => heard.push(change));
    const second = deferred<string>();
    const call = breaker.execute(() => second.promise);
    await flush();
    expect(heard, 'still HALF_OPEN').to.deep.equal([]);
    lost.resolve('late');
    expect(await first).to.equal('late');
    expect(breaker.state, 'the lost probe decided nothing').to.equal('half-open');
    second.resolve('ok');
    expect(await call).to.equal('ok');
    expect(breaker.state, 'the new probe closed it').to.equal('closed');
  });

  it('refuses a call in HALF_OPEN with every slot taken, with no wait', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
    breaker.onFailure(new Error('down'));
    clock.tick(1000);
    breaker.beforeCall();
    const refusal = await rejectionOf(breaker.execute(() => 'refused'));
    expect(refusal).to.be.instanceOf(CircuitOpenError);
    expect(refusal).to.include({ state: 'half-open', retryAfterMs: 0 });
  });

  it('refuses every call to an ISOLATED circuit, without end', async () => {
    const breaker = new CircuitBreaker();
    breaker.isolate();
    let called = false;
    const refusal = await rejectionOf(
      breaker.execute(() => {
        called = true;
      }),
    );
    expect(called).to.equal(false);
    expect(refusal).to.be.instanceOf(CircuitOpenError);
    expect(refusal).to.include({ state: 'isolated', retryAfterMs: Infinity });
  });

  it('after a HALF_OPEN period has closed, still admits CLOSED calls as no probe', async () => {
    const clock = new ManualClock();
    const store = new InMemoryCircuitBreakerStore();
    const breaker = new CircuitBreaker({ store, failureThreshold: 1, recoveryTimeout: 10, clock });
    breaker.onFailure(new Error('down'), 0, breaker.beforeCall());
    clock.tick(10);
    breaker.onSuccess(0, breaker.beforeCall());
    expect(breaker.state).to.equal('closed');
    const early = breaker.beforeCall();
    // Another process trips the shared circuit, and moves it to HALF_OPEN.
    store.record({ failure: true, slow: false });
    clock.tick(10);
    expect(store.state()).to.equal('half-open');
    breaker.onSuccess(0, early);
    expect(breaker.state, 'the CLOSED call decided nothing').to.equal('half-open');
  });
});

describe("admissionOf: a shared store's answer as an admission", () => {
  it('admits with the answer of its probe number: none, a probe, a probe that took lost slots back', () => {
    expect(admissionOf(true, 'closed', 0, 0)).to.equal(ADMIT_CLOSED);
    expect(admissionOf(true, 'half-open', 1, 0)).to.equal(ADMIT_PROBE);
    expect(ADMIT_CLOSED).to.deep.equal({
      admitted: true,
      state: 'closed',
      probe: false,
      retryAfterMs: 0,
    });
    expect(ADMIT_PROBE).to.deep.equal({
      admitted: true,
      state: 'half-open',
      probe: true,
      retryAfterMs: 0,
    });
    expect(admissionOf(true, 'half-open', 2, 0)).to.equal(ADMIT_PROBE_RECLAIMED);
    expect(ADMIT_PROBE_RECLAIMED).to.deep.equal({
      admitted: true,
      state: 'half-open',
      probe: true,
      retryAfterMs: 0,
      reclaimed: true,
    });
  });

  it('refuses with the answer of its state, and the time left while OPEN', () => {
    expect(admissionOf(false, 'half-open', 0, 7)).to.equal(REFUSE_HALF_OPEN);
    expect(REFUSE_HALF_OPEN).to.include({ admitted: false, state: 'half-open', retryAfterMs: 0 });
    expect(admissionOf(false, 'isolated', 0, 7)).to.equal(REFUSE_ISOLATED);
    expect(REFUSE_ISOLATED).to.include({
      admitted: false,
      state: 'isolated',
      retryAfterMs: Infinity,
    });
    expect(admissionOf(false, 'open', 0, 1500)).to.include({
      admitted: false,
      state: 'open',
      retryAfterMs: 1500,
    });
  });
});
