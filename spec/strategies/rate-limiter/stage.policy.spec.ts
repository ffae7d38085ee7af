// The rate limiter stage, white-box through a policy: the fast path, a caller waiting in line
// for a permit, and refusals counted and reported.
import { expect } from 'chai';
import { RateLimitExceededError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import { RateLimiter } from '../../../src/strategies/rate-limiter/RateLimiter.js';
import type { RateLimiterStore } from '../../../src/strategies/rate-limiter/store.js';
import { ManualClock } from '../../support/clock.js';
import { rejectionOf, settle } from '../../support/promises.js';

describe('RateLimiter stage', () => {
  it('calls the thunk at once while permits last, on the policy clock or its own', async () => {
    for (const shared of [true, false]) {
      const clock = new ManualClock();
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, clock });
      const policy = Policy.builder<number>('p')
        .clock(shared ? clock : new ManualClock())
        .rateLimiter(limiter)
        .build();
      expect(await policy.execute(() => 1)).to.equal(1);
      expect(await policy.execute(() => 2)).to.equal(2);
      expect(limiter.availableTokens, `shared clock: ${shared}`).to.equal(0);
    }
  });

  it('makes a caller wait in line for the next permit, then calls its thunk', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s', clock });
    const policy = Policy.builder<string>('p').clock(clock).rateLimiter(limiter).build();
    await policy.execute(() => 'first');
    let calledAt: number | undefined;
    const second = settle(
      policy.execute(() => {
        calledAt = clock.now();
        return 'second';
      }),
    );
    await clock.advance(99);
    expect(second.status).to.equal('pending');
    await clock.advance(1);
    expect(second).to.deep.include({ status: 'fulfilled', value: 'second' });
    expect(calledAt).to.equal(100);
  });

  it('stops a waiting caller who aborts, with the reason, without counting a refusal', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '10s', clock });
    const policy = Policy.builder<string>('p').clock(clock).rateLimiter(limiter).build();
    await policy.execute(() => 'first');
    const controller = new AbortController();
    const reason = new Error('left');
    const waiting = policy.execute(() => 'no', { signal: controller.signal });
    controller.abort(reason);
    expect(await rejectionOf(waiting)).to.equal(reason);
    expect(policy.metrics().rejections.rateLimit).to.equal(0);
    expect(limiter.queued).to.equal(0);
  });

  it('counts and reports a refusal when no permit comes within maxWait', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, clock });
    const policy = Policy.builder<string>('orders').clock(clock).rateLimiter(limiter).build();
    const rejected: unknown[] = [];
    policy.on('rejected', (e) => rejected.push(e));
    await policy.execute(() => 'first');
    const error = await rejectionOf(policy.execute(() => 'second'));
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect(policy.metrics().rejections.rateLimit).to.equal(1);
    expect(rejected).to.deep.equal([
      { policy: 'orders', stage: 'rate-limiter', reason: 'rate-limit', error },
    ]);
  });

  it('never calls the thunk of a caller who left while a remote store decided, with no wait allowed', async () => {
    const clock = new ManualClock();
    let refunded = 0;
    const store: RateLimiterStore = {
      configure: () => undefined,
      tryReserve: () => false,
      // Grants the token, a little later.
      reserve: () => new Promise((resolve) => clock.setTimeout(() => resolve(0), 10)),
      refund: (permits) => {
        refunded += permits;
      },
      available: () => 1,
    };
    const limiter = new RateLimiter({ maxWait: 0, clock, store });
    const policy = Policy.builder<string>('p').clock(clock).rateLimiter(limiter).build();
    const controller = new AbortController();
    const reason = new Error('left');
    let calls = 0;
    const call = policy.execute(() => `call ${++calls}`, { signal: controller.signal });
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    await clock.advance(10);
    expect(calls).to.equal(0);
    expect(refunded, 'the token granted too late goes back').to.equal(1);
    expect(policy.metrics().rejections.rateLimit).to.equal(0);
  });
  it('reports its waiting callers as `queued` in metrics().stages and registry.health()', async () => {
    const clock = new ManualClock();
    const registry = PolicyRegistry.fromConfig(
      {
        'rate-limiter': { api: { 'max-tokens': 1, 'refill-rate': 10, 'max-wait': '1s' } },
        policies: { p: [{ 'rate-limiter': 'api' }] },
      },
      { clock },
    );
    const policy = registry.policy('p');
    const calls = [1, 2, 3].map((n) => policy.execute(() => n));
    const state = { kind: 'rate-limiter', name: 'api', availableTokens: 0, maxTokens: 1 };
    expect(policy.metrics().stages).to.deep.equal([{ ...state, queued: 2 }]);
    expect(registry.health().primitives['rate-limiter'].api).to.deep.equal({ ...state, queued: 2 });
    await clock.advance(100);
    expect(policy.metrics().stages).to.deep.equal([{ ...state, queued: 1 }]);
    await clock.advance(100);
    expect(await Promise.all(calls)).to.deep.equal([1, 2, 3]);
    expect(registry.health().primitives['rate-limiter'].api).to.deep.equal({ ...state, queued: 0 });
  });
});
