// An adaptive limit's `recordOn`: the errors that mean overload. A healthy dependency (5 ms at
// any concurrency) whose callers get a steady share of fast application errors (a 404) is driven
// by a closed loop of clients through a bulkhead, on the manual clock, by each way a slot is held.
import { expect } from 'chai';
import { bulkhead as bulkheadDecorator, timeLimiter } from '../../../src/decorators/index.js';
import { OperationTimeoutError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import {
  AdaptiveLimit,
  type AdaptiveAlgorithm,
} from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import type {
  BulkheadStore,
  BulkheadStoreConfig,
  BulkheadTicket,
} from '../../../src/strategies/bulkhead/store.js';
import type { ErrorFilter } from '../../../src/internal/validate.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf, thrownBy } from '../../support/promises.js';

class NotFound extends Error {
  readonly status = 404;
}

const CLIENTS = 40;

/**
 * A store that decides elsewhere, as a shared (Redis) one does: each acquisition is answered a
 * turn later, and counted from then.
 */
class SharedLikeStore implements BulkheadStore {
  max = 0;
  used = 0;
  configure(config: BulkheadStoreConfig): void {
    this.max = config.maxConcurrent;
  }
  tryAcquire(): false {
    return false;
  }
  acquire(): Promise<false | BulkheadTicket> {
    return Promise.resolve().then(() => {
      if (this.used >= this.max) return false;
      this.used++;
      return true;
    });
  }
  release(): void {
    this.used--;
  }
  inUse(): number {
    return this.used;
  }
}

type Via =
  'execute' | 'execute with a signal' | 'a policy' | 'a stacked decorator' | 'a shared store';
const VIAS: readonly Via[] = [
  'execute',
  'execute with a signal',
  'a policy',
  'a stacked decorator',
  'a shared store',
];

/**
 * Runs 40 clients for 2 s (20 windows of 100 ms) against the dependency, every `every`-th call
 * failing with a NotFound (none with 0); returns the limit at the end, which starts at 20.
 */
async function drive(
  algorithm: AdaptiveAlgorithm,
  every: number,
  via: Via,
  recordOn?: ErrorFilter,
): Promise<number> {
  const clock = new ManualClock(0);
  const limit = new AdaptiveLimit({
    algorithm,
    min: 5,
    max: 200,
    initial: 20,
    window: 100,
    recordOn,
  });
  const options = { limit, maxQueue: CLIENTS, clock };
  let run: (fn: () => Promise<void>) => Promise<void>;
  if (via === 'a policy') {
    const policy = Policy.builder('p').bulkhead({ limit, maxQueue: CLIENTS }).clock(clock).build();
    run = (fn) => policy.execute(fn);
  } else if (via === 'a stacked decorator') {
    const pool = new Bulkhead(options);
    const wrap = (fn: () => Promise<void>) =>
      bulkheadDecorator(pool)(timeLimiter({ timeout: 1000, clock })(fn));
    run = (fn) => wrap(fn)();
  } else {
    const pool = new Bulkhead(
      via === 'a shared store' ? { ...options, store: new SharedLikeStore() } : options,
    );
    const signal = via === 'execute with a signal' ? new AbortController().signal : undefined;
    run = (fn) => pool.execute(fn, signal);
  }
  let calls = 0;
  let stop = false;
  const call = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const fails = every > 0 && ++calls % every === 0;
      clock.setTimeout(() => (fails ? reject(new NotFound('Not Found')) : resolve()), 5);
    });
  const client = async (): Promise<void> => {
    while (!stop) await run(call).catch(() => undefined);
  };
  const clients = Array.from({ length: CLIENTS }, client);
  await clock.advance(2000);
  const reached = limit.limit;
  stop = true;
  await clock.advance(1000);
  await Promise.all(clients);
  return reached;
}

const overload: ErrorFilter = (error) => !(error instanceof NotFound);

