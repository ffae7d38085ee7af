// Properties of the token bucket under random traffic: waiting and impatient callers, tryAcquire,
// aborts of queued callers and clock advances, on a hand-made clock.
import { expect } from 'chai';
import fc from 'fast-check';
import { RateLimitExceededError } from '../../src/errors.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../support/clock.js';
import { fcParams, flush } from './support.js';

interface Config {
  readonly maxTokens: number;
  readonly refillRate: number;
  readonly maxWaitMs: number;
}

type Op =
  | { readonly t: 'acquire'; readonly permits: number; readonly abortable: boolean }
  | { readonly t: 'try'; readonly permits: number }
  | { readonly t: 'abort'; readonly pick: number }
  | { readonly t: 'advance'; readonly ms: number };

const configArb: fc.Arbitrary<Config> = fc.record({
  maxTokens: fc.constantFrom(1, 2, 3, 5, 8, 2.5),
  refillRate: fc.constantFrom(0.5, 1, 2, 3, 10, 40, 250),
  maxWaitMs: fc.constantFrom(0, 50, 400, 3000, Infinity),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('acquire' as const),
      permits: fc.integer({ min: 1, max: 8 }),
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('try' as const),
      permits: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('abort' as const), pick: fc.nat({ max: 7 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 1500 }),
    }),
  },
);

interface Grant {
  readonly at: number;
  readonly permits: number;
}

interface Waiter {
  readonly index: number;
  readonly enqueuedAt: number;
  readonly controller: AbortController | undefined;
  aborted: boolean;
  granted: boolean;
}

const EPSILON = 1e-9;
// Timers fire on whole milliseconds, rounded up (never early): a waiter due at 333.3 ms is served
// at 334, one due at 666.7 at 667, so served times can sit up to 1 ms closer together than the
// times their tokens arrived. The bound allows that 1 ms of refill and nothing more.
const TIMER_GRANULARITY_MS = 1;

async function check(config: Config, ops: readonly Op[]): Promise<void> {
  const clock = new ManualClock(10_000);
  const limiter = new RateLimiter({
    maxTokens: config.maxTokens,
    refillRate: config.refillRate,
    maxWait: config.maxWaitMs,
    clock,
  });
  const grants: Grant[] = [];
  const served: number[] = [];
  const waiting: Waiter[] = [];
  let nextIndex = 0;

  for (let step = 0; step < ops.length; step++) {
    const op = ops[step] as Op;
    // Permits above maxTokens are a RangeError (covered elsewhere); keep requests servable.
    const permits = 'permits' in op ? Math.min(op.permits, Math.floor(config.maxTokens)) : 0;
    switch (op.t) {
      case 'acquire': {
        const controller = op.abortable ? new AbortController() : undefined;
        const waiter: Waiter = {
          index: nextIndex++,
          enqueuedAt: clock.now(),
          controller,
          aborted: false,
          granted: false,
        };
        limiter.acquire(permits, controller?.signal).then(
          () => {
            waiter.granted = true;
            grants.push({ at: clock.now(), permits });
            served.push(waiter.index);
            // A queued caller is served within the wait it was promised, which is <= maxWait
            // (plus the 1 ms the timer is rounded up by).
            expect(clock.now() - waiter.enqueuedAt, 'waited longer than maxWait').to.be.at.most(
              config.maxWaitMs + 1,
            );
          },
          (error: unknown) => {
            if (waiter.aborted) return;
            expect(error, `step ${step}`).to.be.instanceOf(RateLimitExceededError);
            // Refused only when the tokens could not arrive within maxWait.
            expect((error as RateLimitExceededError).retryAfterMs).to.be.greaterThan(
              config.maxWaitMs,
            );
          },
        );
        await flush();
        if (!waiter.granted) waiting.push(waiter);
        break;
      }
      case 'try': {
        const before = limiter.availableTokens;
        const queued = limiter.queued;
        const ok = limiter.tryAcquire(permits);
        // Nobody jumps the queue, and nobody is refused while enough tokens sit idle.
        if (queued > 0) expect(ok, `step ${step}: tryAcquire past a queue`).to.equal(false);
        else expect(ok, `step ${step}: tryAcquire`).to.equal(before >= permits);
        if (ok) grants.push({ at: clock.now(), permits });
        break;
      }
      case 'abort': {
        const live = waiting.filter((w) => !w.granted && !w.aborted && w.controller !== undefined);
        const waiter = live[op.pick % Math.max(1, live.length)];
        if (waiter !== undefined) {
          waiter.aborted = true;
          waiter.controller?.abort(new Error('gave up'));
          await flush();
        }
        break;
      }
      case 'advance':
        await clock.advance(op.ms);
        break;
    }
    const tokens = limiter.availableTokens;
    expect(tokens, `step ${step}: tokens`).to.be.at.most(config.maxTokens);
    expect(tokens, `step ${step}: tokens`).to.be.at.least(0);
  }
  // Serve whoever still waits (an infinite maxWait could leave some), then judge the history.
  await clock.advance(60 * 60 * 1000);

  // FIFO: callers that had to wait are served in the order they arrived.
  const queued = new Set(waiting.map((w) => w.index));
  const order = served.filter((i) => queued.has(i));
  expect(order, 'service order').to.deep.equal([...order].sort((a, b) => a - b));
  // Over any interval [a, b]: permits granted <= maxTokens + refillRate * (b - a).
  grants.sort((x, y) => x.at - y.at);
  for (let i = 0; i < grants.length; i++) {
    let sum = 0;
    for (let j = i; j < grants.length; j++) {
      const g = grants[j] as Grant;
      sum += g.permits;
      const first = grants[i] as Grant;
      const bound =
        config.maxTokens + (config.refillRate * (g.at - first.at + TIMER_GRANULARITY_MS)) / 1000;
      if (sum > bound + EPSILON) {
        expect.fail(
          `${sum} permits granted in [${first.at}, ${g.at}], more than the bound ${bound}`,
        );
      }
    }
  }
}

describe('RateLimiter (properties)', () => {
  it('admits at most maxTokens + refillRate * t over any interval, serves its queue in order, and never holds more than maxTokens', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { minLength: 5, maxLength: 30, size: 'max' }),
        check,
      ),
      fcParams(),
    );
  });
});
