// `bulwark.attempt.duration` (and the `attempt` event it comes from): an attempt ends when the
// policy stops waiting for it (a deadline, the caller's abort, a hedged attempt that lost), not
// when its work settles later, and it is recorded once.
import type { Attributes } from '@opentelemetry/api';
import {
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { OperationTimeoutError } from '../../src/errors.js';
import { instrument } from '../../src/otel/index.js';
import type { PolicyEventMap } from '../../src/pipeline/events.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { ManualClock } from '../support/clock.js';

/** A pull reader: `collect()` gathers whatever the instruments hold right now. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

class Boom extends Error {}

type Attempt = PolicyEventMap['attempt'];

let clock: ManualClock;

/** Work that settles after `ms` (with `value`, or rejects with it when it is an Error). */
function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve, reject) =>
    clock.setTimeout(() => (value instanceof Error ? reject(value) : resolve(value)), ms),
  );
}

/** A builder on the manual clock. */
const builder = (name: string) => Policy.builder(name).clock(clock);

describe('attempt durations', () => {
  let reader: TestReader;
  let provider: MeterProvider;

  /** `[count, sum]` of `bulwark.attempt.duration` by outcome, `[0, 0]` for none. */
  async function attempts(policy: string): Promise<Record<'success' | 'failure', number[]>> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).to.deep.equal([]);
    const points: Array<DataPoint<Histogram>> = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        if (m.descriptor.name === 'bulwark.attempt.duration') {
          points.push(...(m.dataPoints as Array<DataPoint<Histogram>>));
        }
      }
    }
    const of = (outcome: string): number[] => {
      const found = points.filter((p) => sameAttributes(p.attributes, { policy, outcome }));
      expect(found.length, outcome).to.be.at.most(1);
      const h = found[0]?.value;
      return h === undefined ? [0, 0] : [h.count, h.sum ?? 0];
    };
    return { success: of('success'), failure: of('failure') };
  }

  function sameAttributes(a: Attributes, b: Attributes): boolean {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
  }

  /** Instruments `policy` and records its `attempt` events as they come, with the time. */
  function watch(policy: Policy<unknown, unknown>): Array<Attempt & { at: number }> {
    instrument(policy, { meter: provider.getMeter('test') });
    const seen: Array<Attempt & { at: number }> = [];
    policy.on('attempt', (e) => seen.push({ ...e, at: clock.now() }));
    return seen;
  }

  beforeEach(() => {
    clock = new ManualClock(0);
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
  });
  afterEach(async () => {
    await provider.shutdown();
  });

  it('end at the deadline, failed with the timeout, and are not recorded again when the work settles later', async () => {
    const policy = builder('p').timeout(100).build();
    const seen = watch(policy);
    const call = policy.execute(() => after(300, 'late')).catch((e: unknown) => e);
    await clock.advance(100);
    const error = await call;
    expect(error).to.be.instanceOf(OperationTimeoutError);
    expect(seen).to.deep.equal([{ policy: 'p', attempt: 1, durationMs: 100, error, at: 100 }]);
    expect(await attempts('p')).to.deep.equal({ success: [0, 0], failure: [1, 100] });
    await clock.advance(200);
    expect(seen).to.have.length(1);
    expect(await attempts('p')).to.deep.equal({ success: [0, 0], failure: [1, 100] });
  });

  it('end at the deadline also for work that never settles', async () => {
    const policy = builder('p').timeout(50).build();
    const seen = watch(policy);
    const call = policy.execute(() => new Promise(() => {})).catch((e: unknown) => e);
    await clock.advance(50);
    expect(await call).to.be.instanceOf(OperationTimeoutError);
    expect(seen.map((e) => [e.durationMs, e.at])).to.deep.equal([[50, 50]]);
    expect(await attempts('p')).to.deep.equal({ success: [0, 0], failure: [1, 50] });
  });

  it('each end once under a retry outside the timeout: the timed-out one at its deadline', async () => {
    const policy = builder('p').retry({ maxAttempts: 2, delay: 0 }).timeout(100).build();
    const seen = watch(policy);
    let n = 0;
    const call = policy.execute(() => (++n === 1 ? after(500, 'late') : after(30, 'ok')));
    await clock.advance(200);
    expect(await call).to.equal('ok');
    await clock.advance(500);
    expect(seen.map((e) => [e.attempt, e.durationMs, e.error !== undefined])).to.deep.equal([
      [1, 100, true],
      [2, 30, false],
    ]);
    expect(seen[0]?.error).to.be.instanceOf(OperationTimeoutError);
    expect(await attempts('p')).to.deep.equal({ success: [1, 30], failure: [1, 100] });
  });

  it('under a retry inside the timeout, the attempt running at the deadline ends then', async () => {
    const policy = builder('p').timeout(250).retry({ maxAttempts: 5, delay: 0 }).build();
    const seen = watch(policy);
    const call = policy.execute(() => after(100, new Boom())).catch((e: unknown) => e);
    await clock.advance(250);
    expect(await call).to.be.instanceOf(OperationTimeoutError);
    await clock.advance(1000);
    expect(seen.map((e) => [e.attempt, e.durationMs, e.at])).to.deep.equal([
      [1, 100, 100],
      [2, 100, 200],
      [3, 50, 250],
    ]);
    expect(seen[2]?.error).to.be.instanceOf(OperationTimeoutError);
    expect(await attempts('p')).to.deep.equal({ success: [0, 0], failure: [3, 250] });
  });

  it("end at the caller's abort, failed with its reason", async () => {
    for (const policy of [
      builder('plain').build(),
      builder('timed').timeout(1000).build(),
      builder('cooperative').timeout({ timeout: 1000, mode: 'cooperative' }).build(),
    ]) {
      const seen = watch(policy);
      const controller = new AbortController();
      const reason = new Boom('gave up');
      const call = policy
        .execute(() => after(300, 'late'), { signal: controller.signal })
        .catch((e: unknown) => e);
      await clock.advance(40);
      controller.abort(reason);
      expect(await call, policy.name).to.equal(reason);
      await clock.advance(300);
      expect(seen, policy.name).to.deep.equal([
        { policy: policy.name, attempt: 1, durationMs: 40, error: reason, at: clock.now() - 300 },
      ]);
      expect(await attempts(policy.name)).to.deep.equal({ success: [0, 0], failure: [1, 40] });
    }
  });

  it('of a hedged attempt that lost end when another answers, failed with the reason it was cancelled', async () => {
    const policy = builder('p').hedge({ delay: 50 }).build();
    const seen = watch(policy);
    let n = 0;
    const call = policy.execute(() => (++n === 1 ? after(200, 'slow') : after(20, 'fast')));
    await clock.advance(70);
    expect(await call).to.equal('fast');
    await clock.advance(200);
    // The winner settles first, and its answer cancels the loser.
    expect(seen.map((e) => [e.attempt, e.durationMs, e.at])).to.deep.equal([
      [2, 20, 70],
      [1, 70, 70],
    ]);
    expect(seen[0]).not.to.have.property('error');
    expect(seen[1]?.error).to.be.instanceOf(DOMException);
    expect((seen[1]?.error as DOMException).name).to.equal('AbortError');
    expect(await attempts('p')).to.deep.equal({ success: [1, 20], failure: [1, 70] });
  });

  it('of a hedged attempt that lost under its own timeout end once, at the cancel', async () => {
    const policy = builder('p').hedge({ delay: 50 }).timeout(1000).build();
    const seen = watch(policy);
    let n = 0;
    const call = policy.execute(() => (++n === 1 ? after(200, 'slow') : after(20, 'fast')));
    await clock.advance(70);
    expect(await call).to.equal('fast');
    await clock.advance(2000);
    expect(seen.map((e) => [e.attempt, e.durationMs])).to.deep.equal([
      [2, 20],
      [1, 70],
    ]);
    expect(await attempts('p')).to.deep.equal({ success: [1, 20], failure: [1, 70] });
  });

  it("end when a custom stage fails the call while the work runs, with the stage's error", async () => {
    const cutoff: Stage = {
      kind: 'cutoff',
      execute(ctx, next) {
        return Promise.race([
          next(ctx),
          new Promise<never>((_, reject) =>
            clock.setTimeout(() => reject(new Boom('cut off')), 60),
          ),
        ]);
      },
    };
    const policy = builder('p').use(cutoff).build();
    const seen = watch(policy);
    const call = policy.execute(() => after(300, 'late')).catch((e: unknown) => e);
    await clock.advance(60);
    const error = await call;
    expect(error).to.be.instanceOf(Boom);
    await clock.advance(300);
    expect(seen).to.deep.equal([{ policy: 'p', attempt: 1, durationMs: 60, error, at: 60 }]);
  });

  it('end when a custom stage inside a retry fails the attempt while the work runs', async () => {
    const cutoff: Stage = {
      kind: 'cutoff',
      execute(ctx, next) {
        return Promise.race([
          next(ctx),
          new Promise<never>((_, reject) =>
            clock.setTimeout(() => reject(new Boom('cut off')), 60),
          ),
        ]);
      },
    };
    const policy = builder('p').retry({ maxAttempts: 2, delay: 0 }).use(cutoff).build();
    const seen = watch(policy);
    let n = 0;
    const call = policy.execute(() => (++n === 1 ? after(300, 'late') : after(10, 'ok')));
    await clock.advance(100);
    expect(await call).to.equal('ok');
    await clock.advance(300);
    expect(seen.map((e) => [e.attempt, e.durationMs, e.at, e.error instanceof Boom])).to.deep.equal(
      [
        [1, 60, 60, true],
        [2, 10, 70, false],
      ],
    );
    expect(await attempts('p')).to.deep.equal({ success: [1, 10], failure: [1, 60] });
  });

  it('in cooperative mode end when the work settles: the policy waits for it', async () => {
    const policy = builder('p').timeout({ timeout: 100, mode: 'cooperative' }).build();
    const seen = watch(policy);
    const call = policy.execute(() => after(150, 'done'));
    await clock.advance(150);
    expect(await call).to.equal('done');
    expect(seen.map((e) => [e.durationMs, 'error' in e])).to.deep.equal([[150, false]]);
    expect(await attempts('p')).to.deep.equal({ success: [1, 150], failure: [0, 0] });
  });
});
