// A rate limiter stage over a store that answers later (a remote one), with no wait allowed:
// the policy answers a caller who aborts during the round trip, so the stage races nothing with
// the caller's signal, and a grant that arrives after the abort goes back unused.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { isRateLimitExceededError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { RateLimiter } from '../../../src/strategies/rate-limiter/RateLimiter.js';
import {
  InMemoryRateLimiterStore,
  type RateLimiterStore,
  type RateLimiterStoreConfig,
} from '../../../src/strategies/rate-limiter/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf, type Deferred } from '../../support/promises.js';

/** A store whose every reservation waits until the spec answers it. */
class RemoteStore implements RateLimiterStore {
  readonly local = new InMemoryRateLimiterStore();
  readonly answers: Deferred<number>[] = [];
  refunded = 0;
  configure(config: RateLimiterStoreConfig): void {
    this.local.configure(config);
  }
  tryReserve(): boolean {
    return false;
  }
  reserve(): Promise<number> {
    const answer = deferred<number>();
    this.answers.push(answer);
    return answer.promise;
  }
  refund(permits: number): void {
    this.refunded += permits;
  }
  available(): number {
    return this.local.available();
  }
}

function limited(): { policy: Policy; store: RemoteStore } {
  const clock = new ManualClock();
  const store = new RemoteStore();
  const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: 0, store, clock });
  return { policy: Policy.builder('remote').clock(clock).rateLimiter(limiter).build(), store };
}

describe('Rate limiter stage over a remote store, no wait allowed', () => {
  it('adds no listener to the caller’s signal during the round trip; a grant after the abort goes back, the work never runs', async () => {
    const { policy, store } = limited();
    const controller = new AbortController();
    let ran = 0;
    const call = policy.execute(() => ran++, { signal: controller.signal });
    expect(store.answers).to.have.length(1);
    expect(getEventListeners(controller.signal, 'abort'), 'the policy’s own only').to.have.length(
      1,
    );
    controller.abort(new Error('gave up'));
    expect(((await rejectionOf(call)) as Error).message).to.equal('gave up');
    store.answers[0]?.resolve(0);
    await flush();
    expect(ran).to.equal(0);
    expect(store.refunded).to.equal(1);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('runs the work on a grant and refuses on a refusal, a signal given or not', async () => {
    const { policy, store } = limited();
    const controller = new AbortController();
    const granted = policy.execute(() => 'done', { signal: controller.signal });
    const refused = policy.execute(() => 'never');
    store.answers[0]?.resolve(0);
    store.answers[1]?.resolve(-1000);
    expect(await granted).to.equal('done');
    const error = await rejectionOf(refused);
    expect(isRateLimitExceededError(error)).to.equal(true);
    expect(error).to.have.property('retryAfterMs', 1000);
    expect(store.refunded).to.equal(0);
  });
});

describe('Rate limiter stage over a store that answers what is no promise', () => {
  /** A store whose `reserve` answers a value whose `then` cannot be read. */
  class BrokenStore extends RemoteStore {
    override reserve(): Promise<number> {
      return {
        get then(): never {
          throw new Error('then is unreadable');
        },
      } as unknown as Promise<number>;
    }
  }

  it('fails the call at the step, so a bulkhead outside gets its slot back', async () => {
    const clock = new ManualClock();
    const store = new BrokenStore();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: 0, store, clock });
    const policy = Policy.builder('broken')
      .clock(clock)
      .bulkhead({ maxConcurrent: 1 })
      .rateLimiter(limiter)
      .build();
    for (let call = 1; call <= 2; call++) {
      const error = (await rejectionOf(policy.execute(() => 'ran'))) as Error;
      expect(error.message, `call ${call}`).to.equal('then is unreadable');
    }
    expect(policy.metrics().stages[0]).to.include({ availableSlots: 1 });
  });
});

describe('RateLimiter over a store that answers what is no promise, used alone', () => {
  it('rejects acquire and execute with the store’s error, never throws', async () => {
    const store = new (class extends RemoteStore {
      override reserve(): Promise<number> {
        return {
          get then(): never {
            throw new Error('then is unreadable');
          },
        } as unknown as Promise<number>;
      }
    })();
    const limiter = new RateLimiter({
      maxTokens: 1,
      refillRate: 1,
      store,
      clock: new ManualClock(),
    });
    for (const call of [() => limiter.acquire(), () => limiter.execute(() => 'ran')]) {
      let answer: Promise<unknown> | undefined;
      expect(() => (answer = call())).not.to.throw();
      expect(((await rejectionOf(answer!)) as Error).message).to.equal('then is unreadable');
    }
  });
});
