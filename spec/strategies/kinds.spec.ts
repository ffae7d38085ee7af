import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { instrument } from '../../src/otel/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { registerKind } from '../../src/strategies/index.js';
import { TOY, toy } from '../fixtures/toy/kind.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('a kind added with one folder and one registration line', () => {
  let unregister: () => void;
  beforeEach(() => {
    unregister = registerKind(TOY);
  });
  afterEach(() => unregister());

  it('compiles into a built policy, with its description and live state in metrics()', async () => {
    const policy = Policy.builder('p')
      .use(toy({ level: 3 }))
      .retry({ maxAttempts: 2 })
      .build();
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    expect(policy.describe()).to.match(/^1\. toy: level 3\n2\. retry: /);
    expect(policy.stages).to.deep.equal([
      { kind: 'toy', name: 'toy' },
      { kind: 'retry', name: 'retry' },
    ]);
    expect(policy.metrics().stages[0]).to.deep.equal({
      kind: 'toy',
      name: 'toy',
      level: 3,
      calls: 1,
    });
  });

  it('is read from configuration: shared instances, policy stages, defaults, errors with paths', async () => {
    const registry = PolicyRegistry.fromConfig({
      toy: { fast: { level: 5 } },
      policies: { p: [{ toy: 'fast' }, { toy: {} }] },
    });
    await registry.policy('p').execute(() => 1);
    const health = registry.health();
    expect(health.primitives)
      .to.have.property('toy')
      .that.deep.equals({
        fast: { kind: 'toy', name: 'fast', level: 5, calls: 1 },
      });
    expect(health.policies.p?.stages).to.deep.equal([
      { kind: 'toy', name: 'fast', level: 5, calls: 1 },
      // A stage of the policy's own gets the kind's configuration defaults.
      { kind: 'toy', name: 'toy', level: 2, calls: 1 },
    ]);
    expect(() => PolicyRegistry.fromConfig({ toy: { fast: { levl: 5 } } })).to.throw(
      TypeError,
      'resilience.toy.fast: unknown option `levl` (did you mean `level`?)',
    );
    expect(() => PolicyRegistry.fromConfig({ toy: { fast: { level: 0 } } })).to.throw(
      RangeError,
      'resilience.toy.fast.level: `level` must be a number >= 1, got 0',
    );
  });

  it('reports its gauges through bulwark/otel', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    try {
      const registry = PolicyRegistry.fromConfig({
        toy: { fast: {} },
        policies: { p: [{ toy: 'fast' }] },
      });
      const stop = instrument(registry, { meter: provider.getMeter('spec') });
      await registry.policy('p').execute(() => 1);
      await registry.policy('p').execute(() => 2);
      const { resourceMetrics } = await reader.collect();
      const calls = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === 'bulwark.toy.calls');
      expect(
        calls?.dataPoints.map((p: DataPoint<unknown>) => [p.attributes, p.value]),
      ).to.deep.equal([[{ policy: 'p', stage: 'toy', primitive: 'fast' }, 2]]);
      stop();
    } finally {
      await provider.shutdown();
    }
  });

  it('is gone again once unregistered', () => {
    unregister();
    expect(() => PolicyRegistry.fromConfig({ toy: {} })).to.throw(
      TypeError,
      'resilience: unknown key `toy`',
    );
    expect(PolicyRegistry.fromConfig({}).health().primitives).not.to.have.property('toy');
  });
});
