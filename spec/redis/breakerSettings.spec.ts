// What the Redis breaker hands its script: the settings the script reads, and nothing of the
// breaker's own (its clock, its window type, already turned into `timed`).
import { expect } from 'chai';
import sinon from 'sinon';
import { systemClock } from '../../src/internal/clock.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { BREAKER } from '../../src/redis/scripts/breaker.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { silentClient } from './scripted.js';

describe('RedisCircuitBreakerStore settings', function () {
  afterEach(function () {
    sinon.restore();
  });

  it('gives the breaker script only what it reads', function () {
    const command = sinon.spy(BREAKER, 'command');
    const clock = { ...systemClock };
    new CircuitBreaker({
      failureRateThreshold: 0.5,
      windowType: 'time',
      windowDuration: '30s',
      clock,
      store: new RedisCircuitBreakerStore({ client: silentClient, key: 'settings' }),
    });
    expect(command.callCount).to.be.greaterThan(0);
    for (const call of command.getCalls()) {
      const params = call.args[0] as unknown as Record<string, unknown>;
      expect(params).to.not.have.any.keys('clock', 'windowType');
      expect(Object.values(params)).to.not.include(clock);
      expect(params).to.include({ timed: true, windowDurationMs: 30_000 });
    }
  });
});
