// A breaker without `slowCallDuration` reads no clock of its own: with the in-memory store, the
// only reading when a call trips the circuit is the store's, for the time it opened.
import { expect } from 'chai';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { ManualClock } from '../support/clock.js';

describe('CircuitBreaker: clock reads of a synchronous store', () => {
  it('reads the clock once when a failure trips the circuit: the store, for the open time', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
    const before = clock.reads;
    breaker.onFailure(new Error('down'));
    expect(clock.reads - before).to.equal(1);
    expect(breaker.state).to.equal('open');
  });

  it('reads the clock once when a failed trial call re-opens it', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 1_000 });
    breaker.onFailure(new Error('down'));
    clock.tick(1_000);
    const ticket = breaker.beforeCall(); // HALF_OPEN: a trial call
    const before = clock.reads;
    breaker.onFailure(new Error('still down'), 0, ticket);
    expect(clock.reads - before).to.equal(1);
    expect(breaker.metrics).to.include({ state: 'open' });
  });
});
