// The keyed rules of docs/CONTRACT.md (R-KEYED-*, R-OTEL-8), checked against the built package.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import {
  Bulkhead,
  BulkheadFullError,
  CircuitBreaker,
  CircuitOpenError,
  Keyed,
  Policy,
  PolicyRegistry,
  RateLimiter,
  stages,
  type ExecutionContext,
} from 'bulwark';
import { instrument } from 'bulwark/otel';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { deferred } from '../support/promises.js';
import { rejectionOf, thrownBy } from './support.js';

const host = (ctx: ExecutionContext) => ctx.data.get('host') as string;
const on = (h: string) => ({ data: { host: h } });
const down = () => Promise.reject(new Error('down'));

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('contract: Keyed', () => {
  it('R-KEYED-1: one instance per key made on first use; get, delete, size, keys; defaults 1000 and 10m', () => {
    const keyed = new Keyed((key) => ({ key }));
    expect(keyed.maxKeys).to.equal(1000);
    expect(keyed.idleTimeoutMs).to.equal(600_000);
    const a = keyed.get('a');
    expect(keyed.get('a')).to.equal(a);
    keyed.get('b');
    keyed.get('a');
    expect(keyed.keys()).to.deep.equal(['b', 'a']);
    expect(keyed.size).to.equal(2);
    expect(keyed.delete('a')).to.equal(true);
    expect(keyed.delete('a')).to.equal(false);
    expect(keyed.get('a')).to.not.equal(a);
  });

  it('R-KEYED-2: past maxKeys the least recently used instance at rest goes; one in use never does', () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer' });
    const keyed = new Keyed(() => new Bulkhead({ maxConcurrent: 1, clock }), {
      maxKeys: 2,
      clock,
    });
    keyed.get('busy').tryAcquire();
    keyed.get('b');
    keyed.get('c');
    expect(keyed.keys()).to.have.members(['busy', 'c']);
    keyed.get('c').tryAcquire();
    keyed.get('d');
    expect(keyed.size, 'every other instance in use: over maxKeys for now').to.equal(3);
    keyed.get('busy').release();
    keyed.get('c').release();
    keyed.get('e');
    expect(keyed.size).to.equal(2);
  });

  it('R-KEYED-2: an OPEN circuit and a drained bucket go only when none at rest can; ISOLATED never', () => {
    const clock = new ManualClock();
    const breakers = new Keyed(
      () => new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '30s', clock }),
      { maxKeys: 2, clock },
    );
    const down = breakers.get('down');
    down.onFailure(new Error('x'));
    breakers.get('up');
    breakers.get('other');
    expect(breakers.keys(), 'up, at rest, goes').to.have.members(['down', 'other']);
    breakers.get('other').onFailure(new Error('x'));
    breakers.get('next');
    expect(breakers.keys(), 'the least recently used open one goes').to.not.include('down');
    expect(breakers.get('down')).to.not.equal(down);
    breakers.get('quarantined').isolate();
    for (let i = 0; i < 50; i++) breakers.get(`h${i}`).onFailure(new Error('x'));
    expect(breakers.keys()).to.have.members(['quarantined', 'h49']);

    const limiters = new Keyed(() => new RateLimiter({ maxTokens: 5, refillRate: 1, clock }), {
      maxKeys: 2,
      clock,
    });
    limiters.get('spent').tryAcquire();
    limiters.get('full');
    limiters.get('other');
    expect(limiters.keys()).to.have.members(['spent', 'other']);
    limiters.get('other').tryAcquire();
    limiters.get('next');
    expect(limiters.keys()).to.have.members(['other', 'next']);
  });

  it('R-KEYED-3: an instance at rest unused for idleTimeout is dropped on the next use, with no timer', () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer' });
    const keyed = new Keyed((key) => ({ key }), { idleTimeout: '1s', clock });
    keyed.get('a');
    clock.tick(999);
    expect(keyed.size).to.equal(1);
    clock.tick(1);
    expect(keyed.size).to.equal(0);
  });

  it('R-KEYED-4: a key whose instance was dropped gets a new one: a closed circuit', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({
      key: host,
      maxKeys: 1,
      failureThreshold: 1,
      recoveryTimeout: '1s',
      clock,
    });
    const policy = Policy.builder('p').use(stage).build();
    await rejectionOf(policy.execute(down, on('a')));
    const first = stage.primitive.get('a');
    // Past maxKeys with no instance at rest: the OPEN circuit goes.
    await policy.execute(() => 1, on('b'));
    expect(stage.primitive.keys()).to.deep.equal(['b']);
    // A new breaker, closed: it admits the call the dropped one would have refused.
    expect(await policy.execute(() => 'a', on('a'))).to.equal('a');
    expect(stage.primitive.get('a')).to.not.equal(first);
    expect(stage.primitive.get('a').state).to.equal('closed');
  });

  it('R-KEYED-5: a keyed breaker opens per key; an open circuit never refuses another key', async () => {
    const policy = Policy.builder('hosts')
      .circuitBreaker({ key: host, failureThreshold: 1, recoveryTimeout: '1m' })
      .build();
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    await rejectionOf(policy.execute(down, on('a')));
    const error = await rejectionOf(policy.execute(() => 1, on('a')));
    expect(error).to.be.instanceOf(CircuitOpenError);
    for (let i = 0; i < 20; i++) expect(await policy.execute(() => i, on(`h${i}`))).to.equal(i);
    expect(rejected).to.deep.equal([
      { policy: 'hosts', stage: 'circuit-breaker', reason: 'circuit-open', error, key: 'a' },
    ]);
    expect(policy.metrics().rejections.circuitOpen).to.equal(1);
  });

  it('R-KEYED-5: a keyed bulkhead and rate limiter give each key its own primitive', async () => {
    const policy = Policy.builder('tenants')
      .rateLimiter({ key: host, maxTokens: 2, refillRate: 1 })
      .bulkhead({ key: host, maxConcurrent: 1 })
      .build();
    const work = deferred<number>();
    const running = policy.execute(() => work.promise, on('a'));
    expect(await rejectionOf(policy.execute(() => 2, on('a')))).to.be.instanceOf(BulkheadFullError);
    expect(await policy.execute(() => 3, on('b'))).to.equal(3);
    work.resolve(1);
    expect(await running).to.equal(1);
    expect(stages.bulkhead({ key: host }).primitive).to.be.instanceOf(Keyed);
  });

  it('R-KEYED-6: bad keyed options throw at construction, naming the option and value', () => {
    expect(thrownBy(() => stages.circuitBreaker({ key: 1 as never })).message).to.equal(
      '`key` must be a function, got 1',
    );
    const maxKeys = thrownBy(() => Policy.builder().bulkhead({ key: host, maxKeys: 0 }));
    expect(maxKeys).to.be.instanceOf(RangeError);
    expect(maxKeys.message).to.equal('`maxKeys` must be an integer >= 1, got 0');
    expect(thrownBy(() => new Keyed(() => 1, { idleTimeout: 0 }))).to.be.instanceOf(RangeError);
    expect(
      thrownBy(() => Policy.builder().rateLimiter({ key: host, store: {} as never })),
    ).to.be.instanceOf(TypeError);
    expect(() => PolicyRegistry.fromConfig({ bulkhead: { x: { key: 'k' } } })).to.throw(
      TypeError,
      'cannot come from configuration',
    );
  });

  it('R-KEYED-6: a key function that throws fails the call with it; a non-string key with a TypeError', async () => {
    const thrown = new Error('no key');
    const policy = Policy.builder('p')
      .bulkhead({
        key: (ctx) => {
          if (!ctx.data.has('host')) throw thrown;
          return ctx.data.get('host') as string;
        },
      })
      .build();
    expect(await rejectionOf(policy.execute(() => 1))).to.equal(thrown);
    const error = await rejectionOf(policy.execute(() => 1, { data: { host: null } }));
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.equal('`key` must be a string, got null');
  });

  it('R-KEYED-7: metrics().stages reports keys, maxKeys, busyKeys, droppedBusy, refusingKeys and up to 20 refusing keys', async () => {
    const policy = Policy.builder('p')
      .circuitBreaker({ key: host, maxKeys: 100, failureThreshold: 1, recoveryTimeout: '1m' })
      .build();
    for (let i = 0; i < 22; i++) await rejectionOf(policy.execute(down, on(`d${i}`)));
    await policy.execute(() => 1, on('up'));
    const [state] = policy.metrics().stages;
    expect(state).to.include({
      kind: 'circuit-breaker',
      keys: 23,
      maxKeys: 100,
      busyKeys: 22,
      droppedBusy: 0,
      refusingKeys: 22,
    });
    const refusing = (state as unknown as { refusing: Array<{ key: string; state: string }> })
      .refusing;
    expect(refusing.map((r) => r.key)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `d${i}`));
    expect(refusing[0]?.state).to.equal('open');
    const small = Policy.builder('s')
      .circuitBreaker({ key: host, maxKeys: 2, failureThreshold: 1, recoveryTimeout: '1m' })
      .build();
    for (let i = 0; i < 5; i++) await rejectionOf(small.execute(down, on(`d${i}`)));
    expect(small.metrics().stages[0]).to.include({ keys: 2, busyKeys: 2, droppedBusy: 3 });
  });
});

