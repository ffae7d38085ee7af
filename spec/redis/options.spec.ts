import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { systemClock } from '../../src/internal/clock.js';
import {
  classifyError,
  sha1Hex,
  toRedisAdapter,
  type RedisClientAdapter,
} from '../../src/redis/adapter.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';

function fakeAdapter(): RedisClientAdapter {
  return {
    name: 'fake',
    evalsha: () => Promise.resolve(null),
    eval: () => Promise.resolve(null),
    scriptLoad: () => Promise.resolve(''),
    time: () => Promise.resolve(0),
    classifyError: () => 'connection',
  };
}

const STORES = [
  ['RedisRateLimiterStore', (o: unknown) => new RedisRateLimiterStore(o as never)],
  ['RedisCircuitBreakerStore', (o: unknown) => new RedisCircuitBreakerStore(o as never)],
  ['RedisBulkheadStore', (o: unknown) => new RedisBulkheadStore(o as never)],
] as const;

describe('Redis store options', function () {
  for (const [name, make] of STORES) {
    describe(`${name} validation`, function () {
      const client = fakeAdapter();

      it('accepts the required options alone and defaults the rest', function () {
        const store = make({ client, key: 'k' });
        expect(store.redisKey.startsWith('bulwark:')).to.equal(true);
        expect(store.redisKey).to.include('{k}');
      });

      it('rejects options that are not an object', function () {
        expect(() => make(undefined)).to.throw(
          TypeError,
          `${name} options must be an object, got undefined`,
        );
        expect(() => make(null)).to.throw(TypeError, 'got null');
      });

      it('rejects an unknown option, suggesting the near one', function () {
        expect(() => make({ client, key: 'k', storeTimout: 5 })).to.throw(
          TypeError,
          `${name}: unknown option \`storeTimout\` (did you mean \`storeTimeout\`?)`,
        );
      });

      it('requires a client it can recognise', function () {
        expect(() => make({ key: 'k' })).to.throw(TypeError, '`client` must be an ioredis client');
        expect(() => make({ client: {}, key: 'k' })).to.throw(TypeError, 'got an object');
      });

      it('requires a non-empty string key', function () {
        expect(() => make({ client })).to.throw(
          TypeError,
          '`key` must be a non-empty string, got undefined',
        );
        expect(() => make({ client, key: '' })).to.throw(
          RangeError,
          '`key` must be a non-empty string, got ""',
        );
        expect(() => make({ client, key: 7 })).to.throw(TypeError, 'got 7');
      });

      it('requires a string prefix', function () {
        expect(() => make({ client, key: 'k', prefix: 1 })).to.throw(
          TypeError,
          '`prefix` must be a string, got 1',
        );
        expect(make({ client, key: 'k', prefix: 'app:' }).redisKey.startsWith('app:')).to.equal(
          true,
        );
      });

      it('requires a finite storeTimeout > 0, naming it', function () {
        expect(() => make({ client, key: 'k', storeTimeout: 0 })).to.throw(
          RangeError,
          '`storeTimeout` must be a duration > 0, got 0',
        );
        expect(() => make({ client, key: 'k', storeTimeout: '5 sec' })).to.throw(
          TypeError,
          '`storeTimeout` must be a duration such as 250ms',
        );
        expect(() => make({ client, key: 'k', storeTimeout: Infinity })).to.throw(
          RangeError,
          '`storeTimeout` must be a finite duration, got Infinity',
        );
        expect(() => make({ client, key: 'k', storeTimeout: -1 })).to.throw(
          RangeError,
          '`storeTimeout`',
        );
        expect(() => make({ client, key: 'k', storeTimeout: '100ms' })).not.to.throw();
      });

      it('accepts only the three onStoreError modes', function () {
        expect(() => make({ client, key: 'k', onStoreError: 'ignore' })).to.throw(
          TypeError,
          "`onStoreError` must be one of 'fail-open', 'fail-closed', 'local', got \"ignore\"",
        );
        for (const mode of ['fail-open', 'fail-closed', 'local']) {
          expect(() => make({ client, key: 'k', onStoreError: mode })).not.to.throw();
        }
      });

      it('requires instances to be an integer >= 1', function () {
        expect(() => make({ client, key: 'k', instances: 0 })).to.throw(
          RangeError,
          '`instances` must be an integer >= 1, got 0',
        );
        expect(() => make({ client, key: 'k', instances: 1.5 })).to.throw(RangeError, 'got 1.5');
        expect(() => make({ client, key: 'k', instances: '2' })).to.throw(TypeError, 'got "2"');
      });
    });
  }

  describe('RedisBulkheadStore leaseTtl', function () {
    const client = fakeAdapter();

    it('defaults to 30 s and accepts durations', function () {
      expect(new RedisBulkheadStore({ client, key: 'k' }).leaseTtlMs).to.equal(30_000);
      expect(new RedisBulkheadStore({ client, key: 'k', leaseTtl: '1.5s' }).leaseTtlMs).to.equal(
        1500,
      );
    });

    it('requires at least 50 ms', function () {
      expect(() => new RedisBulkheadStore({ client, key: 'k', leaseTtl: 10 })).to.throw(
        RangeError,
        '`leaseTtl` must be a duration >= 50ms, got 10',
      );
      expect(() => new RedisBulkheadStore({ client, key: 'k', leaseTtl: 'soon' })).to.throw(
        TypeError,
        '`leaseTtl`',
      );
    });

    it('is an unknown option for the other stores', function () {
      expect(
        () => new RedisRateLimiterStore({ client, key: 'k', leaseTtl: '1s' } as never),
      ).to.throw(TypeError, 'RedisRateLimiterStore: unknown option `leaseTtl`');
    });
  });

  describe('configure', function () {
    it('refuses to serve a second primitive', function () {
      const store = new RedisRateLimiterStore({ client: fakeAdapter(), key: 'k' });
      store.configure({ maxTokens: 1, refillRate: 1, clock: systemClock });
      expect(() => store.configure({ maxTokens: 1, refillRate: 1, clock: systemClock })).to.throw(
        Error,
        'already serves a RateLimiter',
      );
    });
  });
});

