// The half-open probe rules of docs/CONTRACT.md (R-CB-9, R-CB-10): only probes decide HALF_OPEN,
// and a probe that never reports is given up after max(recoveryTimeout, 10 s).
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { CircuitBreaker, isCircuitOpenError } from 'bulwark';

import { never, rejectionOf, settle } from './support.js';
import { deferred } from '../support/promises.js';

class Boom extends Error {}

describe('contract: half-open probes', () => {
  it('R-CB-9: a success of a call admitted while CLOSED that arrives during HALF_OPEN does not close the circuit', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1s', clock });
    const early = deferred<string>();
    const admittedClosed = settle(breaker.execute(() => early.promise));
    await rejectionOf(breaker.execute(() => Promise.reject(new Boom())));
    expect(breaker.state).to.equal('open');
    await clock.advance(1_000);
    expect(breaker.state).to.equal('half-open');
    const probe = deferred<string>();
    const probeCall = settle(breaker.execute(() => probe.promise));

    early.resolve('late');
    await clock.advance(0);
    expect(admittedClosed.value).to.equal('late');
    expect(breaker.state).to.equal('half-open');
    // Ignored for the transition, it still appears in metrics.
    expect(breaker.metrics).to.include({ bufferedCalls: 2, failedCalls: 1 });

    probe.resolve('probe');
    await clock.advance(0);
    expect(probeCall.value).to.equal('probe');
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-9: a failure of a call admitted while CLOSED that arrives during HALF_OPEN does not re-open the circuit', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1s', clock });
    const early = deferred<string>();
    const admittedClosed = settle(breaker.execute(() => early.promise));
    await rejectionOf(breaker.execute(() => Promise.reject(new Boom())));
    await clock.advance(1_000);
    const probe = deferred<string>();
    const probeCall = settle(breaker.execute(() => probe.promise));

    early.reject(new Boom());
    await clock.advance(0);
    expect(admittedClosed.reason).to.be.instanceOf(Boom);
    expect(breaker.state).to.equal('half-open');
    expect(breaker.metrics).to.include({ bufferedCalls: 2, failedCalls: 2 });

    probe.resolve('probe');
    await clock.advance(0);
    expect(probeCall.status).to.equal('fulfilled');
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-10: a probe that has not reported after max(recoveryTimeout, 10 s) is lost, and its slot goes to a new probe', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1s', clock });
    await rejectionOf(breaker.execute(() => Promise.reject(new Boom())));
    await clock.advance(1_000);
    const hung = settle(breaker.execute(() => never()));
    expect(hung.status).to.equal('pending');

    // The probe slot is held: calls are refused at once, with nothing left to wait for.
    await clock.advance(9_000);
    const refused = await rejectionOf(breaker.execute(() => 'no'));
    expect(isCircuitOpenError(refused)).to.equal(true);
    expect(refused).to.include({ state: 'half-open', retryAfterMs: 0 });

    // 10 s after the hung probe was admitted (recoveryTimeout is shorter), it is lost.
    await clock.advance(1_001);
    expect(await breaker.execute(() => 'probe')).to.equal('probe');
    expect(breaker.state).to.equal('closed');
  });

  it('R-CB-10: with a recoveryTimeout above 10 s, a probe is lost only after recoveryTimeout', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '30s', clock });
    await rejectionOf(breaker.execute(() => Promise.reject(new Boom())));
    await clock.advance(30_000);
    settle(breaker.execute(() => never()));

    await clock.advance(29_000);
    expect(isCircuitOpenError(await rejectionOf(breaker.execute(() => 'no')))).to.equal(true);
    await clock.advance(1_001);
    expect(await breaker.execute(() => 'probe')).to.equal('probe');
    expect(breaker.state).to.equal('closed');
  });
});
