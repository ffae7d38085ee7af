// A hedged attempt started because one failed starts in the next turn (it yields, as a retry
// does): the failed attempt's work, aborted, has settled by then and given back what it held, so
// a bulkhead inside the hedge admits the next attempt instead of refusing it.
import { expect } from 'chai';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Hedge } from '../../../src/strategies/hedge/Hedge.js';
import { ManualClock } from '../../support/clock.js';
import { settle } from '../../support/promises.js';

/** Work that takes `ms` on `clock` and stops at once, rejecting, when its signal aborts. */
const work = (clock: ManualClock, ms: number) => (ctx: ExecutionContext) =>
  new Promise<string>((resolve, reject) => {
    const t = clock.setTimeout(() => resolve(`done by attempt ${ctx.attempt}`), ms);
    ctx.signal.addEventListener(
      'abort',
      () => {
        clock.clearTimeout(t);
        reject(ctx.signal.reason as Error);
      },
      { once: true },
    );
  });

describe('hedge on failure > bulkhead(1) > timeout', () => {
  for (const delay of ['on-failure', 1000] as const) {
    it(`admits the next attempt once the timed-out one gave its slot back (delay: ${delay})`, async () => {
      const clock = new ManualClock();
      const policy = Policy.builder('h')
        .hedge({ maxHedges: 1, delay, clock })
        .bulkhead({ maxConcurrent: 1, maxQueue: 0 })
        .timeout({ timeout: 20, clock })
        .build();
      const rejected: string[] = [];
      const hedges: string[] = [];
      policy.on('rejected', (e) => rejected.push(e.reason));
      policy.on('hedge', (e) => hedges.push(e.reason));
      const result = settle(policy.execute((ctx) => work(clock, ctx.attempt === 1 ? 100 : 1)(ctx)));
      await clock.advance(50);
      expect(rejected).to.deep.equal([]);
      expect(hedges).to.deep.equal(['failure']);
      expect(result).to.deep.equal({ status: 'fulfilled', value: 'done by attempt 2' });
      expect(policy.metrics().stages[1]).to.deep.include({ availableSlots: 1, orphaned: 0 });
      expect(clock.pending()).to.equal(0);
    });
  }
});

describe('Hedge standalone, on failure', () => {
  it('starts the next attempt in the next turn, once the failed one is done', async () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer expected' });
    const hedge = new Hedge({ maxHedges: 2, delay: 'on-failure', clock });
    const attempts: number[] = [];
    const result = settle(
      hedge.execute(async (_signal, attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error(`attempt ${attempt}`);
        return 'third';
      }),
    );
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(attempts, 'no attempt within the same turn').to.deep.equal([1]);
    await clock.advance(0);
    expect(attempts).to.deep.equal([1, 2, 3]);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'third' });
  });

  it("starts none once the caller's abort came during the yield", async () => {
    const hedge = new Hedge({ maxHedges: 1, delay: 'on-failure' });
    const controller = new AbortController();
    const attempts: number[] = [];
    const result = settle(
      hedge.execute(async (_signal, attempt) => {
        attempts.push(attempt);
        throw new Error('no');
      }, controller.signal),
    );
    for (let i = 0; i < 10; i++) await Promise.resolve();
    controller.abort('gone');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(attempts).to.deep.equal([1]);
    expect(result).to.deep.equal({ status: 'rejected', reason: 'gone' });
    expect(hedge.running).to.equal(0);
  });
});

