// bulwark/otel for hedge and chaos stages: the counters fed by their events and the gauges read
// from their state.
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { instrument } from '../../src/otel/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, settle } from '../support/promises.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function points(reader: TestReader, name: string): Promise<[Attributes, unknown][]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((p: DataPoint<unknown>) => [p.attributes, p.value]);
}

describe('instrument: hedge and chaos stages', () => {
  let reader: TestReader;
  let provider: MeterProvider;
  beforeEach(() => {
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
  });
  afterEach(() => provider.shutdown());

  it('counts hedged attempts by reason and reports the attempts running under a hedge', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('search').hedge({ maxHedges: 2, delay: 10, clock }).build();
    const stop = instrument(policy, { meter: provider.getMeter('spec') });
    const first = deferred<string>();
    const calls: number[] = [];
    const result = settle(
      policy.execute((ctx) => {
        calls.push(ctx.attempt);
        if (ctx.attempt === 1) return first.promise;
        if (ctx.attempt === 2) return Promise.reject(new Error('no'));
        return new Promise<string>(() => {});
      }),
    );
    await clock.advance(10);
    expect(calls).to.deep.equal([1, 2, 3]);
    expect(await points(reader, 'bulwark.hedges')).to.deep.equal([
      [{ policy: 'search', stage: 'hedge', reason: 'delay' }, 1],
      [{ policy: 'search', stage: 'hedge', reason: 'failure' }, 1],
    ]);
    expect(await points(reader, 'bulwark.hedge.running')).to.deep.equal([
      [{ policy: 'search', stage: 'hedge', primitive: 'hedge' }, 2],
    ]);
    first.resolve('ok');
    await flush();
    expect(result).to.deep.include({ status: 'fulfilled', value: 'ok' });
    stop();
  });

  it('counts injections by kind and reports whether a chaos stage is on', async () => {
    const policy = Policy.builder('drill')
      .chaos({ fault: { rate: 1 } }, 'outage')
      .build();
    const stop = instrument(policy, { meter: provider.getMeter('spec') });
    await policy.execute(() => 'ok').catch(() => {});
    await policy.execute(() => 'ok').catch(() => {});
    expect(await points(reader, 'bulwark.chaos.injections')).to.deep.equal([
      [{ policy: 'drill', stage: 'chaos', injection: 'fault' }, 2],
    ]);
    expect(await points(reader, 'bulwark.chaos.enabled')).to.deep.equal([
      [{ policy: 'drill', stage: 'chaos', primitive: 'outage' }, 1],
    ]);
    stop();
  });
});
