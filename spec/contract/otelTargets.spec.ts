// What `instrument` reaches, from docs/CONTRACT.md: policies registered after instrumenting a
// registry (R-OTEL-7), and orphaned bulkhead calls as the `bulwark.bulkhead.orphaned` gauge
// (R-OTEL-2, R-BH-8). Read through the OpenTelemetry SDK's in-memory (pull) reader.
import { ManualClock } from '../support/clock.js';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { Policy, PolicyRegistry } from 'bulwark';
import { instrument } from 'bulwark/otel';

import { never, settle } from './support.js';

class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The sum of the points of metric `name` whose `policy` attribute is `policy`. */
async function read(reader: MetricReader, name: string, policy: string): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  let sum = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints as Array<DataPoint<number>>) {
        if (point.attributes.policy === policy) sum += point.value;
      }
    }
  }
  return sum;
}

describe('contract: what bulwark/otel instruments', () => {
  let reader: PullReader;
  let provider: MeterProvider;

  beforeEach(() => {
    reader = new PullReader();
    provider = new MeterProvider({ readers: [reader] });
  });

  afterEach(async () => {
    metrics.disable();
    await provider.shutdown();
  });

  it('R-OTEL-7: instrumenting a registry includes the policies registered later', async () => {
    const registry = new PolicyRegistry();
    const stop = instrument(registry, { meter: provider.getMeter('t') });
    const late = Policy.builder('late').build();
    registry.register(late);
    await late.execute(() => 1);
    await late.execute(() => 2);
    expect(await read(reader, 'bulwark.calls', 'late')).to.equal(2);
    stop();
  });

  it('R-OTEL-2, R-BH-8: `bulwark.bulkhead.orphaned` counts calls answered at an inner deadline whose work still runs', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('o')
      .clock(clock)
      .bulkhead({ maxConcurrent: 2, clock })
      .timeout({ timeout: '1s', clock })
      .build();
    instrument(policy, { meter: provider.getMeter('t') });
    const call = settle(policy.execute(() => never()));
    expect(await read(reader, 'bulwark.bulkhead.orphaned', 'o')).to.equal(0);
    await clock.advance(1_000);
    expect(call.status).to.equal('rejected');
    expect(await read(reader, 'bulwark.bulkhead.orphaned', 'o')).to.equal(1);
    expect(await read(reader, 'bulwark.bulkhead.available', 'o')).to.equal(1);
  });
});