describe('toRedisAdapter', function () {
  it('recognises an ioredis client', function () {
    const client = new Redis({ lazyConnect: true });
    expect(toRedisAdapter(client).name).to.equal('ioredis');
    client.disconnect();
  });

  it('recognises a node-redis client', function () {
    const client = createClient();
    expect(toRedisAdapter(client).name).to.equal('node-redis');
  });

  it('takes an adapter object as it is', function () {
    const adapter = fakeAdapter();
    expect(toRedisAdapter(adapter)).to.equal(adapter);
  });

  it('makes one adapter per client', function () {
    const client = createClient();
    expect(toRedisAdapter(client)).to.equal(toRedisAdapter(client));
  });

  it('rejects anything else', function () {
    expect(() => toRedisAdapter(42 as never)).to.throw(TypeError, 'got 42');
    expect(() => toRedisAdapter({ evalsha() {} } as never)).to.throw(TypeError);
  });
});

describe('classifyError', function () {
  it('tells a missing script, a server error and a connection failure apart', function () {
    expect(classifyError(new Error('NOSCRIPT No matching script. Please use EVAL.'))).to.equal(
      'noscript',
    );
    expect(classifyError(new Error('WRONGTYPE Operation against a key'))).to.equal('reply');
    expect(classifyError(new Error('ERR Error running script'))).to.equal('reply');
    expect(classifyError(new Error('The client is offline'))).to.equal('connection');
    expect(
      classifyError(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
    ).to.equal('connection');
    expect(classifyError(undefined)).to.equal('connection');
  });
});

describe('sha1Hex', function () {
  it('computes SHA1 digests as EVALSHA names scripts', function () {
    expect(sha1Hex('')).to.equal('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1Hex('abc')).to.equal('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).to.equal(
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
    );
    expect(sha1Hex('a'.repeat(1000))).to.equal('291e9a6c66994949b57ba5e650361e98fc36b1ba');
  });
});
