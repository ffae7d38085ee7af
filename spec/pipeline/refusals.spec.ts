// Refusals made in the caller's turn (an open circuit, a full bulkhead, an empty rate limiter): their stack starts at the
// frame that called bulwark, with no frame of bulwark's own, and every refusal is a new error.
import { expect } from 'chai';
import { BulkheadFullError, CircuitOpenError, RateLimitExceededError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../support/clock.js';
import { deferred, rejectionOf } from '../support/promises.js';

/** The stack's lines after the header, trimmed. */
function frames(error: unknown): string[] {
  const stack = (error as Error).stack ?? '';
  return stack
    .split('\n')
    .slice(1)
    .map((line) => line.trim());
}

function expectCallerFirst(error: unknown, caller: string, header: string): void {
  const stack = (error as Error).stack ?? '';
  expect(stack.split('\n')[0]).to.equal(header);
  const lines = frames(error);
  expect(lines[0], stack).to.match(new RegExp(`^at ${caller} `));
  expect(
    lines.filter((line) => /[/\\]src[/\\]/.test(line)),
    'no frame of bulwark itself',
  ).to.deep.equal([]);
}

function isolated(): CircuitBreaker {
  const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock() });
  breaker.isolate();
  return breaker;
}

function full(): Bulkhead {
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
  void bulkhead.execute(() => deferred<void>().promise);
  return bulkhead;
}

function empty(): RateLimiter {
  const limiter = new RateLimiter({ maxTokens: 1, refillRate: 0.01, clock: new ManualClock() });
  limiter.tryAcquire();
  return limiter;
}

const OPEN = 'CircuitOpenError: Circuit breaker is open';
const FULL = 'BulkheadFullError: Bulkhead at capacity (1 concurrent calls)';
const LIMITED = 'RateLimitExceededError: Rate limit exceeded';

