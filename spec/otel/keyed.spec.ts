// bulwark/otel and keyed stages: the number of keys as `bulwark.keys`, and the `key` attribute
// only with `keyAttribute: true`, on rejections and on the gauges of the keys that refuse calls,
// capped at 100 distinct values per instrument() call.
import type { Attributes } from '@opentelemetry/api';
import {
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { instrument } from '../../src/otel/index.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const host = (ctx: ExecutionContext) => ctx.data.get('host') as string;
const on = (h: string) => ({ data: { host: h } });
const down = () => Promise.reject(new Error('down'));

describe('instrument, keyed stages', () => {
  let reader: TestReader;
  let provider: MeterProvider;

  beforeEach(() => {
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
  });
  afterEach(() => provider.shutdown());

  async function collect(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).to.deep.equal([]);
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) byName.set(m.descriptor.name, m);
    }
    return byName;
  }

  const points = (collected: Map<string, MetricData>, name: string) =>
    (collected.get(name)?.dataPoints ?? []) as DataPoint<number>[];
  const attrs = (list: DataPoint<number>[]): Attributes[] => list.map((p) => p.attributes);

  async function tripped(policy: Policy, hosts: readonly string[]): Promise<void> {
    for (const h of hosts) {
      await policy.execute(down, on(h)).catch(() => 0);
      await policy.execute(() => 1, on(h)).catch(() => 0);
    }
  }

  it('reports the number of keys and no key attribute unless asked', async () => {
    const policy = Policy.builder('hosts')
      .circuitBreaker({ key: host, failureThreshold: 1, recoveryTimeout: '1m' })
      .build();
    instrument(policy, { meter: provider.getMeter('test') });
    await tripped(policy, ['a', 'b']);
    await policy.execute(() => 1, on('c'));
    const collected = await collect();
    const stage = { policy: 'hosts', stage: 'circuit-breaker', primitive: 'circuit-breaker' };
    const keys = points(collected, 'bulwark.keys');
    expect(attrs(keys)).to.deep.equal([stage]);
    expect(keys[0]?.value).to.equal(3);
    const rejections = points(collected, 'bulwark.rejections');
    expect(attrs(rejections)).to.deep.equal([
      { policy: 'hosts', stage: 'circuit-breaker', reason: 'circuit-open' },
    ]);
    expect(rejections[0]?.value).to.equal(2);
    expect(points(collected, 'bulwark.circuit.state'), 'no per-key gauge').to.deep.equal([]);
  });

  it('adds the key to rejections and to the gauges of refusing keys with keyAttribute', async () => {
    const policy = Policy.builder('hosts')
      .circuitBreaker({ key: host, failureThreshold: 1, recoveryTimeout: '1m' })
      .build();
    instrument(policy, { meter: provider.getMeter('test'), keyAttribute: true });
    await tripped(policy, ['a', 'b']);
    await policy.execute(() => 1, on('c'));
    const collected = await collect();
    const stage = { policy: 'hosts', stage: 'circuit-breaker', primitive: 'circuit-breaker' };
    expect(attrs(points(collected, 'bulwark.rejections'))).to.have.deep.members([
      { policy: 'hosts', stage: 'circuit-breaker', reason: 'circuit-open', key: 'a' },
      { policy: 'hosts', stage: 'circuit-breaker', reason: 'circuit-open', key: 'b' },
    ]);
    const state = points(collected, 'bulwark.circuit.state');
    expect(attrs(state)).to.have.deep.members([
      { ...stage, key: 'a' },
      { ...stage, key: 'b' },
    ]);
    expect(state.map((p) => p.value)).to.deep.equal([2, 2]);
  });

  it('caps the key attribute at 100 distinct values, counting later keys as _other', async () => {
    const policy = Policy.builder('users')
      .rateLimiter({ key: host, maxTokens: 1, refillRate: 0.001 })
      .build();
    instrument(policy, { meter: provider.getMeter('test'), keyAttribute: true });
    for (let i = 0; i < 150; i++) {
      await policy.execute(() => 1, on(`u${i}`));
      await policy.execute(() => 1, on(`u${i}`)).catch(() => 0);
    }
    const collected = await collect();
    const rejections = points(collected, 'bulwark.rejections');
    const keys = rejections.map((p) => p.attributes.key);
    expect(keys).to.have.length(101);
    expect(keys).to.include('u0').and.include('u99').and.include('_other');
    expect(keys).to.not.include('u100');
    expect(rejections.find((p) => p.attributes.key === '_other')?.value).to.equal(50);
    // The gauges list at most 20 refusing keys per stage, all among the first 100.
    const tokens = points(collected, 'bulwark.ratelimiter.tokens');
    expect(tokens).to.have.length(20);
  });

  it('cuts a key past 256 characters to its first 256 then …, never inside a character', async () => {
    const policy = Policy.builder('hosts')
      .circuitBreaker({ key: host, failureThreshold: 1, recoveryTimeout: '1m' })
      .build();
    instrument(policy, { meter: provider.getMeter('test'), keyAttribute: true });
    const long = 'a'.repeat(100_000);
    // The 256th code unit begins a surrogate pair: the cut keeps the character whole or not at all.
    const emoji = `${'b'.repeat(255)}😀${'b'.repeat(10)}`;
    const exact = 'c'.repeat(256);
    await tripped(policy, [long, `${'a'.repeat(256)}other`, emoji, exact]);
    const collected = await collect();
    const keys = points(collected, 'bulwark.rejections').map((p) => p.attributes.key as string);
    expect(keys).to.have.members([`${'a'.repeat(256)}…`, `${'b'.repeat(255)}…`, exact]);
    // Two keys alike in their first 256 characters share the value.
    const cut = `${'a'.repeat(256)}…`;
    const shared = points(collected, 'bulwark.rejections').find((p) => p.attributes.key === cut);
    expect(shared?.value).to.equal(2);
    const state = attrs(points(collected, 'bulwark.circuit.state')).map((p) => p.key as string);
    expect(state).to.have.members([`${'a'.repeat(256)}…`, `${'b'.repeat(255)}…`, exact]);
  });

  it('refuses a keyAttribute that is not a boolean, naming it', () => {
    const policy = Policy.builder('p').build();
    expect(() => instrument(policy, { keyAttribute: 'yes' as never }))
      .to.throw(TypeError, '`keyAttribute` must be a boolean, got "yes"')
      // An option error like the core's, with its fields.
      .and.include({ option: 'keyAttribute', expected: 'a boolean', received: 'yes' });
  });
});
