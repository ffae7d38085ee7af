import { expect } from 'chai';
import { BulkheadFullError, OperationTimeoutError } from '../../src/errors.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { BuiltinStage, stages } from '../../src/pipeline/stages.js';
import { Retry } from '../../src/strategies/retry/Retry.js';

/** A context made by hand, as a user testing a stage would. */
function handContext(): ExecutionContext {
  return {
    policyName: 'hand',
    attempt: 1,
    startedAt: 0,
    deadline: Infinity,
    remaining: Infinity,
    signal: new AbortController().signal,
    data: new Map(),
  };
}

/** Runs `fn` through `chain` (outermost first) by calling each stage's execute by hand. */
function runByHand<T>(
  chain: readonly Stage[],
  fn: (ctx: ExecutionContext) => Promise<T>,
): Promise<T> {
  const at = (i: number, ctx: ExecutionContext): Promise<T> => {
    const stage = chain[i];
    return stage === undefined ? fn(ctx) : stage.execute(ctx, (inner) => at(i + 1, inner));
  };
  return at(0, handContext());
}

/** A thunk that fails `failures` times, recording the attempt number of each call. */
function flaky(failures: number): {
  attempts: number[];
  fn: (ctx: ExecutionContext) => Promise<string>;
} {
  const attempts: number[] = [];
  return {
    attempts,
    fn: async (ctx) => {
      attempts.push(ctx.attempt);
      if (attempts.length <= failures) throw new Error(`failure ${attempts.length}`);
      return 'ok';
    },
  };
}

describe('built-in stages as Stage objects', () => {
  const chain = (): Stage[] => [
    stages.fallback({ value: 'fallback' }),
    stages.retry({ maxAttempts: 3, delay: 0 }),
    stages.timeout('1s'),
  ];

  it('composed by hand, behave as the built policy: a success after two failures', async () => {
    const hand = flaky(2);
    const built = flaky(2);
    const policy = Policy.builder('built').use(chain()[0] as Stage);
    for (const stage of chain().slice(1)) policy.use(stage);
    expect(await runByHand(chain(), hand.fn)).to.equal('ok');
    expect(await policy.build().execute(built.fn)).to.equal('ok');
    expect(hand.attempts).to.deep.equal([1, 2, 3]).and.deep.equal(built.attempts);
  });

  it('composed by hand, behave as the built policy: attempts exhausted, then the fallback', async () => {
    const hand = flaky(5);
    const built = flaky(5);
    const policy = Policy.builder('built')
      .fallback({ value: 'fallback' })
      .retry({ maxAttempts: 3, delay: 0 })
      .timeout('1s')
      .build();
    expect(await runByHand(chain(), hand.fn)).to.equal('fallback');
    expect(await policy.execute(built.fn)).to.equal('fallback');
    expect(hand.attempts).to.deep.equal([1, 2, 3]).and.deep.equal(built.attempts);
  });

  it('by hand, a timeout aborts the signal `next` receives and rejects at the deadline', async () => {
    const timeout = stages.timeout(5);
    let seen: AbortSignal | undefined;
    const error = await timeout
      .execute(handContext(), (ctx) => {
        seen = ctx.signal;
        return new Promise(() => {});
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(OperationTimeoutError);
    expect(seen?.aborted).to.equal(true);
  });

  it('by hand, a full bulkhead refuses as in a policy, sharing the primitive', async () => {
    const bulkhead = stages.bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    let release!: () => void;
    const held = bulkhead.execute(handContext(), () => new Promise<void>((r) => (release = r)));
    const policy = Policy.builder('built').use(bulkhead).build();
    const refused = await policy
      .execute(() => 1)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).to.be.instanceOf(BulkheadFullError);
    expect(bulkhead.state()).to.include({ availableSlots: 0, maxConcurrent: 1 });
    release();
    await held;
    expect(bulkhead.state()).to.include({ availableSlots: 1 });
  });

  it('passes the caller’s data and policy name on to `next`', async () => {
    const ctx = handContext();
    ctx.data.set('user', 'ada');
    let inner: ExecutionContext | undefined;
    await stages.retry({ maxAttempts: 2 }).execute(ctx, async (c) => {
      inner = c;
    });
    expect(inner?.policyName).to.equal('hand');
    expect(inner?.data.get('user')).to.equal('ada');
  });

  it('compile, in builder.use(), to the same steps as the builder methods', () => {
    const retry = new Retry({ maxAttempts: 4, delay: '100ms' });
    const viaUse = Policy.builder('p')
      .use(stages.fallback({ value: null }))
      .use(stages.rateLimiter({ maxTokens: 5, refillRate: 1 }, 'api'))
      .use(stages.bulkhead({ maxConcurrent: 2 }))
      .use(stages.circuitBreaker({ failureThreshold: 3 }))
      .use(stages.retry(retry))
      .use(stages.timeout({ timeout: '2s' }))
      .build();
    const viaMethods = Policy.builder('p')
      .fallback({ value: null })
      .rateLimiter({ maxTokens: 5, refillRate: 1 }, 'api')
      .bulkhead({ maxConcurrent: 2 })
      .circuitBreaker({ failureThreshold: 3 })
      .retry(retry)
      .timeout('2s')
      .build();
    expect(viaUse.describe()).to.equal(viaMethods.describe());
    expect(viaUse.stages).to.deep.equal(viaMethods.stages);
    expect(viaUse.metrics().stages).to.deep.equal(viaMethods.metrics().stages);
  });

  it('validate their options at once and keep the primitive given', () => {
    const retry = new Retry({ maxAttempts: 2 });
    const stage = stages.retry(retry, 'r');
    expect(stage).to.be.instanceOf(BuiltinStage);
    expect(stage).to.include({ kind: 'retry', name: 'r', primitive: retry });
    expect(() => stages.bulkhead({ maxConcurrent: 0 })).to.throw(RangeError, 'maxConcurrent');
    expect(() => stages.retry(new Map() as never)).to.throw(
      TypeError,
      '`options` must be Retry options or a Retry, got an instance of Map',
    );
  });
});

describe('a builder already built', () => {
  it('refuses a stage before making its primitive, so a store given is not consumed', () => {
    const builder = Policy.builder('p');
    builder.build();
    let configured = 0;
    const store = {
      configure: () => void configured++,
      tryAcquire: () => true,
      acquire: () => true,
      release: () => {},
      inUse: () => 0,
    };
    expect(() => builder.bulkhead({ maxConcurrent: 1, store: store as never })).to.throw(
      Error,
      'already built',
    );
    expect(() => builder.retry({ maxAttempts: 0 })).to.throw(Error, 'already built');
    expect(configured).to.equal(0);
  });
});
