// Hedge and chaos from configuration: the sections and policy stages, their errors with paths,
// and the opt-in fault injection needs (`chaos: true` on the registry).
import { expect } from 'chai';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Chaos, InjectedFaultError } from '../../src/strategies/chaos/Chaos.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { rejectionOf } from '../support/promises.js';

describe('hedge and chaos in configuration', () => {
  it('builds hedges from a section and from policy stages, kebab-case keys included', () => {
    const registry = PolicyRegistry.fromConfig({
      hedge: { reads: { 'max-hedges': 2, delay: '150ms' } },
      policies: {
        search: [{ hedge: 'reads' }],
        lookup: [{ hedge: { delay: 'on-failure' } }],
      },
    });
    const hedge = registry.hedge('reads');
    expect(hedge).to.be.instanceOf(Hedge);
    expect([hedge.maxHedges, hedge.delayMs]).to.deep.equal([2, 150]);
    expect(registry.policy('search').describe()).to.equal(
      '1. hedge "reads": up to 2 hedged attempts, after 150 ms',
    );
    expect(registry.policy('lookup').describe()).to.equal(
      '1. hedge: up to 1 hedged attempt, on failure',
    );
    expect(registry.health().primitives.hedge).to.deep.equal({
      reads: {
        kind: 'hedge',
        name: 'reads',
        maxHedges: 2,
        delayMs: 150,
        running: 0,
        hedges: 0,
        wins: 0,
      },
    });
  });

  it('refuses bad hedge settings and code-only options, naming the path', () => {
    expect(() => PolicyRegistry.fromConfig({ hedge: { reads: { 'max-hedges': 0 } } })).to.throw(
      RangeError,
      'resilience.hedge.reads.max-hedges: `max-hedges` must be an integer >= 1, got 0',
    );
    expect(() => PolicyRegistry.fromConfig({ hedge: { reads: { on: 'x' } } })).to.throw(
      TypeError,
      'resilience.hedge.reads: the option `on` cannot come from configuration',
    );
  });

  it('refuses fault injection unless the registry is made with chaos: true, naming the path', () => {
    expect(() =>
      PolicyRegistry.fromConfig({ chaos: { outage: { fault: { rate: 0.3 } } } }),
    ).to.throw(
      TypeError,
      'resilience.chaos.outage: a chaos stage from configuration is refused unless the registry is made with `chaos: true`',
    );
    expect(() =>
      PolicyRegistry.fromConfig({
        policies: { p: [{ retry: {} }, { chaos: { fault: { rate: 0.3 } } }] },
      }),
    ).to.throw(TypeError, 'resilience.policies.p[1].chaos: a chaos stage from configuration');
    // The registry's accessor builds from configuration too.
    expect(() => new PolicyRegistry().chaos('any')).to.throw(TypeError, 'resilience.chaos: ');
    expect(() => new PolicyRegistry({ chaos: 'yes' as never }))
      .to.throw(TypeError, '`chaos` must be a boolean, got "yes"')
      .and.include({ option: 'chaos', expected: 'a boolean', received: 'yes' });
  });

  it('keeps a chaos entry on reload when only its default `enabled: true` is written out', () => {
    const config = (outage: Record<string, unknown>) => ({
      chaos: { outage },
      policies: { p: [{ chaos: 'outage' }] },
    });
    const registry = PolicyRegistry.fromConfig(config({ fault: { rate: 0.5 }, seed: 1 }), {
      chaos: true,
    });
    const chaos = registry.chaos('outage');
    expect(registry.reload(config({ fault: { rate: 0.5 }, seed: 1, enabled: true }))).to.deep.equal(
      { added: [], removed: [], changed: [] },
    );
    expect(registry.chaos('outage')).to.equal(chaos);
  });

  it('keeps a chaos entry that is off without the flag, and builds an active one with it', async () => {
    const config = {
      chaos: { outage: { fault: { rate: 1, error: 'down' }, enabled: false } },
      policies: { p: [{ chaos: 'outage' }] },
    };
    const off = PolicyRegistry.fromConfig(config);
    expect(await off.policy('p').execute(() => 'ok')).to.equal('ok');
    const on = PolicyRegistry.fromConfig(
      {
        chaos: { outage: { fault: { rate: 1, error: 'down' }, seed: 1 } },
        policies: config.policies,
      },
      { chaos: true },
    );
    expect(on.chaos('outage')).to.be.instanceOf(Chaos);
    const error = await rejectionOf(on.policy('p').execute(() => 'ok'));
    expect(error).to.be.instanceOf(InjectedFaultError);
    expect((error as Error).message).to.equal('down');
    expect(on.health().primitives.chaos).to.deep.equal({
      outage: { kind: 'chaos', name: 'outage', enabled: true, faults: 1, delays: 0, results: 0 },
    });
    expect(() =>
      PolicyRegistry.fromConfig({ chaos: { x: { fault: { rate: 2 } } } }, { chaos: true }),
    ).to.throw(
      RangeError,
      'resilience.chaos.x.fault.rate: `fault.rate` must be a number in [0, 1], got 2',
    );
  });
});
