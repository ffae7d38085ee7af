/**
 * `bulwark/redis`: stores that keep a rate limiter's bucket, a circuit breaker's state machine
 * and a bulkhead's slots in Redis, so processes that share a `key` share one limit, one circuit
 * and one concurrency cap. Works with `ioredis` and `redis` (node-redis), optional peer
 * dependencies this entry point never imports, or any client behind a
 * {@link RedisClientAdapter}.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RateLimiter } from 'bulwark';
 * import { RedisRateLimiterStore } from 'bulwark/redis';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const limiter = new RateLimiter({
 *   maxTokens: 100,
 *   refillRate: 50,
 *   store: new RedisRateLimiterStore({ client, key: 'payment-api' }),
 * });
 * ```
 *
 * @packageDocumentation
 */
export type { RedisClient, RedisClientAdapter, RedisErrorKind } from './adapter.js';
export { toRedisAdapter } from './adapter.js';
export type { RedisStoreOptions, StoreErrorMode } from './options.js';
export type { RedisRateLimiterStoreOptions } from './RedisRateLimiterStore.js';
export { RedisRateLimiterStore } from './RedisRateLimiterStore.js';
export type { RedisCircuitBreakerStoreOptions } from './RedisCircuitBreakerStore.js';
export { RedisCircuitBreakerStore } from './RedisCircuitBreakerStore.js';
export type { RedisBulkheadStoreOptions } from './RedisBulkheadStore.js';
export { RedisBulkheadStore } from './RedisBulkheadStore.js';
export type { RedisRetryBudgetStoreOptions } from './RedisRetryBudgetStore.js';
export { RedisRetryBudgetStore } from './RedisRetryBudgetStore.js';