// An attempt that fails at once (it throws synchronously, or an inner stage refuses it in the same
// turn) has scheduled the next attempt before the hedge sets its delay: the delay must wait for
// that attempt, not start yet another one.
describe('Hedge, an attempt that fails synchronously', () => {
  /** Runs a call whose attempts in `failing` throw at once and the others take 50 ms. */
  async function attemptsRun(maxHedges: number, failing: readonly number[]): Promise<number[]> {
    const clock = new ManualClock();
    const hedge = new Hedge({ maxHedges, delay: 10, clock });
    const attempts: number[] = [];
    const result = settle(
      hedge.execute((_signal, attempt) => {
        attempts.push(attempt);
        if (failing.includes(attempt)) throw new Error(`attempt ${attempt} fails at once`);
        return new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 50));
      }),
    );
    await clock.advance(200);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(hedge.hedges).to.equal(attempts.length - 1);
    expect(hedge.running).to.equal(0);
    expect(clock.pending()).to.equal(0);
    return attempts;
  }

  it('runs at most 1 + maxHedges attempts when the first throws synchronously', async () => {
    expect(await attemptsRun(1, [1])).to.deep.equal([1, 2]);
    expect(await attemptsRun(2, [1])).to.deep.equal([1, 2, 3]);
  });

  it('runs at most 1 + maxHedges attempts when a hedged one throws synchronously', async () => {
    expect(await attemptsRun(2, [2])).to.deep.equal([1, 2, 3]);
    expect(await attemptsRun(3, [2, 3])).to.deep.equal([1, 2, 3, 4]);
  });

  it('sets the delay from the attempt that replaced the failed one', async () => {
    const clock = new ManualClock();
    const hedge = new Hedge({ maxHedges: 2, delay: 10, clock });
    const started: [number, number][] = [];
    void hedge.execute((_signal, attempt) => {
      started.push([attempt, clock.now()]);
      if (attempt === 1) throw new Error('at once');
      return new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 50));
    });
    await clock.advance(5);
    expect(started).to.deep.equal([
      [1, 0],
      [2, 0],
    ]);
    await clock.advance(100);
    expect(started).to.deep.equal([
      [1, 0],
      [2, 0],
      [3, 10],
    ]);
  });

  it('in a policy: a chaos fault on the first attempt leaves one hedged attempt for maxHedges 1', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('drill')
      .hedge({ maxHedges: 1, delay: 10, clock })
      .chaos({ fault: { rate: 1 }, enabled: (ctx) => ctx.attempt === 1 })
      .build();
    const attempts: number[] = [];
    const result = settle(
      policy.execute((ctx) => {
        attempts.push(ctx.attempt);
        return new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 50));
      }),
    );
    await clock.advance(200);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(attempts).to.deep.equal([2]);
    expect(policy.metrics().stages[0]).to.deep.include({ hedges: 1, running: 0 });
    expect(clock.pending()).to.equal(0);
  });

  it('in a policy: the work throwing synchronously on the first attempt, for maxHedges 1', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('h').hedge({ maxHedges: 1, delay: 10, clock }).build();
    const attempts: number[] = [];
    const result = settle(
      policy.execute((ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new Error('at once');
        return new Promise<string>((resolve) => clock.setTimeout(() => resolve('ok'), 50));
      }),
    );
    await clock.advance(200);
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'ok' });
    expect(attempts).to.deep.equal([1, 2]);
  });
});

// A result whose `then` cannot be read is an attempt that failed with what reading it threw, as
// in a policy: the attempt ends (it no longer counts as running) and the next one may start.
describe('Hedge standalone, a result whose `then` throws', () => {
  const unreadable = (error: Error): object =>
    Object.defineProperty({}, 'then', {
      get() {
        throw error;
      },
    });

  const turns = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('fails the attempt with what reading `then` threw, and ends it', async () => {
    const error = new Error('no then');
    const hedge = new Hedge({ maxHedges: 1, delay: 'on-failure' });
    const result = settle(hedge.execute(() => unreadable(error)));
    await turns();
    expect(result).to.deep.equal({ status: 'rejected', reason: error });
    expect(hedge.running).to.equal(0);
  });

  it('hedges on failure after it', async () => {
    const hedge = new Hedge({ maxHedges: 1, delay: 'on-failure' });
    const result = settle(
      hedge.execute((_signal, attempt) => (attempt === 1 ? unreadable(new Error('no')) : 'second')),
    );
    await turns();
    expect(result).to.deep.equal({ status: 'fulfilled', value: 'second' });
    expect(hedge.running).to.equal(0);
  });
});