describe('contract: OpenTelemetry and keyed stages', () => {
  it('R-OTEL-8: bulwark.keys always; the key attribute only with keyAttribute, at most 100 values', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    try {
      const plain = Policy.builder('plain')
        .rateLimiter({ key: host, maxTokens: 1, refillRate: 0.001 })
        .build();
      const keyed = Policy.builder('keyed')
        .rateLimiter({ key: host, maxTokens: 1, refillRate: 0.001 })
        .build();
      instrument(plain, { meter: provider.getMeter('t') });
      instrument(keyed, { meter: provider.getMeter('t'), keyAttribute: true });
      for (const policy of [plain, keyed]) {
        for (let i = 0; i < 101; i++) {
          await policy.execute(() => 1, on(`u${i}`));
          await policy.execute(() => 1, on(`u${i}`)).catch(() => 0);
        }
      }
      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const points = (name: string, policy: string) =>
        all
          .filter((m) => m.descriptor.name === name)
          .flatMap((m) => m.dataPoints as DataPoint<number>[])
          .filter((p) => p.attributes.policy === policy);
      expect(points('bulwark.keys', 'plain').map((p) => p.value)).to.deep.equal([101]);
      expect(points('bulwark.rejections', 'plain').map((p) => p.attributes.key)).to.deep.equal([
        undefined,
      ]);
      const keys = points('bulwark.rejections', 'keyed').map((p) => p.attributes.key);
      expect(keys).to.have.length(101);
      expect(keys).to.include('u99').and.include('_other').and.not.include('u100');
    } finally {
      await provider.shutdown();
    }
  });
});
