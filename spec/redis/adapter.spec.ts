import { expect } from 'chai';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { sha1Hex, toRedisAdapter, type RedisClientAdapter } from '../../src/redis/adapter.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { describeRedis, rejectionOf } from './harness.js';

describeRedis('Redis client adapters', function (env) {
  it('names a script by the same SHA1 as SCRIPT LOAD', async function () {
    const adapter = toRedisAdapter(env.admin.client);
    const script = "return redis.call('PING')";
    expect(await adapter.scriptLoad(script)).to.equal(sha1Hex(script));
    expect(await adapter.evalsha(sha1Hex(script), [], [])).to.equal('PONG');
  });

  it('reads the server clock in milliseconds', async function () {
    const adapter = toRedisAdapter(env.admin.client);
    const serverNow = await adapter.time();
    // Same host, so the server's clock is the wall clock.
    expect(Math.abs(serverNow - Date.now())).to.be.below(1000);
  });

  it('classifies a missing script, a server error and a closed connection', async function () {
    const adapter = toRedisAdapter(env.admin.client);
    const noScript = await rejectionOf(adapter.evalsha('0'.repeat(40), [], []));
    expect(adapter.classifyError(noScript)).to.equal('noscript');
    const reply = await rejectionOf(adapter.eval("return redis.call('NOPE')", [], []));
    expect(adapter.classifyError(reply)).to.equal('reply');
    const dropped = await env.connect();
    dropped.crash();
    const closed = await rejectionOf(toRedisAdapter(dropped.client).time());
    expect(adapter.classifyError(closed)).to.equal('connection');
  });

  it('reloads the scripts when the server lost them', async function () {
    const { client } = await env.connect();
    const store = new RedisRateLimiterStore({
      client,
      key: env.uniqueKey(),
      onStoreError: 'fail-closed',
    });
    const limiter = new RateLimiter({ maxTokens: 3, refillRate: 0.1, store });
    await limiter.acquire();
    await env.admin.command('SCRIPT', 'FLUSH');
    await limiter.acquire();
    await limiter.acquire();
    expect(await rejectionOf(limiter.acquire())).to.have.property('code', 'RATE_LIMITED');
    expect(store.redisAvailable).to.equal(true);
  });

  it('works through an adapter of your own, which needs no scriptLoad', async function () {
    const inner = toRedisAdapter(env.admin.client);
    const seen: string[] = [];
    const adapter: RedisClientAdapter = {
      name: 'traced',
      evalsha: (sha1, keys, args) => {
        seen.push(`evalsha ${keys.join(',')}`);
        return inner.evalsha(sha1, keys, args);
      },
      eval: (script, keys, args) => {
        seen.push(`eval ${keys.join(',')}`);
        return inner.eval(script, keys, args);
      },
      time: () => inner.time(),
      classifyError: (error) => inner.classifyError(error),
    };
    expect(toRedisAdapter(adapter)).to.equal(adapter);
    const key = env.uniqueKey();
    const limiter = new RateLimiter({
      maxTokens: 1,
      refillRate: 0.1,
      store: new RedisRateLimiterStore({ client: adapter, key }),
    });
    // A server without the script: the store sends its source by EVAL, no SCRIPT LOAD.
    await env.admin.command('SCRIPT', 'FLUSH');
    await limiter.acquire();
    expect(await rejectionOf(limiter.acquire())).to.have.property('code', 'RATE_LIMITED');
    expect(seen).to.include(`evalsha bulwark:rl:{${key}}`);
    expect(seen).to.include(`eval bulwark:rl:{${key}}`);
  });
});

describe('ioredis Cluster adapter', function () {
  it('sends SCRIPT LOAD once, through the cluster client, asking no node of its own', async function () {
    const sent: string[][] = [];
    const cluster = {
      evalsha: () => Promise.resolve(null),
      eval: () => Promise.resolve(null),
      script: (...args: string[]) => {
        sent.push(args);
        return Promise.resolve('d1');
      },
      time: () => Promise.resolve(['1', '0']),
      nodes: () => {
        throw new Error('nodes() asked');
      },
    };
    const adapter = toRedisAdapter(cluster);
    expect(adapter.name).to.equal('ioredis Cluster');
    expect(await adapter.scriptLoad('return 1')).to.equal('d1');
    expect(sent).to.deep.equal([['LOAD', 'return 1']]);
  });
});