describe('AdaptiveLimit recordOn: only the errors that mean overload bring the limit down', function () {
  this.timeout(60_000);

  for (const algorithm of ['aimd', 'gradient2'] as const) {
    for (const via of VIAS) {
      it(`${algorithm} through ${via}: 5% errors recordOn leaves out are no sample; every error counts by default`, async () => {
        const clean = await drive(algorithm, 0, via);
        // With no errors at all the limit rises from 20 (40 clients keep it full).
        expect(clean).to.be.greaterThan(25);
        expect(await drive(algorithm, 20, via, overload)).to.equal(clean);
        expect(await drive(algorithm, 20, via, [TypeError])).to.equal(clean);
        // Counted (the default, or a filter that matches them), they hold it low.
        const counted = await drive(algorithm, 20, via);
        // 'aimd' falls to `min` (41 without errors); 'gradient2' rises more slowly (31, 36 without).
        if (algorithm === 'aimd') expect(counted).to.equal(5);
        else expect(counted).to.be.at.most(clean - 5);
        expect(await drive(algorithm, 20, via, [NotFound])).to.equal(counted);
      });
    }
  }

  it('a deadline that answered first is a failure whatever error the work then ends with', async () => {
    const clock = new ManualClock();
    const limit = new AdaptiveLimit({
      algorithm: 'aimd',
      initial: 10,
      window: 1,
      minSamples: 1,
      recordOn: overload,
    });
    const policy = Policy.builder('p').timeout(50).bulkhead({ limit }).clock(clock).build();
    const work = deferred<void>();
    const call = rejectionOf(policy.execute(() => work.promise));
    await clock.advance(50);
    expect(await call).to.be.instanceOf(OperationTimeoutError);
    work.reject(new NotFound());
    await clock.advance(0);
    expect(limit.limit).to.equal(9);
  });

  it('an error recordOn leaves out is no sample: a window needs minSamples counted calls', async () => {
    const clock = new ManualClock();
    const limit = new AdaptiveLimit({
      algorithm: 'aimd',
      initial: 2,
      window: 1,
      minSamples: 2,
      recordOn: overload,
    });
    const pool = new Bulkhead({ limit, clock });
    const fail = (): Promise<never> => Promise.reject(new NotFound());
    for (let i = 0; i < 3; i++) await pool.execute(fail).catch(() => undefined);
    await clock.advance(10);
    // Three calls ended, none a sample: one success is the window's first, the next moves it.
    await pool.execute(() => 'ok');
    await pool.execute(fail).catch(() => undefined);
    expect(limit.limit).to.equal(2);
    await clock.advance(10);
    await pool.execute(() => 'ok');
    expect(limit.limit).to.equal(3);
    // A thrown error and a failure of another kind are counted: 3 x 0.9.
    await pool
      .execute(() => {
        throw new Error('refused');
      })
      .catch(() => undefined);
    await clock.advance(10);
    await pool.execute(() => Promise.reject(new Error('reset'))).catch(() => undefined);
    expect(limit.limit).to.equal(2);
  });

  it('a predicate that throws, or answers a promise, cannot say no: the error counts', async () => {
    for (const recordOn of [
      () => {
        throw new Error('predicate broke');
      },
      () => Promise.resolve(false) as unknown as boolean,
    ]) {
      const clock = new ManualClock();
      const limit = new AdaptiveLimit({
        algorithm: 'aimd',
        initial: 10,
        window: 1,
        minSamples: 1,
        recordOn,
      });
      const pool = new Bulkhead({ limit, clock });
      const work = deferred<void>();
      const call = rejectionOf(pool.execute(() => work.promise));
      await clock.advance(10);
      work.reject(new NotFound());
      // The caller gets the call's own error.
      expect(await call).to.be.instanceOf(NotFound);
      expect(limit.limit).to.equal(9);
    }
  });

  it('is validated at construction as a breaker filter is, naming `recordOn` and the value', () => {
    expect(() => new AdaptiveLimit({ recordOn: 'NotFound' as never })).to.throw(
      TypeError,
      '`recordOn` must be an array of error classes or a predicate, got "NotFound"',
    );
    expect(() => new AdaptiveLimit({ recordOn: [NotFound, 404] as never })).to.throw(
      TypeError,
      '`recordOn` must be an array of error classes or a predicate, got 404 at index 1',
    );
    expect(() => new AdaptiveLimit({ recordOn: (async () => true) as never })).to.throw(
      TypeError,
      '`recordOn` must return a boolean synchronously',
    );
    expect(thrownBy(() => new AdaptiveLimit({ recordOn: 1 as never }))).to.include({
      option: 'recordOn',
      received: 1,
    });
  });

  it('cannot come from configuration: it is code', () => {
    const error = thrownBy(() =>
      PolicyRegistry.fromConfig({ bulkhead: { db: { limit: { 'record-on': ['NotFound'] } } } }),
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal(
      'resilience.bulkhead.db.limit.record-on: the option `limit.record-on` cannot come from ' +
        'configuration (it is code, not data); build that policy with Policy.builder() and ' +
        'register it',
    );
  });
});
