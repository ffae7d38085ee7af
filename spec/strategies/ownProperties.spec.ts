// What a primitive shows of itself (Object.keys, JSON.stringify, console.log): its settings, not
// its clock, deadline queue or internal flags.
import { expect } from 'chai';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

describe('primitives: own enumerable properties', () => {
  it('a TimeLimiter shows its timeout, name and mode', () => {
    const limiter = new TimeLimiter({ timeout: '2s', name: 'db', mode: 'cooperative' });
    expect(Object.keys(limiter)).to.deep.equal(['timeoutMs', 'name', 'mode']);
    expect(JSON.parse(JSON.stringify(limiter))).to.deep.equal({
      timeoutMs: 2000,
      name: 'db',
      mode: 'cooperative',
    });
    expect(limiter.cooperativeMode, 'still known to the stage').to.equal(true);
  });

  it('a Chaos shows its rates, latency and seed', () => {
    const chaos = new Chaos({ fault: { rate: 0.5 }, enabled: () => true, seed: 7 });
    expect(Object.keys(chaos)).to.deep.equal([
      'faultRate',
      'latencyRate',
      'latencyMs',
      'resultRate',
      'seed',
    ]);
    expect(chaos.switchedOn && chaos.perCall !== undefined, 'still known to the stage').to.equal(
      true,
    );
  });

  it('a CircuitBreaker shows no own property (its state is in toJSON)', () => {
    const breaker = new CircuitBreaker({ slowCallDuration: '1s' });
    expect(Object.keys(breaker)).to.deep.equal([]);
    expect(breaker.timesCalls, 'still known to the stage').to.equal(true);
  });
});
