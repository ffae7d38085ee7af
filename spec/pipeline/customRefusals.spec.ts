// A custom stage that refuses a call or times it out itself is reported as a built-in stage of
// that sort would be, under its own kind; what came out of its `next` is not its own.
import { expect } from 'chai';
import {
  BulkheadFullError,
  CircuitOpenError,
  OperationTimeoutError,
  RateLimitExceededError,
} from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { PolicyEventMap } from '../../src/pipeline/events.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../support/clock.js';

type Seen = Array<[string, Record<string, unknown>]>;

/** Everything `policy` reports as `rejected` or `timeout`, in order. */
function watch(policy: Policy<unknown, unknown>): Seen {
  const seen: Seen = [];
  policy.on('rejected', (e: PolicyEventMap['rejected']) => seen.push(['rejected', { ...e }]));
  policy.on('timeout', (e: PolicyEventMap['timeout']) => seen.push(['timeout', { ...e }]));
  return seen;
}

/** A stage that fails every call with `error` without calling `next`. */
function refusing(kind: string, error: () => unknown, sync = false): Stage {
  return {
    kind,
    execute() {
      if (sync) throw error();
      return Promise.reject(error());
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** An error of bulwark's as another copy of the package makes it: its brand and code only. */
function foreign(code: string, fields: Record<string, unknown> = {}): Error {
  const error = Object.assign(new Error(code), { code, ...fields });
  Object.defineProperty(error, Symbol.for('bulwark.ResilienceError'), { value: true });
  return error;
}

describe('a custom stage that refuses a call itself', () => {
  it('is reported as a `rejected` event under its own kind and counted, for each refusal', async () => {
    const errors = [
      new RateLimitExceededError(100),
      new BulkheadFullError(2, 0),
      new CircuitOpenError('open', 500),
    ];
    const policy = Policy.builder('p')
      .use(refusing('quota', () => errors[0]))
      .build();
    const seen = watch(policy);
    expect(await failureOf(policy.execute(() => 1))).to.equal(errors[0]);
    for (const [i, sync] of [
      [1, true],
      [2, false],
    ] as const) {
      const other = Policy.builder('q')
        .use(refusing(`shed-${i}`, () => errors[i], sync))
        .build();
      const otherSeen = watch(other);
      expect(await failureOf(other.execute(() => 1))).to.equal(errors[i]);
      seen.push(...otherSeen);
      expect(other.metrics().rejections).to.deep.equal(
        i === 1
          ? { rateLimit: 0, bulkhead: 1, circuitOpen: 0 }
          : { rateLimit: 0, bulkhead: 0, circuitOpen: 1 },
      );
    }
    expect(seen).to.deep.equal([
      ['rejected', { policy: 'p', stage: 'quota', reason: 'rate-limit', error: errors[0] }],
      ['rejected', { policy: 'q', stage: 'shed-1', reason: 'bulkhead', error: errors[1] }],
      ['rejected', { policy: 'q', stage: 'shed-2', reason: 'circuit-open', error: errors[2] }],
    ]);
    expect(policy.metrics().rejections).to.deep.equal({
      rateLimit: 1,
      bulkhead: 0,
      circuitOpen: 0,
    });
    expect(policy.metrics().failures).to.equal(1);
  });

  it('that times a call out itself is reported as a `timeout` event and counted', async () => {
    const clock = new ManualClock(0);
    const deadline: Stage = {
      kind: 'my-deadline',
      execute(ctx, next) {
        return new Promise((resolve, reject) => {
          clock.setTimeout(() => reject(new OperationTimeoutError(250, 'work')), 250);
          next(ctx).then(resolve, reject);
        });
      },
    };
    const policy = Policy.builder('p').clock(clock).use(deadline).build();
    const seen = watch(policy);
    const call = failureOf(policy.execute(() => new Promise(() => {})));
    await clock.advance(250);
    expect(await call).to.be.instanceOf(OperationTimeoutError);
    expect(seen).to.deep.equal([
      ['timeout', { policy: 'p', stage: 'my-deadline', timeoutMs: 250 }],
    ]);
    expect(policy.metrics().timeouts).to.equal(1);
  });

  it("recognises another copy's errors by their guards", async () => {
    const policy = Policy.builder('p')
      .use(refusing('a', () => foreign('RATE_LIMITED')))
      .build();
    const seen = watch(policy);
    await failureOf(policy.execute(() => 1));
    const timing = Policy.builder('t')
      .use(refusing('b', () => foreign('TIMEOUT', { timeoutMs: 40 })))
      .build();
    const timingSeen = watch(timing);
    await failureOf(timing.execute(() => 1));
    seen.push(...timingSeen);
    expect(seen.map(([event, e]) => [event, e.stage, e.reason ?? e.timeoutMs])).to.deep.equal([
      ['rejected', 'a', 'rate-limit'],
      ['timeout', 'b', 40],
    ]);
    expect(policy.metrics().rejections.rateLimit).to.equal(1);
    expect(timing.metrics().timeouts).to.equal(1);
  });

  it('reports nothing for other errors, nor for a store error of its own', async () => {
    for (const error of [new Error('no'), foreign('STORE_UNAVAILABLE'), 'a string']) {
      const policy = Policy.builder('p')
        .use(refusing('a', () => error))
        .build();
      const seen = watch(policy);
      expect(await failureOf(policy.execute(() => 1))).to.equal(error);
      expect(seen).to.deep.equal([]);
      expect(policy.metrics()).to.deep.include({
        rejections: { rateLimit: 0, bulkhead: 0, circuitOpen: 0 },
        timeouts: 0,
        failures: 1,
      });
    }
  });
});

describe('a custom stage passing on what came out of its `next`', () => {
  // Its own promise rejects with what `next`'s did.
  const passing = (kind: string): Stage => ({
    kind,
    async execute(ctx, next) {
      return await next(ctx);
    },
  });

  it("does not report an inner stage's refusal again", async () => {
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1 });
    limiter.tryAcquire();
    const policy = Policy.builder('p').use(passing('outer')).rateLimiter(limiter).build();
    const seen = watch(policy);
    const error = await failureOf(policy.execute(() => 1));
    expect(seen).to.deep.equal([
      ['rejected', { policy: 'p', stage: 'rate-limiter', reason: 'rate-limit', error }],
    ]);
    expect(policy.metrics().rejections.rateLimit).to.equal(1);
  });

  it("does not report an inner custom stage's refusal again: it is reported once, as the inner one's", async () => {
    const policy = Policy.builder('p')
      .use(passing('outer'))
      .use(refusing('inner', () => new BulkheadFullError(1, 0)))
      .build();
    const seen = watch(policy);
    await failureOf(policy.execute(() => 1));
    expect(seen.map(([event, e]) => [event, e.stage])).to.deep.equal([['rejected', 'inner']]);
    expect(policy.metrics().rejections.bulkhead).to.equal(1);
  });

  it("does not report the work's own refusal or timeout: they are the user's errors", async () => {
    const policy = Policy.builder('p').use(passing('outer')).build();
    const seen = watch(policy);
    await failureOf(policy.execute(() => Promise.reject(new CircuitOpenError('open', 1))));
    await failureOf(policy.execute(() => Promise.reject(new OperationTimeoutError(5))));
    expect(seen).to.deep.equal([]);
    expect(policy.metrics()).to.deep.include({
      rejections: { rateLimit: 0, bulkhead: 0, circuitOpen: 0 },
      timeouts: 0,
    });
  });

  it("does not report an enclosing timeout's error it rejects with from its signal", async () => {
    const clock = new ManualClock(0);
    const racing: Stage = {
      kind: 'racing',
      execute(ctx, next) {
        return new Promise((resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
          next(ctx).then(resolve, reject);
        });
      },
    };
    const policy = Policy.builder('p')
      .clock(clock)
      .timeout({ timeout: 100, clock, mode: 'cooperative' })
      .use(racing)
      .build();
    const seen = watch(policy);
    const call = failureOf(policy.execute(() => new Promise(() => {})));
    await clock.advance(100);
    expect(await call).to.be.instanceOf(OperationTimeoutError);
    expect(seen.map(([event, e]) => [event, e.stage])).to.deep.equal([['timeout', 'timeout']]);
    expect(policy.metrics().timeouts).to.equal(1);
  });
});

describe('a custom stage that fails a call the policy no longer waits for', () => {
  it('is not reported when an outer deadline already answered', async () => {
    const clock = new ManualClock();
    const late: Stage = {
      kind: 'slow-guard',
      execute: () =>
        new Promise((_resolve, reject) => {
          clock.setTimeout(() => reject(new OperationTimeoutError(80, 'slow-guard')), 80);
        }),
    };
    const policy = Policy.builder('p')
      .clock(clock)
      .timeout({ timeout: 40, clock })
      .use(late)
      .build();
    const seen = watch(policy);
    const call = failureOf(policy.execute(() => 'never'));
    await clock.advance(40);
    expect(await call)
      .to.be.instanceOf(OperationTimeoutError)
      .that.includes({ timeoutMs: 40 });
    await clock.advance(40);
    expect(seen.map(([event, e]) => [event, e.stage])).to.deep.equal([['timeout', 'timeout']]);
    expect(policy.metrics()).to.include({ timeouts: 1 });
  });

  it('never breaks the call on a branded error whose fields cannot be read', async () => {
    const hostile = foreign('RATE_LIMITED');
    Object.defineProperty(hostile, 'code', {
      get() {
        throw new Error('no code for you');
      },
    });
    const policy = Policy.builder('p')
      .use(refusing('odd', () => hostile))
      .build();
    expect(await failureOf(policy.execute(() => 1))).to.equal(hostile);
  });
});
