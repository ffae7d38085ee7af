// The OpenTelemetry rules of docs/CONTRACT.md (R-OTEL-*), read through the OpenTelemetry SDK's
// in-memory (pull) reader.
import { ManualClock } from '../support/clock.js';
import { metrics, type Attributes } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { Policy, PolicyRegistry, RateLimiter } from 'bulwark';
import { instrument } from 'bulwark/otel';
import { never, rejectionOf, settle } from './support.js';

class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

class Boom extends Error {}

interface Collected {
  readonly scopes: string[];
  readonly byName: Map<string, MetricData>;
}

async function collect(reader: MetricReader): Promise<Collected> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, MetricData>();
  const scopes: string[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    scopes.push(scope.scope.name);
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  }
  return { scopes, byName };
}

function points(collected: Collected, name: string): Array<DataPoint<unknown>> {
  return (collected.byName.get(name)?.dataPoints ?? []) as Array<DataPoint<unknown>>;
}

/** The sum of a counter's points (or count of a histogram's) whose attributes include `where`. */
function total(collected: Collected, name: string, where: Attributes = {}): number {
  let sum = 0;
  for (const point of points(collected, name)) {
    if (!Object.entries(where).every(([k, v]) => point.attributes[k] === v)) continue;
    const value = point.value as number | Histogram;
    sum += typeof value === 'number' ? value : value.count;
  }
  return sum;
}

