// The hedge and chaos kinds as a policy, a hand-run stage and bulwark/otel see them: the name in
// messages, which attempt number the steps inside see, and the gauges' units and descriptions.
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { instrument } from '../../src/otel/index.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function handContext(attempt: number): ExecutionContext {
  return {
    policyName: 'hand',
    attempt,
    startedAt: 0,
    deadline: Infinity,
    remaining: Infinity,
    signal: new AbortController().signal,
    data: new Map(),
  };
}

describe('hedge and chaos kinds', () => {
  it('name the primitive they expected when given an instance of something else', () => {
    expect(() => stages.hedge(new Date() as never)).to.throw(
      TypeError,
      '`options` must be Hedge options or a Hedge, got an instance of Date',
    );
    expect(() => stages.chaos(new Date() as never)).to.throw(
      TypeError,
      '`options` must be Chaos options or a Chaos, got an instance of Date',
    );
  });

  it('a hand-run hedge stage numbers the attempts inside it; a chaos stage keeps the outer number', async () => {
    const seen: number[] = [];
    const result = await stages
      .hedge({ maxHedges: 1, delay: 0 })
      .execute(handContext(7), async (ctx) => {
        seen.push(ctx.attempt);
        if (ctx.attempt === 1) throw new Error('first');
        return 'second';
      });
    expect(result).to.equal('second');
    expect(seen).to.deep.equal([1, 2]);
    const chaos = await stages
      .chaos({ enabled: false })
      .execute(handContext(7), async (ctx) => ctx.attempt);
    expect(chaos).to.equal(7);
  });

  it('report their gauges with a unit and a description', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const policy = Policy.builder('p').hedge().chaos({ enabled: false }).build();
    const stop = instrument(policy, { meter: provider.getMeter('spec') });
    const { resourceMetrics } = await reader.collect();
    const descriptors = new Map(
      resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .map((m) => [m.descriptor.name, m.descriptor] as const),
    );
    const running = descriptors.get('bulwark.hedge.running');
    const enabled = descriptors.get('bulwark.chaos.enabled');
    expect(running?.unit).to.equal('{attempt}');
    expect(running?.description).to.match(/^Attempts running under a hedge stage/);
    expect(enabled?.unit).to.equal('1');
    expect(enabled?.description).to.match(/^Whether a chaos stage may inject/);
    stop();
    await provider.shutdown();
  });
});
