// bulwark's primitives with their state in Redis (bulwark/redis, over ioredis), against a
// redis-server the suite starts for itself. Their in-memory counterparts are in bulwark.ts.
import { Bulkhead, CircuitBreaker, RateLimiter } from 'bulwark';
import {
  RedisBulkheadStore,
  RedisCircuitBreakerStore,
  RedisRateLimiterStore,
  type RedisStoreOptions,
} from 'bulwark/redis';
import { Redis } from 'ioredis';
import { findRedisServer, startRedisServer, type RedisServer } from '../redisServer.js';
import { ample, breakerOptions, bulkheadOptions, through } from './bulwark.js';
import type { Subject, Suite } from './types.js';

let server: RedisServer | undefined;
let client: Redis | undefined;

// A store that cannot reach Redis would quietly decide in memory (`'local'`, the default) and
// the figures would flatter Redis: here it rejects, and a resolve scenario that rejects stops
// the run. The long timeout keeps a pause of the busy benchmark process from counting as one.
function storeOptions(key: string): RedisStoreOptions {
  if (client === undefined) throw new Error('the Redis suite was not opened');
  return { client, key, prefix: 'bulwark-bench:', storeTimeout: '5s', onStoreError: 'fail-closed' };
}

async function open(): Promise<string | undefined> {
  const binary = findRedisServer();
  if (binary === undefined) {
    return 'no redis-server on the PATH (or at $REDIS_SERVER); install one (apt-get install redis-server) to measure bulwark/redis';
  }
  try {
    server = await startRedisServer(binary);
    const redis = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    // ioredis logs unhandled 'error' events; a failure that matters shows as a failed call.
    redis.on('error', () => {});
    client = redis;
    await redis.connect();
    return undefined;
  } catch (error) {
    await close();
    return error instanceof Error ? error.message : String(error);
  }
}

async function close(): Promise<void> {
  const redis = client;
  client = undefined;
  if (redis !== undefined) {
    // QUIT waits for the server's answer; a server that is gone gets a plain disconnect.
    const quit = redis.quit().then(
      () => true,
      () => false,
    );
    const late = new Promise<false>((resolve) => setTimeout(resolve, 1000, false).unref());
    if (!(await Promise.race([quit, late]))) redis.disconnect();
  }
  await server?.close();
  server = undefined;
}

export const suite: Suite = {
  library: 'bulwark',
  open,
  close,
  subjects: {
    'rate-limiter-acquire-redis': (): Subject => {
      const limiter = new RateLimiter({
        ...ample,
        store: new RedisRateLimiterStore(storeOptions('rate-limiter')),
      });
      return { call: () => limiter.acquire() };
    },
    'circuit-breaker-execute-redis': () =>
      through(
        new CircuitBreaker({
          ...breakerOptions,
          store: new RedisCircuitBreakerStore(storeOptions('circuit-breaker')),
        }),
      ),
    'bulkhead-execute-redis': () =>
      through(
        new Bulkhead({
          ...bulkheadOptions,
          store: new RedisBulkheadStore(storeOptions('bulkhead')),
        }),
      ),
  },
};