describe('contract: bulwark/otel', () => {
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

  it('R-OTEL-1: `instrument(target: Policy | PolicyRegistry, options?: { meter?; attributes? })` returns a function that removes the instrumentation', async () => {
    const policy = Policy.builder('p').build();
    const remove = instrument(policy, { meter: provider.getMeter('t') });
    expect(remove).to.be.a('function');
    await policy.execute(() => 1);
    expect(total(await collect(reader), 'bulwark.calls')).to.equal(1);
    remove();
    await policy.execute(() => 1);
    expect(total(await collect(reader), 'bulwark.calls')).to.equal(1);
    const registry = PolicyRegistry.fromConfig({ policies: { q: [] } });
    const removeRegistry = instrument(registry, { meter: provider.getMeter('t') });
    expect(removeRegistry).to.be.a('function');
    removeRegistry();
  });

  it("R-OTEL-1: Without `meter` it uses `metrics.getMeter('bulwark')` from `@opentelemetry/api`", async () => {
    metrics.setGlobalMeterProvider(provider);
    const policy = Policy.builder('global').build();
    const remove = instrument(policy);
    await policy.execute(() => 1);
    const collected = await collect(reader);
    expect(collected.scopes).to.include('bulwark');
    expect(total(collected, 'bulwark.calls', { policy: 'global' })).to.equal(1);
    remove();
  });

  it('R-OTEL-2: Instruments: counters `bulwark.calls`, `bulwark.rejections`, `bulwark.retries`, `bulwark.timeouts`, `bulwark.fallbacks`; histograms `bulwark.call.duration` and `bulwark.attempt.duration` (unit `ms`); observable gauges `bulwark.circuit.state`, `bulwark.bulkhead.available`, `bulwark.bulkhead.queued`, `bulwark.ratelimiter.tokens`, `bulwark.ratelimiter.queued`', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 0.001, clock });
    const policy = Policy.builder('all')
      .clock(clock)
      .fallback({ value: 'fb' })
      .rateLimiter(limiter)
      .bulkhead({ maxConcurrent: 2, clock })
      .retry({ maxAttempts: 2, clock })
      .circuitBreaker({ clock })
      .timeout({ timeout: 100, clock })
      .build();
    instrument(policy, { meter: provider.getMeter('t') });
    const slow = settle(policy.execute(() => never()));
    await clock.advance(200);
    expect(slow.value).to.equal('fb');
    expect(await policy.execute(() => 1)).to.equal(1);
    expect(await policy.execute(() => 1)).to.equal('fb');
    const collected = await collect(reader);
    const counter = DataPointType.SUM;
    const histogram = DataPointType.HISTOGRAM;
    const gauge = DataPointType.GAUGE;
    const kinds: Record<string, [DataPointType, string | undefined]> = {
      'bulwark.calls': [counter, undefined],
      'bulwark.rejections': [counter, undefined],
      'bulwark.retries': [counter, undefined],
      'bulwark.timeouts': [counter, undefined],
      'bulwark.fallbacks': [counter, undefined],
      'bulwark.call.duration': [histogram, 'ms'],
      'bulwark.attempt.duration': [histogram, 'ms'],
      'bulwark.circuit.state': [gauge, undefined],
      'bulwark.bulkhead.available': [gauge, undefined],
      'bulwark.bulkhead.queued': [gauge, undefined],
      'bulwark.ratelimiter.tokens': [gauge, undefined],
      'bulwark.ratelimiter.queued': [gauge, '{call}'],
    };
    for (const [name, [type, unit]] of Object.entries(kinds)) {
      const metric = collected.byName.get(name);
      expect(metric, name).to.not.equal(undefined);
      expect(metric?.dataPointType, name).to.equal(type);
      if (type === counter) expect(metric).to.have.property('isMonotonic', true);
      if (unit !== undefined) expect(metric?.descriptor.unit, name).to.equal(unit);
    }
    expect(total(collected, 'bulwark.retries', { stage: 'retry' })).to.equal(1);
    expect(total(collected, 'bulwark.timeouts', { stage: 'timeout' })).to.equal(2);
    expect(total(collected, 'bulwark.fallbacks', { stage: 'fallback' })).to.equal(2);
    expect(
      total(collected, 'bulwark.rejections', { stage: 'rate-limiter', reason: 'rate-limit' }),
    ).to.equal(1);
    expect(total(collected, 'bulwark.calls', { outcome: 'fallback' })).to.equal(2);
    expect(total(collected, 'bulwark.calls', { outcome: 'success' })).to.equal(1);
    expect(total(collected, 'bulwark.call.duration')).to.equal(3);
    // Both attempts of the first call ended at their deadline (their work never settles); the
    // second call's attempt succeeded; the third call was refused before any attempt.
    expect(total(collected, 'bulwark.attempt.duration')).to.equal(3);
    expect(total(collected, 'bulwark.attempt.duration', { outcome: 'failure' })).to.equal(2);
  });

  it('R-OTEL-3: attribute `policy` always, `stage` where one applies: on rejections, retries, timeouts, fallbacks and the gauges', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('attrs')
      .clock(clock)
      .fallback({ value: 0 })
      .bulkhead({ maxConcurrent: 1, clock })
      .retry({ maxAttempts: 2, clock })
      .circuitBreaker({ failureThreshold: 1, clock })
      .rateLimiter({ maxTokens: 5, clock })
      .timeout({ timeout: 10, clock })
      .build();
    instrument(policy, { meter: provider.getMeter('t') });
    const call = settle(policy.execute(() => never()));
    await clock.advance(50);
    expect(call.value).to.equal(0);
    const collected = await collect(reader);
    for (const [name, metric] of collected.byName) {
      for (const point of metric.dataPoints as Array<DataPoint<unknown>>) {
        expect(point.attributes.policy, name).to.equal('attrs');
      }
    }
    for (const name of [
      'bulwark.rejections',
      'bulwark.retries',
      'bulwark.timeouts',
      'bulwark.fallbacks',
      'bulwark.circuit.state',
      'bulwark.bulkhead.available',
      'bulwark.bulkhead.queued',
      'bulwark.ratelimiter.tokens',
      'bulwark.ratelimiter.queued',
    ]) {
      const found = points(collected, name);
      expect(found.length, name).to.be.greaterThan(0);
      for (const point of found) expect(point.attributes.stage, name).to.be.a('string');
    }
    expect(points(collected, 'bulwark.rejections')[0]?.attributes).to.include({
      stage: 'circuit-breaker',
      reason: 'circuit-open',
    });
  });

  it('R-OTEL-4: `outcome` is the execution’s final outcome: `success`, `fallback` (also after a rejection), `rejected`, `failure` (timeouts included)', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 0.001, clock });
    const plain = Policy.builder('plain')
      .clock(clock)
      .rateLimiter(limiter)
      .timeout({ timeout: 10, clock })
      .build();
    const saved = Policy.builder('saved')
      .clock(clock)
      .fallback({ value: 'fb' })
      .rateLimiter(limiter)
      .build();
    instrument(plain, { meter: provider.getMeter('t') });
    instrument(saved, { meter: provider.getMeter('t') });
    const timedOut = settle(plain.execute(() => never()));
    await clock.advance(10);
    expect(timedOut.status).to.equal('rejected');
    await rejectionOf(plain.execute(() => 1));
    expect(await saved.execute(() => 1)).to.equal('fb');
    const ok = Policy.builder('ok').build();
    instrument(ok, { meter: provider.getMeter('t') });
    await ok.execute(() => 1);
    await rejectionOf(ok.execute(() => Promise.reject(new Boom())));
    const collected = await collect(reader);
    const outcome = (policy: string, value: string) =>
      total(collected, 'bulwark.calls', { policy, outcome: value });
    expect(outcome('plain', 'failure')).to.equal(1);
    expect(outcome('plain', 'rejected')).to.equal(1);
    expect(outcome('saved', 'fallback')).to.equal(1);
    expect(outcome('ok', 'success')).to.equal(1);
    expect(outcome('ok', 'failure')).to.equal(1);
  });

  it('R-OTEL-5: Every execution records `bulwark.call.duration`; every attempt records `bulwark.attempt.duration` (one attempt without a retry stage)', async () => {
    const clock = new ManualClock(1_000);
    const retried = Policy.builder('retried').clock(clock).retry({ maxAttempts: 3, clock }).build();
    const single = Policy.builder('single').clock(clock).build();
    instrument(retried, { meter: provider.getMeter('t') });
    instrument(single, { meter: provider.getMeter('t') });
    let n = 0;
    await retried.execute(() => {
      if (++n < 3) throw new Boom();
      return n;
    });
    const slow = settle(single.execute(() => new Promise((r) => clock.setTimeout(() => r(1), 25))));
    await clock.advance(25);
    expect(slow.value).to.equal(1);
    const collected = await collect(reader);
    expect(total(collected, 'bulwark.call.duration', { policy: 'retried' })).to.equal(1);
    expect(total(collected, 'bulwark.attempt.duration', { policy: 'retried' })).to.equal(3);
    expect(total(collected, 'bulwark.call.duration', { policy: 'single' })).to.equal(1);
    expect(total(collected, 'bulwark.attempt.duration', { policy: 'single' })).to.equal(1);
    const histogram = points(collected, 'bulwark.call.duration').find(
      (p) => p.attributes.policy === 'single',
    )?.value as Histogram;
    expect(histogram.sum).to.equal(25);
  });

  it('R-OTEL-5: an attempt cut off by a deadline records `outcome: failure` at the deadline, once, also when its work settles later', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('cut').clock(clock).timeout({ timeout: 50, clock }).build();
    instrument(policy, { meter: provider.getMeter('t') });
    const call = settle(
      policy.execute(() => new Promise((r) => clock.setTimeout(() => r('late'), 200))),
    );
    await clock.advance(50);
    expect(call.status).to.equal('rejected');
    const atDeadline = await collect(reader);
    expect(total(atDeadline, 'bulwark.attempt.duration', { outcome: 'failure' })).to.equal(1);
    await clock.advance(200);
    const later = await collect(reader);
    expect(total(later, 'bulwark.attempt.duration', { outcome: 'failure' })).to.equal(1);
    expect(total(later, 'bulwark.attempt.duration', { outcome: 'success' })).to.equal(0);
    const histogram = points(later, 'bulwark.attempt.duration')[0]?.value as Histogram;
    expect(histogram.sum).to.equal(50);
  });

  it('R-OTEL-2, R-OTEL-6: `bulwark.circuit.state` (0 closed, 1 half-open, 2 open, 3 isolated); `bulwark.bulkhead.available`, `bulwark.bulkhead.queued`, `bulwark.ratelimiter.tokens`', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('g')
      .clock(clock)
      .rateLimiter({ maxTokens: 5, refillRate: 0.001, clock })
      .bulkhead({ maxConcurrent: 3, maxQueue: 2, clock })
      .circuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock })
      .build();
    instrument(policy, { meter: provider.getMeter('t') });
    const gauge = async (name: string) => total(await collect(reader), name, { policy: 'g' });
    expect(await gauge('bulwark.circuit.state')).to.equal(0);
    const held = settle(policy.execute(() => never()));
    expect(await gauge('bulwark.bulkhead.available')).to.equal(2);
    expect(await gauge('bulwark.bulkhead.queued')).to.equal(0);
    expect(await gauge('bulwark.ratelimiter.tokens')).to.be.closeTo(4, 0.01);
    await rejectionOf(policy.execute(() => Promise.reject(new Boom())));
    expect(await gauge('bulwark.circuit.state')).to.equal(2);
    await clock.advance(100);
    expect(await gauge('bulwark.circuit.state')).to.equal(1);
    expect(held.status).to.equal('pending');
  });

  it('R-OTEL-6: `bulwark.circuit.state` reads 3 for an isolated breaker', async () => {
    const registry = PolicyRegistry.fromConfig({
      'circuit-breaker': { db: {} },
      policies: { p: [{ 'circuit-breaker': 'db' }] },
    });
    registry.circuitBreaker('db').isolate();
    instrument(registry, { meter: provider.getMeter('t') });
    const collected = await collect(reader);
    expect(total(collected, 'bulwark.circuit.state', { policy: 'p' })).to.equal(3);
  });

  it('R-OTEL-3: `attributes` are added to every data point', async () => {
    const registry = PolicyRegistry.fromConfig({
      'rate-limiter': { api: { 'max-tokens': 3 } },
      policies: { p: [{ 'rate-limiter': 'api' }, { bulkhead: {} }] },
    });
    instrument(registry, { meter: provider.getMeter('t'), attributes: { region: 'eu' } });
    await registry.policy('p').execute(() => 1);
    const collected = await collect(reader);
    let seen = 0;
    for (const [name, metric] of collected.byName) {
      for (const point of metric.dataPoints as Array<DataPoint<unknown>>) {
        expect(point.attributes.region, name).to.equal('eu');
        seen++;
      }
    }
    expect(seen).to.be.greaterThan(3);
  });
});
