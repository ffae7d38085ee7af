// The Redis key names of the stores and their per-key views: one non-empty Redis Cluster hash
// tag per primitive, different keys never sharing a name. No server needed.
import { expect } from 'chai';
import fc from 'fast-check';
import { encodeMember, escapeKeyPart, storeKeyName } from '../../src/redis/keys.js';
import { RedisBulkheadStore } from '../../src/redis/RedisBulkheadStore.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { RedisRetryBudgetStore } from '../../src/redis/RedisRetryBudgetStore.js';
import { silentClient } from './scripted.js';

const client = silentClient;

// Redis Cluster's rule: the text between the first `{` and the next `}`, unless that is empty.
function hashTag(name: string): string {
  const open = name.indexOf('{');
  if (open < 0) return name;
  const close = name.indexOf('}', open + 1);
  return close <= open + 1 ? name : name.slice(open + 1, close);
}

const STORES = [
  ['RedisRateLimiterStore', (o: object) => new RedisRateLimiterStore(o as never)],
  ['RedisCircuitBreakerStore', (o: object) => new RedisCircuitBreakerStore(o as never)],
  ['RedisBulkheadStore', (o: object) => new RedisBulkheadStore(o as never)],
  ['RedisRetryBudgetStore', (o: object) => new RedisRetryBudgetStore(o as never)],
] as const;

describe('Redis store key names', () => {
  it('keeps the names of ordinary keys: <prefix><kind>:{<key>}, and <prefix><kind>:<key>:{<view key>} for views', () => {
    const limiter = new RedisRateLimiterStore({ client, key: 'payment-api' });
    expect(limiter.redisKey).to.equal('bulwark:rl:{payment-api}');
    expect(limiter.forKey('user-42').redisKey).to.equal('bulwark:rl:payment-api:{user-42}');
    const breaker = new RedisCircuitBreakerStore({ client, key: 'hosts', prefix: 'app:' });
    expect(breaker.forKey('api.example.com').redisKey).to.equal('app:cb:hosts:{api.example.com}');
    expect(new RedisBulkheadStore({ client, key: 'db' }).forKey('t1').redisKey).to.equal(
      'bulwark:bh:db:{t1}',
    );
  });

  it('escapes braces, `%`, `#` and lone surrogates, so the hash tag is always the intended one', () => {
    expect(storeKeyName('bulwark:', 'cb', '}x', undefined)).to.equal('bulwark:cb:{%7Dx}');
    expect(storeKeyName('bulwark:', 'rl', 'a{b', 'c}d')).to.equal('bulwark:rl:a%7Bb:{c%7Dd}');
    expect(escapeKeyPart('50%#')).to.equal('50%25%23');
    expect(escapeKeyPart('\uD800x\uDC00')).to.equal('%uD800x%uDC00');
    // A pair is kept as it is.
    expect(escapeKeyPart('🙂')).to.equal('🙂');
  });

  it('hashes a view key longer than 100 characters once escaped to `#<sha1>`', () => {
    expect(encodeMember('x'.repeat(100))).to.equal('x'.repeat(100));
    const long = encodeMember('x'.repeat(101));
    expect(long).to.match(/^#[0-9a-f]{40}$/);
    expect(encodeMember('x'.repeat(101))).to.equal(long);
    expect(encodeMember('y'.repeat(101))).to.not.equal(long);
  });

  it('gives different view keys different names, each with a non-empty tag of its own shared by all the keys of its primitive', () => {
    // Every key `forKey` takes: a non-empty string.
    const text = fc
      .oneof(
        fc.string({ maxLength: 8, unit: fc.constantFrom('a', '{', '}', '%', '#', ':', '7', 'D') }),
        fc.string({ maxLength: 120, unit: 'binary' }),
        fc.string({
          maxLength: 4,
          unit: fc.integer({ min: 0xd7ff, max: 0xe000 }).map(String.fromCharCode),
        }),
      )
      .filter((key) => key !== '');
    fc.assert(
      fc.property(text, text, (a, b) => {
        const nameA = storeKeyName('bulwark:', 'cb', 'hosts', a);
        const nameB = storeKeyName('bulwark:', 'cb', 'hosts', b);
        expect(nameA === nameB).to.equal(a === b);
        const tag = hashTag(nameA);
        expect(tag).to.equal(encodeMember(a));
        expect(tag).to.not.equal(nameA);
        // The breaker's window key shares the state hash's slot.
        expect(hashTag(`${nameA}:w`)).to.equal(tag);
        // A view never takes the name of a store's own key, nor of another store's view.
        const key = `${b}k`;
        expect(storeKeyName('bulwark:', 'cb', key, undefined)).to.not.equal(nameA);
        expect(storeKeyName('bulwark:', 'cb', key, a) === nameA).to.equal(key === 'hosts');
      }),
      { numRuns: 500 },
    );
  });

  for (const [name, make] of STORES) {
    it(`${name}: refuses a \`prefix\` with a brace, saying why`, () => {
      expect(() => make({ client, key: 'k', prefix: '{app}:' })).to.throw(
        RangeError,
        "`prefix` must be a string without '{' or '}' (Redis Cluster hashes the text in the first braces of a key, and the stores put the key's hash tag there themselves), got \"{app}:\"",
      );
      expect(() => make({ client, key: 'k', prefix: 'app}' })).to.throw(RangeError, '`prefix`');
    });

    it(`${name}: takes any string as a view key, and a non-empty string as \`key\``, () => {
      const store = make({ client, key: 'k' });
      expect(() => store.forKey(5 as never)).to.throw(TypeError, '`key` must be a string, got 5');
      // A keyed stage's key function may answer '': its view has a name no other key gets.
      expect(store.forKey('').redisKey).to.match(/:k:\{%\}$/);
      expect(store.forKey('').redisKey).to.not.equal(store.forKey('%').redisKey);
      expect(() => make({ client, key: '' })).to.throw(
        RangeError,
        '`key` must be a non-empty string, got ""',
      );
      expect(store.forKey(' ').redisKey).to.match(/:k:\{ \}$/);
      // A view's forKey gives a sibling: the view of that key of the same store.
      expect(store.forKey('a').forKey('b').redisKey).to.equal(store.forKey('b').redisKey);
      expect(store.forKey('a')).to.not.equal(store.forKey('a'));
      expect(store.forKey('a')).to.be.instanceOf(store.constructor);
      expect(store.forKey('a').redisKey).to.equal(store.forKey('a').redisKey);
    });
  }
});