describe('Refusal stacks', () => {
  it("start an open circuit's refusal through policy.execute at the caller's frame", async () => {
    const policy = Policy.builder('p')
      .fallback({ value: 0, on: () => false })
      .circuitBreaker(isolated())
      .build();
    function callsTheOpenPolicy(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    const error = await rejectionOf(callsTheOpenPolicy());
    expect(error).to.be.instanceOf(CircuitOpenError);
    expectCallerFirst(error, 'callsTheOpenPolicy', OPEN);
  });

  it("start a full bulkhead's refusal through policy.execute at the caller's frame", async () => {
    const policy = Policy.builder('p')
      .fallback({ value: 0, on: () => false })
      .bulkhead(full())
      .build();
    function callsTheFullPolicy(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    const error = await rejectionOf(callsTheFullPolicy());
    expect(error).to.be.instanceOf(BulkheadFullError);
    expectCallerFirst(error, 'callsTheFullPolicy', FULL);
  });

  it("start an empty rate limiter's refusal through policy.execute at the caller's frame", async () => {
    const policy = Policy.builder('p')
      .fallback({ value: 0, on: () => false })
      .rateLimiter(empty())
      .build();
    function callsTheLimitedPolicy(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    const error = await rejectionOf(callsTheLimitedPolicy());
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expectCallerFirst(error, 'callsTheLimitedPolicy', LIMITED);
    expect(policy.metrics().rejections.rateLimit).to.equal(1);
  });

  it("start a refusal through a wrapped function at the wrapper's caller, not the wrapper", async () => {
    const wrapped = Policy.builder('p')
      .circuitBreaker(isolated())
      .build()
      .wrap(() => 'never run');
    function callsTheWrapper(): Promise<unknown> {
      return wrapped();
    }
    expectCallerFirst(await rejectionOf(callsTheWrapper()), 'callsTheWrapper', OPEN);
  });

  it("start a refusal through a registry's policy at the caller of its execute, or of a wrapper of it", async () => {
    const registry = PolicyRegistry.fromConfig({
      policies: { tight: [{ bulkhead: { maxConcurrent: 1 } }] },
    });
    const tight = registry.policy('tight');
    void tight.execute(() => deferred<void>().promise);
    function callsTheHandle(): Promise<unknown> {
      return tight.execute(() => 'never run');
    }
    expectCallerFirst(await rejectionOf(callsTheHandle()), 'callsTheHandle', FULL);
    // With a caller's signal (the steps), and through a wrapper of the handle.
    function callsWithASignal(): Promise<unknown> {
      return tight.execute(() => 'never run', { signal: new AbortController().signal });
    }
    expectCallerFirst(await rejectionOf(callsWithASignal()), 'callsWithASignal', FULL);
    const wrapped = tight.wrap(() => 'never run');
    function callsTheWrapper(): Promise<unknown> {
      return wrapped();
    }
    expectCallerFirst(await rejectionOf(callsTheWrapper()), 'callsTheWrapper', FULL);
    // A thunk that declares the context still gets the start read at execute, not at first use.
    const clock = new ManualClock();
    const free = PolicyRegistry.fromConfig(
      { policies: { free: [{ bulkhead: {} }] } },
      { clock },
    ).policy('free');
    const late = deferred<void>();
    let started = NaN;
    const call = free.execute(async (ctx) => {
      await late.promise;
      started = ctx.startedAt;
    });
    const at = clock.now();
    clock.tick(1_000);
    late.resolve();
    await call;
    expect(started).to.equal(at);
  });

  it("start the standalone primitives' refusals at the caller of execute", async () => {
    const breaker = isolated();
    const bulkhead = full();
    function callsTheBreaker(): Promise<unknown> {
      return breaker.execute(() => 'never run');
    }
    function callsTheBulkhead(): Promise<unknown> {
      return bulkhead.execute(() => 'never run');
    }
    const limiter = empty();
    function callsTheLimiter(): Promise<unknown> {
      return limiter.execute(() => 'never run');
    }
    function acquiresFromTheLimiter(): Promise<unknown> {
      return limiter.acquire();
    }
    function callsBeforeCall(): unknown {
      try {
        return breaker.beforeCall();
      } catch (error) {
        return error;
      }
    }
    expectCallerFirst(await rejectionOf(callsTheBreaker()), 'callsTheBreaker', OPEN);
    expectCallerFirst(await rejectionOf(callsTheBulkhead()), 'callsTheBulkhead', FULL);
    expectCallerFirst(callsBeforeCall(), 'callsBeforeCall', OPEN);
    expectCallerFirst(await rejectionOf(callsTheLimiter()), 'callsTheLimiter', LIMITED);
    expectCallerFirst(
      await rejectionOf(acquiresFromTheLimiter()),
      'acquiresFromTheLimiter',
      LIMITED,
    );
  });

  it('make every refusal a new error carrying its own caller', async () => {
    const policy = Policy.builder('p').circuitBreaker(isolated()).build();
    function firstCaller(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    function secondCaller(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    const first = await rejectionOf(firstCaller());
    const second = await rejectionOf(secondCaller());
    expect(first).to.not.equal(second);
    expectCallerFirst(first, 'firstCaller', OPEN);
    expectCallerFirst(second, 'secondCaller', OPEN);
  });

  it('keep the stack depth the host allows, and a stack with no frames when it allows none', async () => {
    const policy = Policy.builder('p').circuitBreaker(isolated()).build();
    function depthOuter(): Promise<unknown> {
      return depthInner();
    }
    function depthInner(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    const limit = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = 0;
      const bare = await rejectionOf(policy.execute(() => 'never run'));
      expect((bare as Error).stack).to.equal(OPEN);
      Error.stackTraceLimit = 2;
      const two = await rejectionOf(depthOuter());
      expect(frames(two).map((line) => line.split(' ')[1])).to.deep.equal([
        'depthInner',
        'depthOuter',
      ]);
    } finally {
      Error.stackTraceLimit = limit;
    }
    expect(Error.stackTraceLimit, 'the limit is left as it was').to.equal(limit);
  });

  it('refuse as usual when the host forbids writing Error.stackTraceLimit (a frozen Error)', async () => {
    const policy = Policy.builder('p').bulkhead(full()).circuitBreaker(isolated()).build();
    const reasons: string[] = [];
    policy.on('rejected', (e) => reasons.push(e.reason));
    function callsUnderAFrozenError(): Promise<unknown> {
      return policy.execute(() => 'never run');
    }
    const limit = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!;
    // What `Object.freeze(Error)`, `node --frozen-intrinsics` or SES's `lockdown()` leave.
    Object.defineProperty(Error, 'stackTraceLimit', { ...limit, writable: false });
    let refused: unknown;
    let open: unknown;
    let limited: unknown;
    try {
      refused = await rejectionOf(callsUnderAFrozenError());
      open = await rejectionOf(isolated().execute(() => 'never run'));
      limited = await rejectionOf(empty().execute(() => 'never run'));
    } finally {
      Object.defineProperty(Error, 'stackTraceLimit', limit);
    }
    expect(refused).to.be.instanceOf(BulkheadFullError);
    expectCallerFirst(refused, 'callsUnderAFrozenError', FULL);
    expect(open).to.be.instanceOf(CircuitOpenError);
    expect(limited).to.be.instanceOf(RateLimitExceededError);
    expect(reasons).to.deep.equal(['bulkhead']);
    expect(policy.metrics().rejections.bulkhead).to.equal(1);
  });

  it('leave no Error.stackTraceLimit behind where the host had none', async () => {
    const policy = Policy.builder('p').circuitBreaker(isolated()).build();
    const limit = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!;
    let error: unknown;
    let left: boolean;
    Reflect.deleteProperty(Error, 'stackTraceLimit');
    try {
      error = await rejectionOf(policy.execute(() => 'never run'));
      left = Object.hasOwn(Error, 'stackTraceLimit');
    } finally {
      Object.defineProperty(Error, 'stackTraceLimit', limit);
    }
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect(left, 'no own stackTraceLimit was added').to.equal(false);
  });

  it('keep a stack for a refusal decided after the caller has gone (a queued wait that ran out)', async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: 10, clock });
    void bulkhead.execute(() => deferred<void>().promise);
    const policy = Policy.builder('p').bulkhead(bulkhead).build();
    const settled = rejectionOf(policy.execute(() => 'never run'));
    await clock.advance(10);
    const error = await settled;
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect((error as Error).stack?.split('\n')[0]).to.equal(
      'BulkheadFullError: Bulkhead at capacity (1 concurrent calls)',
    );
  });
});
