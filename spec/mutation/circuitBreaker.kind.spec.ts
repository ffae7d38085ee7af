// The circuit breaker kind as keyed stages and a registry reload see it: an ISOLATED circuit is
// never at rest and always refusing, and a reload keeps a time window only when its duration is
// unchanged.
import { expect } from 'chai';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { CIRCUIT_BREAKER } from '../../src/strategies/circuit-breaker/kind.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { ManualClock } from '../support/clock.js';

describe('CircuitBreaker kind', () => {
  it('reads the state gauge as 0 closed, 1 half-open, 2 open, 3 isolated, and says so', () => {
    const [gauge] = CIRCUIT_BREAKER.gauges ?? [];
    const breaker = new CircuitBreaker();
    const read = (): unknown => gauge!.read(CIRCUIT_BREAKER.state(breaker) as never);
    expect(read()).to.equal(0);
    breaker.isolate();
    expect(read()).to.equal(3);
    expect(
      ['closed', 'half-open', 'open', 'isolated'].map((state) => gauge!.read({ state } as never)),
    ).to.deep.equal([0, 1, 2, 3]);
    expect(gauge!.description).to.equal(
      'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated.',
    );
  });

  it('names itself when given a primitive of another kind', () => {
    expect(() => stages.circuitBreaker(new Bulkhead() as never)).to.throw(
      TypeError,
      '`options` must be CircuitBreaker options or a CircuitBreaker, got an instance of Bulkhead',
    );
  });

  it('never lets a keyed holder drop an ISOLATED circuit', () => {
    const clock = new ManualClock();
    const keyed = new Keyed(() => new CircuitBreaker({ clock }), { maxKeys: 1, clock });
    keyed.get('isolated').isolate();
    keyed.get('other');
    expect(keyed.keys()).to.have.members(['isolated', 'other']);
    expect(keyed.get('isolated').state).to.equal('isolated');
  });

  it('lists an ISOLATED key among the keys that refuse calls', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({
      key: (ctx: ExecutionContext) => ctx.data.get('host') as string,
      clock,
    });
    const policy = Policy.builder('p').use(stage).build();
    await policy.execute(() => 1, { data: { host: 'a' } });
    await policy.execute(() => 1, { data: { host: 'b' } });
    stage.primitive.get('b').isolate();
    const [state] = policy.metrics().stages;
    expect(state).to.include({ keys: 2, refusingKeys: 1 });
    const refusing = (state as unknown as { refusing: Array<{ key: string; state: string }> })
      .refusing;
    expect(refusing.map((r) => [r.key, r.state])).to.deep.equal([['b', 'isolated']]);
  });

  it('keeps a time window across a reload only when its duration is unchanged', async () => {
    const config = (duration: string): Record<string, unknown> => ({
      'circuit-breaker': {
        inventory: {
          'failure-threshold': 5,
          'window-type': 'time',
          'window-duration': duration,
        },
      },
      policies: { stock: [{ 'circuit-breaker': 'inventory' }] },
    });
    const registry = PolicyRegistry.fromConfig(config('10s'), { clock: new ManualClock() });
    await registry
      .policy('stock')
      .execute(() => Promise.reject(new Error('down')))
      .catch(() => undefined);
    registry.reload({
      ...config('10s'),
      'circuit-breaker': {
        inventory: {
          'failure-threshold': 6,
          'window-type': 'time',
          'window-duration': '10s',
        },
      },
    });
    expect(registry.circuitBreaker('inventory').metrics).to.include({
      bufferedCalls: 1,
      failedCalls: 1,
    });
    registry.reload(config('20s'));
    expect(registry.circuitBreaker('inventory').metrics).to.include({ bufferedCalls: 0 });
  });
});
