// What an adaptive limit learns from a call whose slot is held by a bulkhead decorator (over
// another wrapper, or under a time limiter's deadline) is what it learns from the same stages in
// a policy: each case runs a stack of decorators and the policy of the same stages side by side.
import { expect } from 'chai';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  retry,
  timeLimiter,
  usePolicy,
} from '../../../src/decorators/index.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, settle, type Deferred } from '../../support/promises.js';

// One call in flight of a limit of 2: a success raises it to 3, a failure lowers it to 1.
const aimd = (): AdaptiveLimit =>
  new AdaptiveLimit({ algorithm: 'aimd', initial: 2, window: 1, minSamples: 1 });

describe('An adaptive limit under a bulkhead decorator learns as under a policy', () => {
  let clock: ManualClock;
  let works: Array<Deferred<string>>;
  const fn = (): Promise<string> => (works[works.length] = deferred<string>()).promise;

  beforeEach(() => {
    clock = new ManualClock();
    works = [];
  });

  /** Ends every call's work (after its caller was answered) and lets the slots come back. */
  async function endWork(): Promise<void> {
    for (const work of works) work.resolve('late');
    await flush();
    await clock.advance(0);
  }

  it('a deadline inside that a fallback answered is a success once the work settles', async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const wrapped = bulkhead(pool)(
      fallback({ value: 'spare' })(timeLimiter({ timeout: 50, clock })(fn)),
    );
    const policyLimit = aimd();
    const policy = Policy.builder<string>('p')
      .bulkhead({ limit: policyLimit })
      .fallback({ value: 'spare' })
      .timeout(50)
      .clock(clock)
      .build();
    const answers = [settle(wrapped()), settle(policy.execute(fn))];
    await clock.advance(50);
    expect(answers.map((a) => a.value)).to.deep.equal(['spare', 'spare']);
    expect(pool.orphaned).to.equal(1);
    await endWork();
    expect([limit.limit, policyLimit.limit]).to.deep.equal([3, 3]);
    expect([pool.orphaned, pool.availableSlots]).to.deep.equal([0, 3]);
  });

  it("the caller's abort, handed down by a policy outside, teaches nothing", async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const outer = Policy.builder('outer').clock(clock).build();
    const wrapped = usePolicy(outer, { signal: (signal: AbortSignal) => signal })(
      bulkhead(pool)(timeLimiter({ timeout: 1000, clock })(fn)),
    );
    const policyLimit = aimd();
    const policy = Policy.builder<string>('p')
      .bulkhead({ limit: policyLimit })
      .timeout(1000)
      .clock(clock)
      .build();
    const caller = new AbortController();
    const answers = [
      settle(wrapped(caller.signal)),
      settle(policy.execute(fn, { signal: caller.signal })),
    ];
    await clock.advance(10);
    caller.abort(new Error('gone'));
    await flush();
    expect(answers.map((a) => (a.reason as Error).message)).to.deep.equal(['gone', 'gone']);
    await endWork();
    expect([limit.limit, policyLimit.limit]).to.deep.equal([2, 2]);
    expect([pool.orphaned, pool.availableSlots]).to.deep.equal([0, 2]);
  });

  it('a deadline outside that answered first is a failure, though the work then succeeds', async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const wrapped = timeLimiter({ timeout: 50, clock })(bulkhead(pool)(fn));
    const policyLimit = aimd();
    const policy = Policy.builder<string>('p')
      .timeout(50)
      .bulkhead({ limit: policyLimit })
      .clock(clock)
      .build();
    const answers = [settle(wrapped()), settle(policy.execute(fn))];
    await clock.advance(50);
    expect(answers.map((a) => (a.reason as Error).name)).to.deep.equal([
      'OperationTimeoutError',
      'OperationTimeoutError',
    ]);
    await endWork();
    expect([limit.limit, policyLimit.limit]).to.deep.equal([1, 1]);
    expect([pool.orphaned, pool.availableSlots]).to.deep.equal([0, 1]);
  });

  it('a deadline outside, over a wrapper inside, is a failure too', async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const wrapped = timeLimiter({ timeout: 50, clock })(
      bulkhead(pool)(timeLimiter({ timeout: 1000, clock })(fn)),
    );
    const policyLimit = aimd();
    const policy = Policy.builder<string>('p')
      .timeout(50)
      .bulkhead({ limit: policyLimit })
      .timeout(1000)
      .clock(clock)
      .build();
    const answers = [settle(wrapped()), settle(policy.execute(fn))];
    await clock.advance(50);
    expect(answers.map((a) => (a.reason as Error).name)).to.deep.equal([
      'OperationTimeoutError',
      'OperationTimeoutError',
    ]);
    expect(pool.orphaned).to.equal(1);
    await endWork();
    expect([limit.limit, policyLimit.limit]).to.deep.equal([1, 1]);
    expect([pool.orphaned, pool.availableSlots]).to.deep.equal([0, 1]);
  });

  it('a cooperative deadline outside answers nobody: work that then succeeds is a success', async () => {
    const limits = [aimd(), aimd(), aimd()];
    const pools = limits.map((limit) => new Bulkhead({ limit, clock }));
    const cooperative = { timeout: 50, mode: 'cooperative', clock } as const;
    const stacked = timeLimiter(cooperative)(
      bulkhead(pools[0]!)(retry({ maxAttempts: 1, clock })(fn)),
    );
    const timeoutOnly = Policy.builder('t').timeout(cooperative).clock(clock).build();
    const underPolicy = usePolicy(timeoutOnly)(
      bulkhead(pools[1]!)(retry({ maxAttempts: 1, clock })(fn)),
    );
    const policy = Policy.builder<string>('p')
      .timeout(cooperative)
      .bulkhead(pools[2]!)
      .retry({ maxAttempts: 1 })
      .clock(clock)
      .build();
    const answers = [settle(stacked()), settle(underPolicy()), settle(policy.execute(fn))];
    await clock.advance(50);
    // The deadline aborted each call's signal; the callers wait for the work.
    expect(answers.map((a) => a.status)).to.deep.equal(['pending', 'pending', 'pending']);
    await endWork();
    expect(answers.map((a) => a.value)).to.deep.equal(['late', 'late', 'late']);
    expect(limits.map((limit) => limit.limit)).to.deep.equal([3, 3, 3]);
  });

  it("a deadline that passes a cooperative deadline's abort on answers its caller: a failure", async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const cooperative = { timeout: 50, mode: 'cooperative', clock } as const;
    const wrapped = timeLimiter(cooperative)(
      timeLimiter({ timeout: 1000, clock })(bulkhead(pool)(retry({ maxAttempts: 1, clock })(fn))),
    );
    const policyLimit = aimd();
    const policy = Policy.builder<string>('p')
      .timeout(cooperative)
      .timeout(1000)
      .bulkhead({ limit: policyLimit })
      .clock(clock)
      .build();
    // The work reads its signal: the deadline inside then hears the cooperative one outside.
    const listening = (ctx: ExecutionContext): Promise<string> => {
      ctx.signal.throwIfAborted();
      return fn();
    };
    const answers = [settle(wrapped()), settle(policy.execute(listening))];
    await clock.advance(50);
    expect(answers.map((a) => (a.reason as Error).name)).to.deep.equal([
      'OperationTimeoutError',
      'OperationTimeoutError',
    ]);
    await endWork();
    expect([limit.limit, policyLimit.limit]).to.deep.equal([1, 1]);
  });

  it("a cooperative deadline's abort that a wrapper between answers at once is a failure", async () => {
    const limits = [aimd(), aimd()];
    const pools = limits.map((limit) => new Bulkhead({ limit, clock }));
    const cooperative = { timeout: 50, mode: 'cooperative', clock } as const;
    const plain = Policy.builder('plain').clock(clock).build();
    const wrapped = [
      // A policy rejects at its caller's abort; so does a primitive's `execute`.
      timeLimiter(cooperative)(
        usePolicy(plain)(bulkhead(pools[0]!)(retry({ maxAttempts: 1, clock })(fn))),
      ),
      timeLimiter(cooperative)(
        circuitBreaker(new CircuitBreaker({ clock }))(
          bulkhead(pools[1]!)(retry({ maxAttempts: 1, clock })(fn)),
        ),
      ),
    ];
    const answers = wrapped.map((call) => settle(call()));
    await clock.advance(50);
    expect(answers.map((a) => (a.reason as Error).name)).to.deep.equal([
      'OperationTimeoutError',
      'OperationTimeoutError',
    ]);
    await endWork();
    expect(limits.map((limit) => limit.limit)).to.deep.equal([1, 1]);
  });

  it("an attempt's deadline that answered the retry first is a failure, though the work then succeeds", async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const attempts = Policy.builder('outer')
      .retry({ maxAttempts: 2, delay: 100 })
      .timeout(50)
      .clock(clock)
      .build();
    const wrapped = usePolicy(attempts)(bulkhead(pool)(fn));
    const policyLimit = aimd();
    const policy = Policy.builder<string>('p')
      .retry({ maxAttempts: 2, delay: 100 })
      .timeout(50)
      .bulkhead({ limit: policyLimit })
      .clock(clock)
      .build();
    const answers = [settle(wrapped()), settle(policy.execute(fn))];
    // The first attempts time out; their work succeeds while the retries wait.
    await clock.advance(60);
    await endWork();
    expect(answers.map((a) => a.status)).to.deep.equal(['pending', 'pending']);
    expect([limit.limit, policyLimit.limit]).to.deep.equal([1, 1]);
    // The second attempts succeed in time.
    await clock.advance(90);
    expect(works).to.have.length(4);
    await endWork();
    expect(answers.map((a) => a.value)).to.deep.equal(['late', 'late']);
  });

  it("the caller's abort of the bulkhead's own execute teaches nothing, a deadline's signal a failure", async () => {
    const limit = aimd();
    const pool = new Bulkhead({ limit, clock });
    const caller = new AbortController();
    const called = settle(pool.execute(fn, caller.signal));
    await clock.advance(10);
    caller.abort(new Error('gone'));
    await endWork();
    expect((called.reason as Error).message).to.equal('gone');
    expect(limit.limit).to.equal(2);
    // A policy's timeout handing its signal on: its deadline aborts it.
    const policy = Policy.builder('outer').timeout(50).clock(clock).build();
    const timed = settle(policy.execute((ctx) => pool.execute(fn, ctx.signal)));
    await clock.advance(50);
    expect((timed.reason as Error).name).to.equal('OperationTimeoutError');
    await endWork();
    expect(limit.limit).to.equal(1);
  });
  for (const mode of ['aggressive', 'cooperative'] as const) {
    it(`a ${mode} deadline of a policy outside, handed to an inner policy as its caller's signal, is a failure as through execute`, async () => {
      const limit = aimd();
      const pool = new Bulkhead({ limit, clock });
      const policyLimit = aimd();
      const inner = Policy.builder<string>('inner')
        .bulkhead({ limit: policyLimit })
        .clock(clock)
        .build();
      const outer = Policy.builder<string>('outer')
        .timeout({ timeout: 50, mode })
        .clock(clock)
        .build();
      // The work ignores its signal and succeeds after the deadline.
      const answers = [
        settle(outer.execute((ctx) => pool.execute(fn, ctx.signal))),
        settle(outer.execute((ctx) => inner.execute(fn, { signal: ctx.signal }))),
      ];
      await clock.advance(50);
      await flush();
      expect(answers.map((a) => (a.reason as Error).name)).to.deep.equal([
        'OperationTimeoutError',
        'OperationTimeoutError',
      ]);
      await endWork();
      expect([limit.limit, policyLimit.limit]).to.deep.equal([1, 1]);
      expect([pool.orphaned, pool.availableSlots]).to.deep.equal([0, 1]);
    });
  }
});
