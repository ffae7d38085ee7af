// The adaptive limit rules of docs/CONTRACT.md (R-AL-*), checked against the built package.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import {
  AdaptiveLimit,
  Bulkhead,
  Policy,
  PolicyRegistry,
  bulkhead,
  fallback,
  timeLimiter,
} from 'bulwark';
import { deferred, flush, rejectionOf } from '../support/promises.js';

describe('contract: AdaptiveLimit', () => {
  it('R-AL-1: `limit` is a number (as `maxConcurrent`, not both) or an AdaptiveLimit read as maxConcurrent', async () => {
    expect(new Bulkhead({ limit: 4 }).maxConcurrent).to.equal(4);
    expect(() => new Bulkhead({ limit: 4, maxConcurrent: 4 })).to.throw(TypeError, '`limit`');
    const clock = new ManualClock();
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 2, window: 10, minSamples: 2 });
    const bulkhead = new Bulkhead({ limit, maxQueue: 5, clock });
    const policy = Policy.builder('p').bulkhead(bulkhead).build();
    expect(policy.metrics().stages[0]).to.deep.include({ maxConcurrent: 2 });
    const works = [1, 2, 3].map(() => deferred<void>());
    const calls = works.map((w) => policy.execute(() => w.promise).catch(() => 'failed'));
    expect(bulkhead.queued).to.equal(1);
    await clock.advance(10);
    works[0]?.reject(new Error('down'));
    works[1]?.reject(new Error('down'));
    await clock.advance(0);
    // Two failures: 2 x 0.9 -> 1; the freed slots do not go past the limit.
    expect(bulkhead.maxConcurrent).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(0);
    works[2]?.resolve();
    expect(await Promise.all(calls)).to.deep.equal(['failed', 'failed', undefined]);
  });

  it('R-AL-2: the limit moves once per window, counting a deadline answered first as a failure', async () => {
    const clock = new ManualClock();
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 10, window: 100, minSamples: 1 });
    const policy = Policy.builder('p').bulkhead({ limit }).timeout(150).clock(clock).build();
    const work = deferred<void>();
    const answered = rejectionOf(policy.execute(() => work.promise));
    await clock.advance(150); // the builder's clock runs the timeout too
    await answered;
    expect(limit.limit).to.equal(10);
    work.resolve();
    await clock.advance(0);
    expect(limit.limit).to.equal(9);
  });

  it("R-AL-2: a call called off, by its caller's abort or as a hedge's losing attempt, is no sample", async () => {
    const clock = new ManualClock();
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 2, window: 1, minSamples: 1 });
    const cancellable = (ctx: { signal: AbortSignal }, ms: number) =>
      new Promise<string>((resolve, reject) => {
        const timer = clock.setTimeout(() => resolve('ok'), ms);
        ctx.signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
    const hedged = Policy.builder<string>('h')
      .hedge({ delay: 0 })
      .bulkhead({ limit })
      .clock(clock)
      .build();
    const call = hedged.execute((ctx) => cancellable(ctx, ctx.attempt === 1 ? 20 : 10));
    await clock.advance(10);
    expect(await call).to.equal('ok');
    await clock.advance(0);
    // The winner (2 of 2 in flight) raised the limit; the aborted loser did not lower it.
    expect(limit.limit).to.equal(3);
    const caller = new AbortController();
    const own = new AdaptiveLimit({ algorithm: 'aimd', initial: 2, window: 1, minSamples: 1 });
    const aborted = Policy.builder<string>('a').bulkhead({ limit: own }).clock(clock).build();
    const gone = rejectionOf(
      aborted.execute((ctx) => cancellable(ctx, 50), { signal: caller.signal }),
    );
    await clock.advance(10);
    caller.abort(new Error('gone'));
    await gone;
    await clock.advance(0);
    // A failure would have taken it to 1 (2 x 0.9).
    expect(own.limit).to.equal(2);
  });

  it('R-AL-2: a stacked `bulkhead` decorator and `execute` learn by the same rule', async () => {
    const clock = new ManualClock();
    const aimd = (): AdaptiveLimit =>
      new AdaptiveLimit({ algorithm: 'aimd', initial: 2, window: 1, minSamples: 1 });
    const work = deferred<string>();
    // A deadline inside that a fallback answered: a success, once the work settles.
    const inside = aimd();
    const recovered = bulkhead(new Bulkhead({ limit: inside, clock }))(
      fallback({ value: 'spare' })(timeLimiter({ timeout: 50, clock })(() => work.promise)),
    );
    // A deadline outside that answered first: a failure, though the work then succeeds.
    const outside = aimd();
    const timed = timeLimiter({ timeout: 50, clock })(
      bulkhead(new Bulkhead({ limit: outside, clock }))(() => work.promise),
    );
    // The caller's abort: no sample.
    const own = aimd();
    const caller = new AbortController();
    const aborted = new Bulkhead({ limit: own, clock }).execute(() => work.promise, caller.signal);
    const answers = Promise.all([recovered(), rejectionOf(timed()), rejectionOf(aborted)]);
    await clock.advance(50);
    caller.abort(new Error('gone'));
    const [value, timeout, gone] = await answers;
    expect([value, (timeout as Error).name, (gone as Error).message]).to.deep.equal([
      'spare',
      'OperationTimeoutError',
      'gone',
    ]);
    work.resolve('late');
    await flush();
    await clock.advance(0);
    expect([inside.limit, outside.limit, own.limit]).to.deep.equal([3, 1, 2]);
  });

  it('R-AL-3: aimd adds one while latency holds and multiplies by backoffRatio when it grows', () => {
    // `longWindow` 1: no warm-up past the first window, the long-run latency its 10 ms.
    const settings = { initial: 10, window: 1, minSamples: 1, longWindow: 1 };
    const limit = new AdaptiveLimit({ algorithm: 'aimd', ...settings });
    limit.sample(10, 10, 10, false);
    expect(limit.limit).to.equal(11);
    limit.sample(100, 16, 11, false); // 1.6 x the long-run 10 ms
    expect(limit.limit).to.equal(9);
    const g = new AdaptiveLimit({ ...settings, smoothing: 1 });
    g.sample(10, 10, 10, false);
    expect(g.limit).to.equal(13); // 10 x 1 + sqrt(10)
    g.sample(100, 60, 13, false); // gradient 1.5 x 10 / 60 held to 0.5
    expect(g.limit).to.equal(Math.floor(13.16227766 * 0.5 + Math.sqrt(13.16227766)));
  });

  it('R-AL-3: the long-run latency is a plain average of every window of the warm-up, then of the windows no slower, and of as many slower ones within tolerance', () => {
    // `longWindow` 5: a warm-up of (5 + 1) / 2 = 3 windows, then 2 / (5 + 1) of the way.
    const limit = new AdaptiveLimit({ algorithm: 'aimd', window: 1, minSamples: 1, longWindow: 5 });
    for (const [at, rtt] of [
      [10, 16], // a cold start
      [100, 10],
      [200, 31], // slower, but in the warm-up: averaged in
    ]) {
      limit.sample(at as number, rtt as number, limit.limit, false);
    }
    expect(limit.baselineMs).to.equal(19); // (16 + 10 + 31) / 3
    limit.sample(300, 40, limit.limit, false); // slower, past the warm-up: not averaged in
    expect(limit.baselineMs).to.equal(19);
    limit.sample(400, 10, limit.limit, false);
    expect(limit.baselineMs).to.equal(16);
    // Slower, within 1.5 x 16: averaged in against the faster window before it, once.
    limit.sample(500, 22, limit.limit, false);
    expect(limit.baselineMs).to.equal(18);
    limit.sample(600, 22, limit.limit, false);
    expect(limit.baselineMs).to.equal(18);
  });

  it('R-AL-4: one bulkhead per limit; configuration gives its options', () => {
    const limit = new AdaptiveLimit();
    new Bulkhead({ limit });
    expect(() => new Bulkhead({ limit })).to.throw(Error, 'already serves a Bulkhead');
    const registry = PolicyRegistry.fromConfig({
      bulkhead: { db: { limit: { algorithm: 'aimd', initial: 5 } } },
    });
    expect(registry.bulkhead('db').maxConcurrent).to.equal(5);
  });

  it('R-AL-5: an error `recordOn` does not match is no sample; a deadline answered first still fails', async () => {
    class NotFound extends Error {}
    const clock = new ManualClock();
    const settings = { algorithm: 'aimd', initial: 10, window: 1, minSamples: 1 } as const;
    const limit = new AdaptiveLimit({ ...settings, recordOn: (e) => !(e instanceof NotFound) });
    const pool = new Bulkhead({ limit, clock });
    const policy = Policy.builder('p').timeout(50).bulkhead(pool).clock(clock).build();
    for (const run of [
      (fn: () => Promise<void>) => pool.execute(fn),
      (fn: () => Promise<void>) => policy.execute(fn),
    ]) {
      const work = deferred<void>();
      const call = rejectionOf(run(() => work.promise));
      await clock.advance(10);
      work.reject(new NotFound());
      expect(await call).to.be.instanceOf(NotFound);
      expect(limit.limit).to.equal(10);
    }
    const late = deferred<void>();
    const call = rejectionOf(policy.execute(() => late.promise));
    await clock.advance(50);
    await call;
    late.reject(new NotFound());
    await clock.advance(0);
    expect(limit.limit).to.equal(9);
    expect(() => new AdaptiveLimit({ recordOn: 'NotFound' as never })).to.throw(
      TypeError,
      '`recordOn`',
    );
    expect(() =>
      PolicyRegistry.fromConfig({ bulkhead: { db: { limit: { 'record-on': ['NotFound'] } } } }),
    ).to.throw(TypeError, 'the option `limit.record-on` cannot come from configuration');
  });
});
