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
import { fileURLToPath } from 'node:url';
import { runWithGc } from '../support/gcChild.js';
import sinon from 'sinon';
import { BulkheadFullError } from '../../src/errors.js';
import type { Clock } from '../../src/internal/clock.js';
import { instrument } from '../../src/otel/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';

/** A pull reader: `collect()` gathers whatever the instruments hold right now. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

class Boom extends Error {}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Metrics by name from one collection. */
type Collected = Map<string, MetricData>;

function metric(collected: Collected, name: string): MetricData {
  const found = collected.get(name);
  if (found === undefined) {
    throw new Error(`no metric ${name}; have ${[...collected.keys()].join(', ')}`);
  }
  return found;
}

/** Every data point of `name` whose attributes are exactly `attributes`. */
function pointsOf(
  collected: Collected,
  name: string,
  attributes: Attributes,
): DataPoint<unknown>[] {
  const m = collected.get(name);
  if (m === undefined) return [];
  return (m.dataPoints as DataPoint<unknown>[]).filter((p) =>
    sameAttributes(p.attributes, attributes),
  );
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The single value of a counter or gauge for exactly these attributes. */
function value(collected: Collected, name: string, attributes: Attributes): number {
  const points = pointsOf(collected, name, attributes);
  if (points.length !== 1) {
    const all = (collected.get(name)?.dataPoints ?? []).map((p) => p.attributes);
    throw new Error(
      `${name}: expected one point for ${JSON.stringify(attributes)}, got ${points.length}; ` +
        `points: ${JSON.stringify(all)}`,
    );
  }
  return (points[0] as DataPoint<number>).value;
}

function histogram(collected: Collected, name: string, attributes: Attributes): Histogram {
  const points = pointsOf(collected, name, attributes);
  expect(points, `${name} ${JSON.stringify(attributes)}`).to.have.length(1);
  return (points[0] as DataPoint<Histogram>).value;
}

describe('instrument', () => {
  let clock: sinon.SinonFakeTimers;
  let reader: TestReader;
  let provider: MeterProvider;

  async function collect(): Promise<Collected> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).to.deep.equal([]);
    const byName: Collected = new Map();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) byName.set(m.descriptor.name, m);
    }
    return byName;
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers();
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
  });
  afterEach(async () => {
    await provider.shutdown();
    clock.restore();
  });

  describe('a policy', () => {
    it('counts executions by final outcome and times each one', async () => {
      const policy = Policy.builder('pricing').build();
      instrument(policy, { meter: provider.getMeter('test') });
      const slow = policy.execute(
        () => new Promise<string>((resolve) => setTimeout(() => resolve('ok'), 30)),
      );
      await clock.tickAsync(30);
      expect(await slow).to.equal('ok');
      await policy.execute(() => 'ok');
      const failing = policy.execute(
        () => new Promise((_, reject) => setTimeout(() => reject(new Boom('no')), 70)),
      );
      const failed = failing.catch((e: unknown) => e);
      await clock.tickAsync(70);
      expect(await failed).to.be.instanceOf(Boom);

      const collected = await collect();
      const calls = metric(collected, 'bulwark.calls');
      expect(calls.descriptor.unit).to.equal('{call}');
      expect(calls.dataPointType).to.equal(DataPointType.SUM);
      expect(value(collected, 'bulwark.calls', { policy: 'pricing', outcome: 'success' })).to.equal(
        2,
      );
      expect(value(collected, 'bulwark.calls', { policy: 'pricing', outcome: 'failure' })).to.equal(
        1,
      );
      const duration = metric(collected, 'bulwark.call.duration');
      expect(duration.descriptor.unit).to.equal('ms');
      expect(duration.dataPointType).to.equal(DataPointType.HISTOGRAM);
      const ok = histogram(collected, 'bulwark.call.duration', {
        policy: 'pricing',
        outcome: 'success',
      });
      expect([ok.count, ok.sum, ok.min, ok.max]).to.deep.equal([2, 30, 0, 30]);
      const bad = histogram(collected, 'bulwark.call.duration', {
        policy: 'pricing',
        outcome: 'failure',
      });
      expect([bad.count, bad.sum]).to.deep.equal([1, 70]);
    });

    it('records one attempt per execution without a retry stage', async () => {
      const policy = Policy.builder('single').build();
      instrument(policy, { meter: provider.getMeter('test') });
      const call = policy.execute(
        () => new Promise<number>((resolve) => setTimeout(() => resolve(1), 12)),
      );
      await clock.tickAsync(12);
      await call;
      const collected = await collect();
      const attempts = metric(collected, 'bulwark.attempt.duration');
      expect(attempts.descriptor.unit).to.equal('ms');
      const h = histogram(collected, 'bulwark.attempt.duration', {
        policy: 'single',
        outcome: 'success',
      });
      expect([h.count, h.sum]).to.deep.equal([1, 12]);
    });

    it('records every attempt and counts retries with their stage', async () => {
      const policy = Policy.builder('flaky').retry({ maxAttempts: 3, delay: 100 }).build();
      instrument(policy, { meter: provider.getMeter('test') });
      let n = 0;
      const call = policy.execute(
        () =>
          new Promise<string>((resolve, reject) =>
            setTimeout(() => (++n < 3 ? reject(new Boom('again')) : resolve('done')), 10),
          ),
      );
      await clock.tickAsync(10 + 100 + 10 + 100 + 10);
      expect(await call).to.equal('done');

      const collected = await collect();
      const failed = histogram(collected, 'bulwark.attempt.duration', {
        policy: 'flaky',
        outcome: 'failure',
      });
      const succeeded = histogram(collected, 'bulwark.attempt.duration', {
        policy: 'flaky',
        outcome: 'success',
      });
      expect([failed.count, failed.sum, succeeded.count, succeeded.sum]).to.deep.equal([
        2, 20, 1, 10,
      ]);
      expect(metric(collected, 'bulwark.retries').descriptor.unit).to.equal('{retry}');
      expect(value(collected, 'bulwark.retries', { policy: 'flaky', stage: 'retry' })).to.equal(2);
      const whole = histogram(collected, 'bulwark.call.duration', {
        policy: 'flaky',
        outcome: 'success',
      });
      expect([whole.count, whole.sum]).to.deep.equal([1, 230]);
    });

    it('records a call that began before it was attached, timed from the attachment on', async () => {
      const policy = Policy.builder('early').build();
      const before = policy.execute(
        () => new Promise<string>((resolve) => setTimeout(() => resolve('ok'), 50)),
      );
      await clock.tickAsync(20);
      instrument(policy, { meter: provider.getMeter('test') });
      const after = policy.execute(
        () => new Promise<string>((resolve) => setTimeout(() => resolve('ok'), 40)),
      );
      await clock.tickAsync(40);
      expect(await Promise.all([before, after])).to.deep.equal(['ok', 'ok']);
      const collected = await collect();
      const attributes = { policy: 'early', outcome: 'success' };
      expect(value(collected, 'bulwark.calls', attributes)).to.equal(2);
      const duration = histogram(collected, 'bulwark.call.duration', attributes);
      expect(
        [duration.count, duration.sum],
        'the early call from the attachment: 30 ms',
      ).to.deep.equal([2, 70]);
    });

    it('counts a retry skipped at the deadline, as metrics() does', async () => {
      const policy = Policy.builder('late')
        .timeout(150)
        .retry({ maxAttempts: 3, delay: 100 })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      const call = policy.execute(() => Promise.reject(new Boom('again'))).catch((e: unknown) => e);
      await clock.tickAsync(200);
      expect(await call).to.be.instanceOf(Boom);
      const collected = await collect();
      // The second wait would end at 200 ms, past the deadline at 150: skipped, still a retry event.
      expect(value(collected, 'bulwark.retries', { policy: 'late', stage: 'retry' })).to.equal(2);
      expect(policy.metrics().retries).to.equal(2);
    });

    it('counts rejections by reason and stage, and their executions as rejected', async () => {
      const policy = Policy.builder('limited')
        .rateLimiter({ maxTokens: 1, refillRate: 0.001 })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      await policy.execute(() => 'first');
      const refused = await policy.execute(() => 'second').catch((e: unknown) => e);
      expect(refused).to.have.property('code', 'RATE_LIMITED');

      const collected = await collect();
      expect(metric(collected, 'bulwark.rejections').descriptor.unit).to.equal('{rejection}');
      expect(
        value(collected, 'bulwark.rejections', {
          policy: 'limited',
          stage: 'rate-limiter',
          reason: 'rate-limit',
        }),
      ).to.equal(1);
      expect(
        value(collected, 'bulwark.calls', { policy: 'limited', outcome: 'rejected' }),
      ).to.equal(1);
      expect(value(collected, 'bulwark.calls', { policy: 'limited', outcome: 'success' })).to.equal(
        1,
      );
      // A refused execution never reached the thunk: no attempt for it.
      const attempts = histogram(collected, 'bulwark.attempt.duration', {
        policy: 'limited',
        outcome: 'success',
      });
      expect(attempts.count).to.equal(1);
    });

    it('counts a circuit-open and a bulkhead refusal under their own reasons', async () => {
      const policy = Policy.builder('guarded')
        .bulkhead({ maxConcurrent: 1 })
        .circuitBreaker({ failureThreshold: 1, recoveryTimeout: '10s' })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      const gate = deferred<string>();
      const held = policy.execute(() => gate.promise);
      expect(await policy.execute(() => 'x').catch((e: unknown) => e)).to.be.instanceOf(
        BulkheadFullError,
      );
      gate.resolve('released');
      await held;
      await policy.execute(() => Promise.reject(new Boom('trip'))).catch(() => undefined);
      const open = await policy.execute(() => 'x').catch((e: unknown) => e);
      expect(open).to.have.property('code', 'CIRCUIT_OPEN');

      const collected = await collect();
      expect(
        value(collected, 'bulwark.rejections', {
          policy: 'guarded',
          stage: 'bulkhead',
          reason: 'bulkhead',
        }),
      ).to.equal(1);
      expect(
        value(collected, 'bulwark.rejections', {
          policy: 'guarded',
          stage: 'circuit-breaker',
          reason: 'circuit-open',
        }),
      ).to.equal(1);
      expect(
        value(collected, 'bulwark.calls', { policy: 'guarded', outcome: 'rejected' }),
      ).to.equal(2);
      expect(value(collected, 'bulwark.calls', { policy: 'guarded', outcome: 'failure' })).to.equal(
        1,
      );
    });

    it("counts a nested policy's refusal where it happened, and the outer execution as rejected", async () => {
      const meter = provider.getMeter('test');
      const inner = Policy.builder('inner').circuitBreaker({ failureThreshold: 1 }).build();
      const outer = Policy.builder('outer').bulkhead({ maxConcurrent: 1 }).build();
      instrument(inner, { meter });
      instrument(outer, { meter });
      await inner.execute(() => Promise.reject(new Boom('trip'))).catch(() => undefined);
      const refused = await outer
        .execute(() => inner.execute(() => 'never'))
        .catch((e: unknown) => e);
      expect(refused).to.have.property('code', 'CIRCUIT_OPEN');

      const collected = await collect();
      // The outer caller got a circuit-open error: its execution ended refused...
      expect(value(collected, 'bulwark.calls', { policy: 'outer', outcome: 'rejected' })).to.equal(
        1,
      );
      // ...and the refusal is counted once, by the policy whose stage refused, with that stage.
      const rejections = metric(collected, 'bulwark.rejections').dataPoints.map((p) => [
        p.attributes,
        p.value,
      ]);
      expect(rejections).to.deep.equal([
        [{ policy: 'inner', stage: 'circuit-breaker', reason: 'circuit-open' }, 1],
      ]);
      // The outer function ran and failed with the inner refusal: an attempt, failed.
      expect(
        histogram(collected, 'bulwark.attempt.duration', { policy: 'outer', outcome: 'failure' })
          .count,
      ).to.equal(1);
    });

    it('counts a timeout with its stage and its execution as a failure', async () => {
      const policy = Policy.builder('bounded').timeout('1s').build();
      instrument(policy, { meter: provider.getMeter('test') });
      const call = policy.execute(() => new Promise(() => {})).catch((e: unknown) => e);
      await clock.tickAsync(1000);
      expect(await call).to.have.property('code', 'TIMEOUT');

      const collected = await collect();
      expect(metric(collected, 'bulwark.timeouts').descriptor.unit).to.equal('{timeout}');
      expect(
        value(collected, 'bulwark.timeouts', { policy: 'bounded', stage: 'timeout' }),
      ).to.equal(1);
      expect(value(collected, 'bulwark.calls', { policy: 'bounded', outcome: 'failure' })).to.equal(
        1,
      );
      const h = histogram(collected, 'bulwark.call.duration', {
        policy: 'bounded',
        outcome: 'failure',
      });
      expect(h.sum).to.equal(1000);
    });

    it("counts a fallback's value as outcome fallback, also after a rejection", async () => {
      const policy = Policy.builder<string>('cached')
        .fallback({ value: 'stale' })
        .rateLimiter({ maxTokens: 1, refillRate: 0.001 })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      expect(await policy.execute(() => Promise.reject(new Boom('down')))).to.equal('stale');
      expect(await policy.execute(() => 'fresh')).to.equal('stale');

      const collected = await collect();
      expect(metric(collected, 'bulwark.fallbacks').descriptor.unit).to.equal('{fallback}');
      expect(
        value(collected, 'bulwark.fallbacks', { policy: 'cached', stage: 'fallback' }),
      ).to.equal(2);
      expect(value(collected, 'bulwark.calls', { policy: 'cached', outcome: 'fallback' })).to.equal(
        2,
      );
      expect(pointsOf(collected, 'bulwark.calls', { policy: 'cached', outcome: 'success' })).to.be
        .empty;
      expect(
        value(collected, 'bulwark.rejections', {
          policy: 'cached',
          stage: 'rate-limiter',
          reason: 'rate-limit',
        }),
      ).to.equal(1);
    });

    it('reports the circuit state gauge: closed, open after tripping, half-open later', async () => {
      const policy = Policy.builder('inventory')
        .circuitBreaker({ failureThreshold: 2, recoveryTimeout: '20s' })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      const attributes = {
        policy: 'inventory',
        stage: 'circuit-breaker',
        primitive: 'circuit-breaker',
      };

      let collected = await collect();
      const gauge = metric(collected, 'bulwark.circuit.state');
      expect(gauge.dataPointType).to.equal(DataPointType.GAUGE);
      expect(gauge.descriptor.unit).to.equal('1');
      expect(value(collected, 'bulwark.circuit.state', attributes)).to.equal(0);

      for (let i = 0; i < 2; i++) {
        await policy.execute(() => Promise.reject(new Boom('down'))).catch(() => undefined);
      }
      collected = await collect();
      expect(value(collected, 'bulwark.circuit.state', attributes)).to.equal(2);

      clock.tick(20_000);
      collected = await collect();
      expect(value(collected, 'bulwark.circuit.state', attributes)).to.equal(1);
    });

    it('reports free and queued bulkhead slots as the bulkhead fills', async () => {
      const policy = Policy.builder('legacy-db')
        .bulkhead({ maxConcurrent: 2, maxQueue: 2 })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      const attributes = { policy: 'legacy-db', stage: 'bulkhead', primitive: 'bulkhead' };
      let collected = await collect();
      expect(metric(collected, 'bulwark.bulkhead.available').descriptor.unit).to.equal('{slot}');
      expect(metric(collected, 'bulwark.bulkhead.queued').descriptor.unit).to.equal('{call}');
      expect(value(collected, 'bulwark.bulkhead.available', attributes)).to.equal(2);
      expect(value(collected, 'bulwark.bulkhead.queued', attributes)).to.equal(0);
      expect(metric(collected, 'bulwark.bulkhead.orphaned').descriptor.unit).to.equal('{call}');
      expect(value(collected, 'bulwark.bulkhead.orphaned', attributes)).to.equal(0);

      const gate = deferred<string>();
      const calls = [1, 2, 3].map(() => policy.execute(() => gate.promise));
      collected = await collect();
      expect(value(collected, 'bulwark.bulkhead.available', attributes)).to.equal(0);
      expect(value(collected, 'bulwark.bulkhead.queued', attributes)).to.equal(1);

      gate.resolve('done');
      expect(await Promise.all(calls)).to.deep.equal(['done', 'done', 'done']);
      collected = await collect();
      expect(value(collected, 'bulwark.bulkhead.available', attributes)).to.equal(2);
      expect(value(collected, 'bulwark.bulkhead.queued', attributes)).to.equal(0);
    });

    it('reports the tokens left in a rate limiter, refilling with time', async () => {
      const policy = Policy.builder('api').rateLimiter({ maxTokens: 5, refillRate: 1 }).build();
      instrument(policy, { meter: provider.getMeter('test') });
      const attributes = { policy: 'api', stage: 'rate-limiter', primitive: 'rate-limiter' };
      for (let i = 0; i < 3; i++) await policy.execute(() => i);
      let collected = await collect();
      expect(metric(collected, 'bulwark.ratelimiter.tokens').descriptor.unit).to.equal('{token}');
      expect(value(collected, 'bulwark.ratelimiter.tokens', attributes)).to.equal(2);
      clock.tick(2000);
      collected = await collect();
      expect(value(collected, 'bulwark.ratelimiter.tokens', attributes)).to.equal(4);
    });

    it('reports the callers waiting for rate limiter tokens', async () => {
      const policy = Policy.builder('api')
        .rateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '5s' })
        .build();
      instrument(policy, { meter: provider.getMeter('test') });
      const attributes = { policy: 'api', stage: 'rate-limiter', primitive: 'rate-limiter' };
      const calls = [1, 2, 3].map((n) => policy.execute(() => n));
      let collected = await collect();
      expect(metric(collected, 'bulwark.ratelimiter.queued').descriptor.unit).to.equal('{call}');
      expect(value(collected, 'bulwark.ratelimiter.queued', attributes)).to.equal(2);
      await clock.tickAsync(1000);
      collected = await collect();
      expect(value(collected, 'bulwark.ratelimiter.queued', attributes)).to.equal(1);
      await clock.tickAsync(1000);
      expect(await Promise.all(calls)).to.deep.equal([1, 2, 3]);
      collected = await collect();
      expect(value(collected, 'bulwark.ratelimiter.queued', attributes)).to.equal(0);
    });

    it('adds the given attributes to every data point, keeping its own on a clash', async () => {
      const policy = Policy.builder<string>('tagged')
        .fallback({ value: 'v' })
        .bulkhead({ maxConcurrent: 1 })
        .build();
      instrument(policy, {
        meter: provider.getMeter('test'),
        attributes: { service: 'checkout', policy: 'ignored' },
      });
      await policy.execute(() => 'ok');
      await policy.execute(() => Promise.reject(new Boom('x')));
      const collected = await collect();
      let checked = 0;
      for (const m of collected.values()) {
        for (const p of m.dataPoints) {
          expect(p.attributes, m.descriptor.name).to.include({
            service: 'checkout',
            policy: 'tagged',
          });
          checked++;
        }
      }
      // calls x2, call.duration x2, attempt.duration x2, fallbacks, four bulkhead gauges.
      expect(checked).to.equal(11);
    });

    it('stops recording and observing once the returned function is called', async () => {
      let observed = 0;
      const probe: Stage = {
        kind: 'probe',
        execute: (ctx, next) => next(ctx),
        state: () => ({ observed: ++observed }),
      };
      const policy = Policy.builder('stopped').use(probe).bulkhead({ maxConcurrent: 3 }).build();
      const stop = instrument(policy, { meter: provider.getMeter('test') });
      await policy.execute(() => 'ok');
      let collected = await collect();
      expect(value(collected, 'bulwark.calls', { policy: 'stopped', outcome: 'success' })).to.equal(
        1,
      );
      const gauge = { policy: 'stopped', stage: 'bulkhead', primitive: 'bulkhead' };
      expect(value(collected, 'bulwark.bulkhead.available', gauge)).to.equal(3);
      expect(observed).to.equal(1);

      stop();
      stop();
      await policy.execute(() => 'ok');
      await policy.execute(() => Promise.reject(new Boom('x'))).catch(() => undefined);
      const gate = deferred<string>();
      const held = policy.execute(() => gate.promise);
      collected = await collect();
      expect(value(collected, 'bulwark.calls', { policy: 'stopped', outcome: 'success' })).to.equal(
        1,
      );
      expect(pointsOf(collected, 'bulwark.calls', { policy: 'stopped', outcome: 'failure' })).to.be
        .empty;
      // The gauge callback is gone: nothing read the stages again, and the reader only repeats
      // the last value it saw (3), not the 2 slots now free.
      expect(observed).to.equal(1);
      expect(value(collected, 'bulwark.bulkhead.available', gauge)).to.equal(3);
      gate.resolve('done');
      await held;
    });

    it('adds no work to executions before instrument() or after removal', async () => {
      let reads = 0;
      const counting: Clock = {
        now: () => {
          reads++;
          return 0;
        },
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      };
      const policy = Policy.builder('cheap').clock(counting).build();
      const readsPerCall = async (): Promise<number> => {
        const before = reads;
        await policy.execute(() => 'ok');
        return reads - before;
      };
      const bare = await readsPerCall();
      const stop = instrument(policy, { meter: provider.getMeter('test') });
      // Timing the execution's end and its attempt needs clock reads that bare calls skip.
      expect(await readsPerCall()).to.be.greaterThan(bare);
      stop();
      expect(await readsPerCall()).to.equal(bare);
    });

    it('lets two instrumented policies share one meter', async () => {
      const meter = provider.getMeter('test');
      const a = Policy.builder('a').build();
      const b = Policy.builder('b').build();
      instrument(a, { meter });
      instrument(b, { meter });
      await a.execute(() => 1);
      await b.execute(() => 2);
      await b.execute(() => 3);
      const collected = await collect();
      expect(value(collected, 'bulwark.calls', { policy: 'a', outcome: 'success' })).to.equal(1);
      expect(value(collected, 'bulwark.calls', { policy: 'b', outcome: 'success' })).to.equal(2);
    });

    it('records a policy once per meter however often it is instrumented on it', async () => {
      const meter = provider.getMeter('test');
      const policy = Policy.builder('twice').bulkhead({ maxConcurrent: 2 }).build();
      const first = instrument(policy, { meter, attributes: { by: 'first' } });
      const second = instrument(policy, { meter, attributes: { by: 'second' } });
      await policy.execute(() => 1);
      const calls = (by: string): Attributes => ({ by, policy: 'twice', outcome: 'success' });
      const gauge = { policy: 'twice', stage: 'bulkhead', primitive: 'bulkhead' };
      let collected = await collect();
      expect(value(collected, 'bulwark.calls', calls('first'))).to.equal(1);
      expect(histogram(collected, 'bulwark.attempt.duration', calls('first')).count).to.equal(1);
      expect(pointsOf(collected, 'bulwark.calls', calls('second'))).to.be.empty;
      expect(value(collected, 'bulwark.bulkhead.available', { by: 'first', ...gauge })).to.equal(2);
      expect(pointsOf(collected, 'bulwark.bulkhead.available', { by: 'second', ...gauge })).to.be
        .empty;

      // Removing the first hands the policy to the second, which records from then on.
      first();
      first();
      await policy.execute(() => 2);
      collected = await collect();
      expect(value(collected, 'bulwark.calls', calls('first'))).to.equal(1);
      expect(value(collected, 'bulwark.calls', calls('second'))).to.equal(1);
      second();
      await policy.execute(() => 3);
      collected = await collect();
      expect(value(collected, 'bulwark.calls', calls('second'))).to.equal(1);
    });

    it('records a policy once per meter also through a registry that holds it', async () => {
      const meter = provider.getMeter('test');
      const reg = PolicyRegistry.fromConfig({});
      const policy = Policy.builder('both').build();
      reg.register(policy);
      const viaPolicy = instrument(policy, { meter });
      instrument(reg, { meter });
      await policy.execute(() => 1);
      expect(
        value(await collect(), 'bulwark.calls', { policy: 'both', outcome: 'success' }),
      ).to.equal(1);
      // The second call's stop leaves the first recording, and the other way round.
      viaPolicy();
      await policy.execute(() => 2);
      expect(
        value(await collect(), 'bulwark.calls', { policy: 'both', outcome: 'success' }),
      ).to.equal(2);
    });

    it("counts the default meter as the global provider's meter named 'bulwark'", async () => {
      metrics.setGlobalMeterProvider(provider);
      try {
        const policy = Policy.builder('default').build();
        const byDefault = instrument(policy);
        const named = instrument(policy, { meter: metrics.getMeter('bulwark') });
        await policy.execute(() => 1);
        const calls = { policy: 'default', outcome: 'success' };
        expect(value(await collect(), 'bulwark.calls', calls)).to.equal(1);
        // Either one left records alone.
        byDefault();
        await policy.execute(() => 2);
        expect(value(await collect(), 'bulwark.calls', calls)).to.equal(2);
        named();
        instrument(policy, { meter: metrics.getMeter('bulwark') });
        instrument(policy);
        await policy.execute(() => 3);
        expect(value(await collect(), 'bulwark.calls', calls)).to.equal(3);
      } finally {
        metrics.disable();
      }
    });

    it('moves a default meter to a global provider registered later, and records once there', async () => {
      metrics.disable();
      try {
        const policy = Policy.builder('late').build();
        const calls = { policy: 'late', outcome: 'success' };
        // Two calls on the no-op meter, made before any provider: each moves when it next records.
        instrument(policy, { attributes: { by: 'first' } });
        instrument(policy, { attributes: { by: 'second' } });
        await policy.execute(() => 0);
        metrics.setGlobalMeterProvider(provider);
        const named = instrument(policy, { meter: metrics.getMeter('bulwark') });
        await policy.execute(() => 1);
        await policy.execute(() => 2);
        let collected = await collect();
        expect(value(collected, 'bulwark.calls', calls)).to.equal(2);
        expect(pointsOf(collected, 'bulwark.calls', { by: 'first', ...calls })).to.be.empty;
        expect(pointsOf(collected, 'bulwark.calls', { by: 'second', ...calls })).to.be.empty;
        // Removed, the named meter's call hands the policy to the earliest default one.
        named();
        await policy.execute(() => 3);
        collected = await collect();
        expect(value(collected, 'bulwark.calls', calls)).to.equal(2);
        expect(value(collected, 'bulwark.calls', { by: 'first', ...calls })).to.equal(1);
        expect(pointsOf(collected, 'bulwark.calls', { by: 'second', ...calls })).to.be.empty;
      } finally {
        metrics.disable();
      }
    });

    it('records a policy on each of several meters', async () => {
      const policy = Policy.builder('two-meters').build();
      instrument(policy, { meter: provider.getMeter('one') });
      instrument(policy, { meter: provider.getMeter('two') });
      await policy.execute(() => 1);
      const { resourceMetrics } = await reader.collect();
      const counted = resourceMetrics.scopeMetrics.map((scope) => {
        const calls = scope.metrics.find((m) => m.descriptor.name === 'bulwark.calls');
        return [scope.scope.name, calls?.dataPoints.map((p) => p.value)];
      });
      expect(counted).to.deep.equal([
        ['one', [1]],
        ['two', [1]],
      ]);
    });

    it("uses the global provider's meter named 'bulwark' when none is given", async () => {
      metrics.setGlobalMeterProvider(provider);
      try {
        const policy = Policy.builder('global').build();
        const stop = instrument(policy);
        await policy.execute(() => 'ok');
        const { resourceMetrics } = await reader.collect();
        const scopes = resourceMetrics.scopeMetrics.map((s) => s.scope.name);
        expect(scopes).to.deep.equal(['bulwark']);
        stop();
      } finally {
        metrics.disable();
      }
    });

    it('reports to a global provider registered after it was instrumented, gauges too', async () => {
      metrics.disable();
      try {
        const breaker = new CircuitBreaker({ failureThreshold: 5, recoveryTimeout: '10s' });
        const policy = Policy.builder('early').circuitBreaker(breaker).build();
        const gaugeOf = { policy: 'early', stage: 'circuit-breaker', primitive: 'circuit-breaker' };
        const stop = instrument(policy);
        await policy.execute(() => 'before any provider');
        metrics.setGlobalMeterProvider(provider);
        await policy.execute(() => 'ok');
        await policy.execute(() => 'ok');
        let collected = await collect();
        expect(value(collected, 'bulwark.calls', { policy: 'early', outcome: 'success' })).to.equal(
          2,
        );
        expect(value(collected, 'bulwark.circuit.state', gaugeOf)).to.equal(0);
        // Another provider in its place gets the data from then on; the first one no more.
        metrics.disable();
        const other = new TestReader();
        const replaced = new MeterProvider({ readers: [other] });
        metrics.setGlobalMeterProvider(replaced);
        await policy.execute(() => 'ok');
        breaker.isolate();
        collected = await collect();
        expect(value(collected, 'bulwark.calls', { policy: 'early', outcome: 'success' })).to.equal(
          2,
        );
        // The old meter's gauges are no longer observed: an isolated circuit shows on the new one.
        expect(value(collected, 'bulwark.circuit.state', gaugeOf)).to.equal(0);
        const { resourceMetrics } = await other.collect();
        const calls = resourceMetrics.scopeMetrics[0]?.metrics.find(
          (m) => m.descriptor.name === 'bulwark.calls',
        );
        expect(calls?.dataPoints.map((p) => p.value)).to.deep.equal([1]);
        const state = resourceMetrics.scopeMetrics[0]?.metrics.find(
          (m) => m.descriptor.name === 'bulwark.circuit.state',
        );
        expect(state?.dataPoints.map((p) => p.value)).to.deep.equal([3]);
        stop();
        await replaced.shutdown();
      } finally {
        metrics.disable();
      }
    });
  });

  describe('a registry', () => {
    function registry(): PolicyRegistry {
      return PolicyRegistry.fromConfig({
        'rate-limiter': { 'payment-api': { 'max-tokens': 10, 'refill-rate': 2 } },
        'circuit-breaker': { inventory: { 'failure-threshold': 1, 'recovery-timeout': '20s' } },
        policies: {
          pricing: [{ 'rate-limiter': 'payment-api' }, { 'circuit-breaker': 'inventory' }],
        },
      });
    }

    it('records the configured policies and reports named primitives by name', async () => {
      const reg = registry();
      instrument(reg, { meter: provider.getMeter('test'), attributes: { env: 'test' } });
      await reg.policy('pricing').execute(() => 'ok');
      await reg
        .policy('pricing')
        .execute(() => Promise.reject(new Boom('down')))
        .catch(() => undefined);

      const collected = await collect();
      expect(
        value(collected, 'bulwark.calls', { env: 'test', policy: 'pricing', outcome: 'success' }),
      ).to.equal(1);
      expect(
        value(collected, 'bulwark.calls', { env: 'test', policy: 'pricing', outcome: 'failure' }),
      ).to.equal(1);
      // A shared instance is reported through the policy that uses it, with the policy's name.
      expect(
        value(collected, 'bulwark.circuit.state', {
          env: 'test',
          policy: 'pricing',
          stage: 'circuit-breaker',
          primitive: 'inventory',
        }),
      ).to.equal(2);
      // Every data point names its policy: no point stands for a bare shared primitive.
      for (const [name, metric] of collected) {
        for (const point of metric.dataPoints as DataPoint<unknown>[]) {
          expect(point.attributes, name).to.have.property('policy');
        }
      }
    });

    it('picks up policies registered and primitives created after instrument()', async () => {
      const reg = registry();
      instrument(reg, { meter: provider.getMeter('test') });
      const late = Policy.builder('late').bulkhead(reg.bulkhead('pool')).build();
      reg.register(late);
      const gate = deferred<string>();
      const held = late.execute(() => gate.promise);

      const collected = await collect();
      expect(
        value(collected, 'bulwark.bulkhead.available', {
          policy: 'late',
          stage: 'bulkhead',
          primitive: 'bulkhead',
        }),
      ).to.equal(9);
      gate.resolve('done');
      await held;
      const after = await collect();
      expect(value(after, 'bulwark.calls', { policy: 'late', outcome: 'success' })).to.equal(1);
    });

    it('keeps recording a policy a reload removes and configures again, once', async () => {
      const config = {
        bulkhead: { pool: { 'max-concurrent': 3 } },
        policies: { pricing: [{ bulkhead: 'pool' }] },
      };
      const reg = PolicyRegistry.fromConfig(config);
      instrument(reg, { meter: provider.getMeter('test') });
      const pricing = reg.policy('pricing');
      await pricing.execute(() => 'ok');
      for (let i = 0; i < 2; i++) {
        reg.reload({ bulkhead: config.bulkhead, policies: {} });
        reg.reload(config);
      }
      expect(reg.policy('pricing')).to.equal(pricing);
      const gate = deferred<string>();
      const held = pricing.execute(() => gate.promise);

      const running = await collect();
      expect(
        value(running, 'bulwark.bulkhead.available', {
          policy: 'pricing',
          stage: 'bulkhead',
          primitive: 'pool',
        }),
      ).to.equal(2);
      gate.resolve('done');
      await held;
      const after = await collect();
      expect(value(after, 'bulwark.calls', { policy: 'pricing', outcome: 'success' })).to.equal(2);
    });

    it('lets a policy a reload removes go, and records it again once configured again', async () => {
      const config = {
        bulkhead: { pool: { 'max-concurrent': 3 } },
        policies: { pricing: [{ bulkhead: 'pool' }], other: [] },
      };
      const reg = PolicyRegistry.fromConfig(config);
      instrument(reg, { meter: provider.getMeter('test') });
      const pricing = reg.policy('pricing');
      await pricing.execute(() => 'ok');
      reg.reload({ bulkhead: config.bulkhead, policies: { other: [] } });
      // Removed: a handle kept meanwhile is no longer recorded, nor reported.
      await pricing.execute(() => 'ok');
      await reg.policy('other').execute(() => 'ok');
      let collected = await collect();
      const calls = (policy: string): number =>
        value(collected, 'bulwark.calls', { policy, outcome: 'success' });
      expect([calls('pricing'), calls('other')]).to.deep.equal([1, 1]);
      expect(pointsOf(collected, 'bulwark.bulkhead.available', { policy: 'pricing' })).to.be.empty;
      reg.reload(config);
      expect(reg.policy('pricing')).to.equal(pricing);
      await pricing.execute(() => 'ok');
      collected = await collect();
      expect([calls('pricing'), calls('other')]).to.deep.equal([2, 1]);
      const gauge = { policy: 'pricing', stage: 'bulkhead', primitive: 'pool' };
      expect(pointsOf(collected, 'bulwark.bulkhead.available', gauge)).to.have.length(1);
    });

    it('hands a policy a reload removes to another call on the meter that waits for it', async () => {
      const meter = provider.getMeter('test');
      const reg = PolicyRegistry.fromConfig({ policies: { pricing: [] } });
      const pricing = reg.policy('pricing');
      instrument(reg, { meter, attributes: { by: 'registry' } });
      instrument(pricing, { meter, attributes: { by: 'policy' } });
      await pricing.execute(() => 'ok');
      reg.reload({ policies: {} });
      await pricing.execute(() => 'ok');
      reg.reload({ policies: { pricing: [] } });
      await pricing.execute(() => 'ok');
      const collected = await collect();
      const calls = (by: string): number =>
        value(collected, 'bulwark.calls', { by, policy: 'pricing', outcome: 'success' });
      // Each call recorded once: by the registry's call, then, once it let go, by the policy's.
      expect([calls('registry'), calls('policy')]).to.deep.equal([1, 2]);
    });

    it('keeps no policy a reload removed alive', async function () {
      this.timeout(60_000);
      const fixture = fileURLToPath(new URL('../fixtures/instrumentedRetired.js', import.meta.url));
      clock.restore();
      const stdout = await runWithGc(fixture);
      clock = sinon.useFakeTimers();
      expect(JSON.parse(stdout.trim())).to.deep.equal({
        alive: 0,
        names: ['p50'],
        stop: 'function',
      });
    });

    it('stops watching the registry once removed', async () => {
      const reg = registry();
      const stop = instrument(reg, { meter: provider.getMeter('test') });
      stop();
      const late = Policy.builder('late').build();
      reg.register(late);
      await late.execute(() => 'ok');
      await reg.policy('pricing').execute(() => 'ok');
      const collected = await collect();
      expect(collected.get('bulwark.calls')?.dataPoints ?? []).to.be.empty;
      expect(collected.get('bulwark.circuit.state')?.dataPoints ?? []).to.be.empty;
    });
  });

  describe('validation', () => {
    it('rejects a target that is neither a Policy nor a PolicyRegistry', () => {
      expect(() => instrument({} as never)).to.throw(
        TypeError,
        '`target` must be a Policy or a PolicyRegistry, got an object',
      );
      expect(() => instrument(undefined as never)).to.throw(TypeError, 'got undefined');
    });

    it("takes a subclass's registry, and names another copy's registry by its members alone", () => {
      class Named extends PolicyRegistry {}
      expect(instrument(new Named())).to.be.a('function');
      // Another copy's registry whose class a minifier renamed: known by its prototype's member
      // names only, which `instrument` writes out rather than import the class.
      const Renamed = function e() {};
      const proto = Object.create(
        Object.prototype,
        Object.getOwnPropertyDescriptors(PolicyRegistry.prototype),
      ) as object;
      Object.defineProperty(proto, 'constructor', { value: Renamed });
      expect(() => instrument(Object.create(proto) as never)).to.throw(
        TypeError,
        /^`target` must be a Policy or a PolicyRegistry, got a PolicyRegistry of another copy of bulwark$/,
      );
      // An object on this copy's prototype that no constructor made is no registry.
      expect(() => instrument(Object.create(PolicyRegistry.prototype) as never)).to.throw(
        TypeError,
        '`target` must be a Policy or a PolicyRegistry',
      );
    });

    it('rejects unknown options and ill-typed ones', () => {
      const policy = Policy.builder().build();
      expect(() => instrument(policy, { metre: {} } as never)).to.throw(
        TypeError,
        'instrument: unknown option `metre`',
      );
      expect(() => instrument(policy, 'fast' as never)).to.throw(
        TypeError,
        'instrument options must be an object, got "fast"',
      );
      expect(() => instrument(policy, { meter: {} as never })).to.throw(
        TypeError,
        '`meter` must be an OpenTelemetry Meter, got an object',
      );
      expect(() => instrument(policy, { attributes: ['a'] as never })).to.throw(
        TypeError,
        '`attributes` must be an object, got an array',
      );
    });
  });
});
