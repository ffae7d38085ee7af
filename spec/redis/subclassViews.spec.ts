// A subclass of a Redis store with a constructor of its own: its per-key views are made by the
// package's own store class, so each key keeps a state of its own. No server needed.
import { expect } from 'chai';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { RedisRetryBudgetStore } from '../../src/redis/RedisRetryBudgetStore.js';
import { silentClient } from './scripted.js';

const client = silentClient;

describe('Redis store subclasses and their per-key views', () => {
  it('give each key its own Redis key, as the store classes themselves do', () => {
    class ApiLimits extends RedisRateLimiterStore {
      constructor(name: string) {
        super({ client, key: `app:${name}` });
      }
    }
    class ApiBreakers extends RedisCircuitBreakerStore {
      constructor(name: string) {
        super({ client, key: `app:${name}` });
      }
    }
    class ApiSlots extends RedisBulkheadStore {
      constructor(name: string) {
        super({ client, key: `app:${name}` });
      }
    }
    class ApiBudget extends RedisRetryBudgetStore {
      constructor(name: string) {
        super({ client, key: `app:${name}` });
      }
    }
    for (const store of [
      new ApiLimits('api'),
      new ApiBreakers('api'),
      new ApiSlots('api'),
      new ApiBudget('api'),
    ]) {
      const one = store.forKey('user-1');
      const two = store.forKey('user-2');
      expect(one.redisKey, store.constructor.name).to.not.equal(two.redisKey);
      expect(one.redisKey).to.contain('app:api');
      expect(one.redisKey).to.contain('user-1');
      expect(one.forKey('user-3').redisKey).to.contain('user-3');
    }
  });
});
