import { expect } from 'chai';
import sinon from 'sinon';
import { OperationTimeoutError, isOperationTimeoutError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { ownTimers } from '../../../src/internal/timerMode.js';
import { TimeLimiter } from '../../../src/strategies/timeout/TimeLimiter.js';

function never(): Promise<never> {
  return new Promise<never>(() => {});
}

describe('TimeLimiter', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('defaults to a 30 s timeout', () => {
    expect(new TimeLimiter().timeoutMs).to.equal(30_000);
  });

  it('resolves with the value of an operation that finishes in time', async () => {
    const limiter = new TimeLimiter({ timeout: '1s' });
    const result = limiter.execute(async () => {
      await new Promise((r) => setTimeout(r, 999));
      return 'done';
    });
    await clock.tickAsync(999);
    expect(await result).to.equal('done');
  });

  it('rejects at the deadline even when the operation ignores its signal', async () => {
    const limiter = new TimeLimiter({ timeout: '5s' });
    let settled = false;
    const result = limiter.execute(never);
    result.catch(() => (settled = true));
    await clock.tickAsync(4999);
    expect(settled).to.equal(false);
    await clock.tickAsync(1);
    const error = await result.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(OperationTimeoutError);
    expect(isOperationTimeoutError(error)).to.equal(true);
    expect((error as OperationTimeoutError).timeoutMs).to.equal(5000);
  });

  it('shows the first 200 characters of a longer name in its message, and the length', async () => {
    const name = 'n'.repeat(1_000_000);
    const long = new TimeLimiter({ timeout: '1s', name }).execute(never).catch((e: Error) => e);
    const at200 = new TimeLimiter({ timeout: '1s', name: 'm'.repeat(200) })
      .execute(never)
      .catch((e: Error) => e.message);
    await clock.tickAsync(1000);
    const error = (await long) as OperationTimeoutError;
    expect(error.message).to.equal(
      `${'n'.repeat(200)}… (1000000 characters) exceeded timeout of 1.0s`,
    );
    expect(error.timeoutMs).to.equal(1000);
    expect(await at200).to.equal(`${'m'.repeat(200)} exceeded timeout of 1.0s`);
  });

  it('names the operation: `<name> exceeded timeout of <seconds>s`, `operation` when unnamed', async () => {
    const named = new TimeLimiter({ timeout: '5s', name: 'fetch_recommendations' });
    const p1 = named.execute(never).catch((e: Error) => e.message);
    async function fetchData(): Promise<never> {
      return never();
    }
    const p2 = new TimeLimiter({ timeout: 1500 }).execute(fetchData).catch((e: Error) => e.message);
    const p3 = new TimeLimiter({ timeout: 250 })
      .execute(() => never())
      .catch((e: Error) => e.message);
    await clock.tickAsync(5000);
    expect(await p1).to.equal('fetch_recommendations exceeded timeout of 5.0s');
    expect(await p2).to.equal('fetchData exceeded timeout of 1.5s');
    expect(await p3).to.equal('operation exceeded timeout of 0.25s');
  });

  it('aborts the signal it passes to the operation at the deadline', async () => {
    const limiter = new TimeLimiter({ timeout: 100 });
    let seen: AbortSignal | undefined;
    const result = limiter.execute((signal) => {
      seen = signal;
      return never();
    });
    result.catch(() => {});
    expect(seen?.aborted).to.equal(false);
    await clock.tickAsync(100);
    expect(seen?.aborted).to.equal(true);
    expect(seen?.reason).to.be.instanceOf(OperationTimeoutError);
  });

  it('rejects with the caller’s reason when the caller aborts, never with a timeout error', async () => {
    const limiter = new TimeLimiter({ timeout: 1000 });
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const result = limiter.execute((signal) => {
      seen = signal;
      return never();
    }, controller.signal);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await result.catch((e: unknown) => e)).to.equal(reason);
    expect(seen?.aborted).to.equal(true);
    expect(seen?.reason).to.equal(reason);
  });

  it('rejects at once without calling the operation when the signal is already aborted', async () => {
    const limiter = new TimeLimiter({ timeout: 1000 });
    const fn = sinon.spy(() => 1);
    const reason = new Error('already');
    const error = await limiter.execute(fn, AbortSignal.abort(reason)).catch((e: unknown) => e);
    expect(error).to.equal(reason);
    expect(fn.called).to.equal(false);
  });

  it('rethrows the operation’s own error unchanged, also a synchronous throw', async () => {
    const limiter = new TimeLimiter({ timeout: 1000 });
    const boom = new Error('boom');
    expect(await limiter.execute(() => Promise.reject(boom)).catch((e: unknown) => e)).to.equal(
      boom,
    );
    expect(
      await limiter
        .execute(() => {
          throw boom;
        })
        .catch((e: unknown) => e),
    ).to.equal(boom);
  });

  it('uses one timer for many concurrent operations and none once they are done', async () => {
    const limiter = new TimeLimiter({ timeout: 1000 });
    const results = Array.from({ length: 100 }, (_, i) =>
      limiter.execute(() => new Promise((r) => setTimeout(() => r(i), 10 + i))),
    );
    // 100 operation timers + 1 deadline timer (one per operation where each keeps its own)
    expect(clock.countTimers()).to.equal(ownTimers ? 200 : 101);
    await clock.tickAsync(200);
    expect(await Promise.all(results)).to.have.length(100);
    expect(limiter.deadlineQueue.size).to.equal(0);
    await clock.tickAsync(1000);
    expect(clock.countTimers()).to.equal(0);
  });

  it('expires each of many staggered operations exactly at its own deadline', async () => {
    const limiter = new TimeLimiter({ timeout: 100 });
    const expiredAt: number[] = [];
    for (let i = 0; i < 5; i++) {
      void limiter.execute(never).catch(() => expiredAt.push(Date.now()));
      await clock.tickAsync(30);
    }
    await clock.tickAsync(200);
    expect(expiredAt).to.deep.equal([100, 130, 160, 190, 220]);
  });

  it('holds no timer once each call has settled, one call after another', async () => {
    const limiter = new TimeLimiter({ timeout: 1000 });
    const policy = Policy.builder('p').retry({ maxAttempts: 2 }).timeout(1000).build();
    const boom = new Error('boom');
    for (let i = 0; i < 3; i++) {
      expect(await limiter.execute(async () => i)).to.equal(i);
      expect(clock.countTimers(), 'after a value').to.equal(0);
      expect(await limiter.execute(() => Promise.reject(boom)).catch((e: unknown) => e)).to.equal(
        boom,
      );
      expect(clock.countTimers(), 'after an error').to.equal(0);
      expect(await policy.execute(() => i)).to.equal(i);
      expect(clock.countTimers(), 'after a policy call').to.equal(0);
    }
    // A deadline still works after the timers were cleared.
    const late = limiter.execute(never).catch((e: unknown) => e);
    expect(clock.countTimers()).to.equal(1);
    await clock.tickAsync(1000);
    expect(await late).to.be.instanceOf(OperationTimeoutError);
    expect(clock.countTimers()).to.equal(0);
  });

  describe('validation', () => {
    it('rejects bad timeouts naming the option', () => {
      expect(() => new TimeLimiter({ timeout: -1 })).to.throw(RangeError, '`timeout`');
      expect(() => new TimeLimiter({ timeout: NaN })).to.throw(RangeError, '`timeout`');
      expect(() => new TimeLimiter({ timeout: Infinity })).to.throw(RangeError, '`timeout`');
      expect(() => new TimeLimiter({ timeout: '5 sec' })).to.throw(TypeError, '"5 sec"');
      expect(() => new TimeLimiter({ timeout: true as never })).to.throw(TypeError, '`timeout`');
    });

    it('rejects unknown options and a non-string name', () => {
      expect(() => new TimeLimiter({ timout: 5 } as never)).to.throw(
        TypeError,
        'unknown option `timout` (did you mean `timeout`?)',
      );
      expect(() => new TimeLimiter({ name: 5 as never })).to.throw(TypeError, '`name`');
      expect(() => new TimeLimiter({ clock: {} as never })).to.throw(TypeError, '`clock`');
      expect(() => new TimeLimiter(5 as never)).to.throw(TypeError);
    });
  });
});

describe('TimeLimiter on real timers', () => {
  it('still times out a call that follows one that settled (the cleared timer is replaced)', async () => {
    const limiter = new TimeLimiter({ timeout: 20 });
    expect(await limiter.execute(async () => 'fast')).to.equal('fast');
    await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    const error = await limiter.execute(never).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(OperationTimeoutError);
    expect(performance.now() - started).to.be.within(15, 1000);
  });
});
