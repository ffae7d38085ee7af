// An adapter of one's own whose classifyError throws: its failures still count as failures
// (as connection failures), decided as onStoreError says, and never become unhandled rejections.
import { expect } from 'chai';
import { StoreUnavailableError } from '../../src/errors.js';
import type { RedisClientAdapter } from '../../src/redis/adapter.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { flush } from './scripted.js';

function hostile(): RedisClientAdapter {
  return {
    name: 'hostile',
    evalsha: () => Promise.reject(new Error('lost')),
    eval: () => Promise.reject(new Error('down')),
    scriptLoad: () => Promise.resolve(''),
    time: () => Promise.resolve(0),
    classifyError: () => {
      throw new Error('cannot classify');
    },
  };
}

describe('Redis stores on an adapter whose classifyError throws', function () {
  let unhandled: unknown[];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  let listeners: NodeJS.UnhandledRejectionListener[];

  beforeEach(function () {
    unhandled = [];
    // Counted here rather than failing the run from the global hook, to name what leaked.
    listeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(function () {
    process.removeListener('unhandledRejection', onUnhandled);
    for (const listener of listeners) process.on('unhandledRejection', listener);
  });

  for (const mode of ['local', 'fail-open', 'fail-closed'] as const) {
    it(`takes its failures as connection failures ('${mode}')`, async function () {
      const store = new RedisRateLimiterStore({
        client: hostile(),
        key: 'k',
        onStoreError: mode,
      });
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, store });
      const outcome = await limiter.acquire().then(
        () => 'granted',
        (error: unknown) => error,
      );
      if (mode === 'fail-closed') {
        expect(outcome).to.be.instanceOf(StoreUnavailableError);
        expect((outcome as Error).message).to.include('Redis is unreachable: lost');
      } else {
        expect(outcome).to.equal('granted');
      }
      expect(store.redisAvailable).to.equal(false);
      // The client backs off: calls decide without Redis at once.
      expect(store.tryReserve(1)).to.equal(mode !== 'fail-closed');
      await flush();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    });
  }
});
