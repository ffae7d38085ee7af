import { expect } from 'chai';
import sinon from 'sinon';
import { parse } from 'yaml';
import { CircuitOpenError, RateLimitExceededError } from '../../src/errors.js';
import { OptionRangeError, OptionTypeError } from '../../src/optionErrors.js';
import type { Clock } from '../../src/internal/clock.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { CONFIG_YAML } from '../support/configExample.js';
import { thrownBy } from '../support/promises.js';

function never(): Promise<never> {
  return new Promise<never>(() => {});
}

class Boom extends Error {}

/** the API contract's configuration, with kebab-case keys. */
function kebabConfig(): Record<string, unknown> {
  return {
    'rate-limiter': {
      default: { 'max-tokens': 100, 'refill-rate': 50.0 },
      'payment-api': { 'max-tokens': 10, 'refill-rate': 2.0 },
    },
    bulkhead: { default: { 'max-concurrent': 20 } },
    'time-limiter': { default: { timeout: '5s' } },
    'circuit-breaker': { inventory: { 'failure-threshold': 3, 'recovery-timeout': '20s' } },
    retry: { default: { 'max-attempts': 3, delay: '200ms', backoff: 2 } },
    policies: {
      pricing: [
        { fallback: { value: null } },
        { 'rate-limiter': 'payment-api' },
        { bulkhead: { 'max-concurrent': 10 } },
        { 'time-limiter': '3s' },
      ],
    },
  };
}

/** The same configuration with camelCase keys. */
function camelConfig(): Record<string, unknown> {
  return {
    rateLimiter: {
      default: { maxTokens: 100, refillRate: 50.0 },
      'payment-api': { maxTokens: 10, refillRate: 2.0 },
    },
    bulkhead: { default: { maxConcurrent: 20 } },
    timeLimiter: { default: { timeout: '5s' } },
    circuitBreaker: { inventory: { failureThreshold: 3, recoveryTimeout: '20s' } },
    retry: { default: { maxAttempts: 3, delay: '200ms', backoff: 2 } },
    policies: {
      pricing: [
        { fallback: { value: null } },
        { rateLimiter: 'payment-api' },
        { bulkhead: { maxConcurrent: 10 } },
        { timeLimiter: '3s' },
      ],
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

const thrown = thrownBy;

describe('PolicyRegistry', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  const styles: Array<[string, () => Record<string, unknown>]> = [
    ['kebab-case', kebabConfig],
    ['camelCase', camelConfig],
    [
      'parsed YAML',
      () => (parse(CONFIG_YAML) as { resilience: Record<string, unknown> }).resilience,
    ],
  ];
  for (const [style, config] of styles) {
    describe(`the the API contract example (${style} keys)`, () => {
      it('builds the named shared instances with their options', () => {
        const registry = PolicyRegistry.fromConfig(config());
        const payment = registry.rateLimiter('payment-api');
        expect([payment.maxTokens, payment.refillRate]).to.deep.equal([10, 2]);
        const fallbackLimiter = registry.rateLimiter('default');
        expect([fallbackLimiter.maxTokens, fallbackLimiter.refillRate]).to.deep.equal([100, 50]);
        expect(registry.bulkhead('default').maxConcurrent).to.equal(20);
        expect(registry.timeLimiter('default').timeoutMs).to.equal(5_000);
        const retry = registry.retry('default');
        expect([retry.maxAttempts, retry.delay, retry.backoff]).to.deep.equal([3, 200, 2]);
      });

      it('builds the circuit breaker from its options', async () => {
        const breaker = PolicyRegistry.fromConfig(config()).circuitBreaker('inventory');
        for (let i = 0; i < 3; i++) {
          await breaker.execute(() => Promise.reject(new Boom())).catch(() => undefined);
        }
        expect(breaker.state).to.equal('open');
        await clock.tickAsync(19_999);
        expect(breaker.state).to.equal('open');
        await clock.tickAsync(1);
        expect(breaker.state).to.equal('half-open');
      });

      it('builds the policy with its stages in order, outermost first', () => {
        const pricing = PolicyRegistry.fromConfig(config()).policy('pricing');
        expect(pricing.name).to.equal('pricing');
        expect(pricing.stages).to.deep.equal([
          { kind: 'fallback', name: 'fallback' },
          { kind: 'rate-limiter', name: 'payment-api' },
          { kind: 'bulkhead', name: 'bulkhead' },
          { kind: 'timeout', name: 'timeout' },
        ]);
        const bulkhead = pricing.metrics().stages[2];
        expect(bulkhead).to.include({ maxConcurrent: 10, availableSlots: 10 });
      });

      it('runs the policy: a slow call times out into the fallback value', async () => {
        const pricing = PolicyRegistry.fromConfig(config()).policy('pricing');
        let settled = false;
        const result = pricing.execute(never).then((v) => ((settled = true), v));
        await clock.tickAsync(2_999);
        expect(settled).to.equal(false);
        await clock.tickAsync(1);
        expect(await result).to.equal(null);
        expect(pricing.metrics()).to.include({ timeouts: 1, fallbacks: 1 });
      });

      it('runs the policy through the shared payment-api limiter', async () => {
        const registry = PolicyRegistry.fromConfig(config());
        const pricing = registry.policy('pricing');
        for (let i = 0; i < 10; i++) expect(await pricing.execute(() => i)).to.equal(i);
        expect(registry.rateLimiter('payment-api').availableTokens).to.equal(0);
        // The 11th call is refused by the limiter and the fallback answers.
        expect(await pricing.execute(() => 'live')).to.equal(null);
        expect(pricing.metrics().rejections.rateLimit).to.equal(1);
      });
    });
  }

  describe('defaults', () => {
    it('applies rate limiter 10 tokens at 10/s, bulkhead 10 and time limiter 30 s to a kind without a `default` entry', () => {
      const registry = PolicyRegistry.fromConfig({});
      const limiter = registry.rateLimiter('any');
      expect([limiter.maxTokens, limiter.refillRate]).to.deep.equal([10, 10]);
      expect(registry.bulkhead('any').maxConcurrent).to.equal(10);
      expect(registry.timeLimiter('any').timeoutMs).to.equal(30_000);
      expect(registry.retry('any').maxAttempts).to.equal(3);
      expect(registry.circuitBreaker('any').state).to.equal('closed');
    });

    it("merges a named entry over its kind's `default` entry", () => {
      const registry = PolicyRegistry.fromConfig({
        'rate-limiter': {
          default: { 'max-tokens': 100, 'refill-rate': 50 },
          'payment-api': { 'max-tokens': 10 },
        },
        bulkhead: { default: { 'max-queue': 5 }, db: { 'max-concurrent': 2 } },
      });
      const payment = registry.rateLimiter('payment-api');
      expect([payment.maxTokens, payment.refillRate]).to.deep.equal([10, 50]);
      const db = registry.bulkhead('db');
      expect([db.maxConcurrent, db.maxQueue]).to.deep.equal([2, 5]);
    });

    it('merges a named entry over the configuration defaults when there is no `default` entry', () => {
      const limiter = PolicyRegistry.fromConfig({
        'rate-limiter': { search: { 'refill-rate': 100 } },
      }).rateLimiter('search');
      expect([limiter.maxTokens, limiter.refillRate]).to.deep.equal([10, 100]);
    });

    it("gives an unconfigured name the `default` entry's settings", () => {
      const registry = PolicyRegistry.fromConfig({
        bulkhead: { default: { 'max-concurrent': 20 } },
      });
      expect(registry.bulkhead('reports').maxConcurrent).to.equal(20);
    });

    it("merges a policy's inline options over the kind's `default` entry", () => {
      const registry = PolicyRegistry.fromConfig({
        retry: { default: { 'max-attempts': 4, delay: '1s' } },
        policies: { p: [{ retry: { delay: '10ms' } }] },
      });
      const stage = registry.policy('p').describe();
      expect(stage).to.equal('1. retry: up to 4 attempts, delay 10 ms, on all errors');
    });

    it('reads an empty entry (null in YAML) as the defaults', () => {
      const registry = PolicyRegistry.fromConfig(
        (
          parse(
            'resilience:\n  bulkhead:\n    default:\n    db:\n  policies:\n    p:\n      - bulkhead:\n',
          ) as {
            resilience: Record<string, unknown>;
          }
        ).resilience,
      );
      expect(registry.bulkhead('db').maxConcurrent).to.equal(10);
      expect(registry.policy('p').metrics().stages[0]).to.include({ maxConcurrent: 10 });
    });

    it('accepts durations as numbers of milliseconds', () => {
      const registry = PolicyRegistry.fromConfig({
        'time-limiter': { fast: { timeout: 250 } },
        policies: { p: [{ 'time-limiter': 1_500 }] },
      });
      expect(registry.timeLimiter('fast').timeoutMs).to.equal(250);
      expect(registry.policy('p').describe()).to.equal('1. timeout: 1500 ms');
    });

    it('gives every primitive and policy the clock passed to fromConfig', async () => {
      let now = 0;
      const handClock: Clock = {
        now: () => now,
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (h) => clearTimeout(h as number),
      };
      const registry = PolicyRegistry.fromConfig(
        { 'rate-limiter': { api: { 'max-tokens': 1, 'refill-rate': 1 } } },
        { clock: handClock },
      );
      const limiter = registry.rateLimiter('api');
      expect(limiter.tryAcquire()).to.equal(true);
      expect(limiter.tryAcquire()).to.equal(false);
      now = 1_000;
      expect(limiter.tryAcquire()).to.equal(true);
    });
  });

  describe('shared instances', () => {
    it('shares one RateLimiter between two policies that name it', async () => {
      const registry = PolicyRegistry.fromConfig({
        'rate-limiter': { 'payment-api': { 'max-tokens': 2, 'refill-rate': 1 } },
        policies: {
          checkout: [{ 'rate-limiter': 'payment-api' }],
          refunds: [{ retry: { 'max-attempts': 1 } }, { rateLimiter: 'payment-api' }],
        },
      });
      const shared = registry.rateLimiter('payment-api');
      expect(registry.rateLimiter('payment-api')).to.equal(shared);
      expect(registry.snapshot().primitives.get('rate-limiter')?.get('payment-api')).to.equal(
        shared,
      );
      await registry.policy('checkout').execute(() => 1);
      await registry.policy('refunds').execute(() => 2);
      expect(shared.availableTokens).to.equal(0);
      const error = await registry
        .policy('checkout')
        .execute(() => 3)
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(RateLimitExceededError);
    });

    it('shares the `default` instance with policies that name `default`', async () => {
      const registry = PolicyRegistry.fromConfig({
        'circuit-breaker': { default: { 'failure-threshold': 1 } },
        policies: { a: [{ 'circuit-breaker': 'default' }], b: [{ 'circuit-breaker': 'default' }] },
      });
      await registry
        .policy('a')
        .execute(() => Promise.reject(new Boom()))
        .catch(() => undefined);
      expect(registry.circuitBreaker('default').state).to.equal('open');
      expect(
        await registry
          .policy('b')
          .execute(() => 1)
          .catch((e: unknown) => e),
      ).to.be.instanceOf(CircuitOpenError);
    });

    it('gives each policy its own instance for inline options', async () => {
      const registry = PolicyRegistry.fromConfig({
        policies: {
          a: [{ 'rate-limiter': { 'max-tokens': 1 } }],
          b: [{ 'rate-limiter': { 'max-tokens': 1 } }],
        },
      });
      expect(await registry.policy('a').execute(() => 'a')).to.equal('a');
      expect(await registry.policy('b').execute(() => 'b')).to.equal('b');
    });

    it('creates an unconfigured name once and then returns the same instance', () => {
      const registry = new PolicyRegistry();
      const first = registry.bulkhead('reports');
      expect(registry.bulkhead('reports')).to.equal(first);
      expect(registry.bulkhead('other')).not.to.equal(first);
    });
  });

  describe('policies', () => {
    it('returns the same policy object on every call', () => {
      const registry = PolicyRegistry.fromConfig(kebabConfig());
      expect(registry.policy('pricing')).to.equal(registry.policy('pricing'));
    });

    it('lists configured then registered policy names', () => {
      const registry = PolicyRegistry.fromConfig({
        policies: { b: [{ retry: {} }], a: [] },
      });
      registry.register(Policy.builder('custom').timeout('1s').build());
      expect(registry.names()).to.deep.equal(['b', 'a', 'custom']);
    });

    it('returns a registered policy by its name', () => {
      const registry = new PolicyRegistry();
      const custom = Policy.builder('custom').build();
      expect(registry.register(custom)).to.equal(registry);
      expect(registry.policy('custom')).to.equal(custom);
    });

    it('refuses to register a second policy of the same name', () => {
      const registry = PolicyRegistry.fromConfig({ policies: { pricing: [] } });
      expect(() => registry.register(Policy.builder('pricing').build())).to.throw(
        Error,
        'A policy named "pricing" is already in the registry',
      );
    });

    it('refuses to register anything but a Policy', () => {
      expect(() => new PolicyRegistry().register({ name: 'x' } as never))
        .to.throw(TypeError, '`policy` must be a Policy, got an object')
        .and.include({ option: 'policy', expected: 'a Policy' });
    });

    it('throws an Error listing the known names for an unknown policy', () => {
      const registry = PolicyRegistry.fromConfig({ policies: { pricing: [], search: [] } });
      const error = thrown(() => registry.policy('pricng'));
      expect(error.constructor).to.equal(Error);
      expect(error.message).to.equal(
        'Unknown policy "pricng" (did you mean `pricing`?); known policies: pricing, search',
      );
      expect(() => new PolicyRegistry().policy('x')).to.throw(
        Error,
        'Unknown policy "x"; no policies are known',
      );
    });

    it('starts empty when constructed without configuration', () => {
      expect(new PolicyRegistry().names()).to.deep.equal([]);
      expect(PolicyRegistry.fromConfig(null).names()).to.deep.equal([]);
    });

    it('offers a read-only snapshot of its policies and primitives', () => {
      const registry = PolicyRegistry.fromConfig(kebabConfig());
      const snapshot = registry.snapshot();
      expect([...snapshot.policies.keys()]).to.deep.equal(['pricing']);
      expect([...(snapshot.primitives.get('rate-limiter')?.keys() ?? [])]).to.deep.equal([
        'default',
        'payment-api',
      ]);
      registry.rateLimiter('later');
      expect(snapshot.primitives.get('rate-limiter')?.has('later')).to.equal(false);
      expect(Object.isFrozen(snapshot)).to.equal(true);
    });
  });
});

describe('PolicyRegistry configuration validation', () => {
  function expectError(
    config: unknown,
    cls: abstract new (...args: never[]) => Error,
    message: string,
  ): Error {
    const error = thrown(() => PolicyRegistry.fromConfig(config as Record<string, unknown>));
    expect(error.constructor, error.message).to.equal(cls);
    expect(error.message).to.equal(message);
    return error;
  }

  it('names the path of an unknown option and suggests the nearest one', () => {
    expectError(
      { 'rate-limiter': { 'payment-api': { 'max-tokns': 10 } } },
      OptionTypeError,
      'resilience.rate-limiter.payment-api: unknown option `max-tokns` (did you mean `max-tokens`?)',
    );
    expectError(
      { rateLimiter: { 'payment-api': { maxTokns: 10 } } },
      OptionTypeError,
      'resilience.rateLimiter.payment-api: unknown option `maxTokns` (did you mean `maxTokens`?)',
    );
  });

  it("wraps a primitive's own message with the option's path, keeping its class", () => {
    const error = expectError(
      { bulkhead: { default: { 'max-concurrent': 0 } } },
      OptionRangeError,
      'resilience.bulkhead.default.max-concurrent: `max-concurrent` must be an integer >= 1, got 0',
    );
    expect((error as Error & { cause: unknown }).cause).to.be.instanceOf(RangeError);
    expectError(
      { 'rate-limiter': { api: { 'refill-rate': 'fast' } } },
      OptionTypeError,
      'resilience.rate-limiter.api.refill-rate: `refill-rate` must be a number > 0, got "fast"',
    );
  });

  it('validates the values of a policy stage with its path', () => {
    expectError(
      { policies: { pricing: [{ retry: {} }, { bulkhead: { 'max-concurrent': -1 } }] } },
      OptionRangeError,
      'resilience.policies.pricing[1].bulkhead.max-concurrent: `max-concurrent` must be an integer >= 1, got -1',
    );
  });

  it('validates entries that no policy uses, in fromConfig', () => {
    expectError(
      { 'circuit-breaker': { unused: { 'failure-rate-threshold': 2 } } },
      OptionRangeError,
      'resilience.circuit-breaker.unused.failure-rate-threshold: `failure-rate-threshold` must be a number in (0, 1], got 2',
    );
  });

  it('rejects bad durations with their path', () => {
    expectError(
      { 'time-limiter': { default: { timeout: '5 sec' } } },
      OptionTypeError,
      'resilience.time-limiter.default.timeout: `timeout` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "5 sec"',
    );
    expectError(
      { retry: { default: { delay: -1 } } },
      OptionRangeError,
      'resilience.retry.default.delay: `delay` must be a duration >= 0, got -1',
    );
    expectError(
      { retry: { default: { 'max-delay': '5' } } },
      OptionTypeError,
      'resilience.retry.default.max-delay: `max-delay` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "5"',
    );
  });

  it('rejects a time-limiter shorthand that is neither a duration nor a configured name', () => {
    expectError(
      {
        'time-limiter': { slow: { timeout: '10s' } },
        policies: { p: [{ 'time-limiter': '3 sec' }] },
      },
      OptionTypeError,
      'resilience.policies.p[0].time-limiter: "3 sec" is neither a duration nor a configured time-limiter; configured time-limiter names: slow; `default` names the built-in defaults',
    );
    expectError(
      { policies: { p: [{ 'time-limiter': -5 }] } },
      OptionRangeError,
      'resilience.policies.p[0].time-limiter: `timeout` must be a duration > 0, got -5',
    );
  });

  it('rejects a policy that names an unconfigured instance, listing the known names', () => {
    expectError(
      {
        'rate-limiter': { 'payment-api': {}, 'search-api': {} },
        policies: { pricing: [{ fallback: { value: 0 } }, { 'rate-limiter': 'paymnt-api' }] },
      },
      OptionTypeError,
      'resilience.policies.pricing[1].rate-limiter: "paymnt-api" is not a configured rate-limiter (did you mean `payment-api`?); configured rate-limiter names: payment-api, search-api; `default` names the built-in defaults',
    );
  });

  it('lists `default` among the known names as configured only when it is', () => {
    expectError(
      { policies: { p: [{ 'rate-limiter': 'api' }] } },
      OptionTypeError,
      'resilience.policies.p[0].rate-limiter: "api" is not a configured rate-limiter; no rate-limiter is configured; `default` names the built-in defaults',
    );
    expectError(
      {
        'rate-limiter': { default: { 'max-tokens': 3 }, search: {} },
        policies: { p: [{ 'rate-limiter': 'api' }] },
      },
      OptionTypeError,
      'resilience.policies.p[0].rate-limiter: "api" is not a configured rate-limiter; known rate-limiter names: default, search',
    );
    expectError(
      { retry: { r: { budget: 'api' } } },
      OptionTypeError,
      'resilience.retry.r.budget: `budget` must name a configured retry-budget; no retry-budget is configured; `default` names the built-in defaults; got "api"',
    );
    expectError(
      { 'retry-budget': { default: { ratio: 0.1 } }, retry: { r: { budget: 'api' } } },
      OptionTypeError,
      'resilience.retry.r.budget: `budget` must name a configured retry-budget; known retry-budget names: default; got "api"',
    );
  });

  it('rejects unknown top-level kinds with a suggestion', () => {
    expectError(
      { 'rate-limitr': {} },
      OptionTypeError,
      'resilience: unknown key `rate-limitr` (did you mean `rate-limiter`?)',
    );
    expectError(
      { circuitBraker: {} },
      OptionTypeError,
      'resilience: unknown key `circuitBraker` (did you mean `circuitBreaker`?)',
    );
    expectError({ caching: {} }, OptionTypeError, 'resilience: unknown key `caching`');
  });

  it('suggests a kind or option spelled as the keys beside it are, else as the typo is', () => {
    const hint = (config: Record<string, unknown>): string | undefined =>
      /did you mean `([^`]+)`/.exec(thrown(() => PolicyRegistry.fromConfig(config)).message)?.[1];
    // Kinds: lower-case or hyphenated, kebab-case; camelCase by a capital or the keys beside.
    expect(hint({ circuitbreaker: { a: {} } })).to.equal('circuit-breaker');
    expect(hint({ 'circuit-braker': {} })).to.equal('circuit-breaker');
    expect(hint({ circuitBreakr: {} })).to.equal('circuitBreaker');
    expect(hint({ circuitbreaker: {}, rateLimiter: {} })).to.equal('circuitBreaker');
    expect(hint({ circuitBreakr: {}, 'rate-limiter': {} })).to.equal('circuit-breaker');
    // Stage kinds, beside the policy's other stages and the sections.
    expect(hint({ policies: { p: [{ circuitbreaker: {} }] } })).to.equal('circuit-breaker');
    expect(hint({ policies: { p: [{ rateLimiter: {} }, { circuitbreakr: {} }] } })).to.equal(
      'circuitBreaker',
    );
    expect(hint({ timeLimiter: {}, policies: { p: [{ retyr: {} }] } })).to.equal('retry');
    // Options, beside the entry's other keys.
    expect(hint({ retry: { a: { maxattempts: 3 } } })).to.equal('max-attempts');
    expect(hint({ retry: { a: { max_attempts: 3 } } })).to.equal('max-attempts');
    expect(hint({ retry: { a: { maxAttemps: 3 } } })).to.equal('maxAttempts');
    expect(hint({ retry: { a: { maxattempts: 3, maxDelay: 5 } } })).to.equal('maxAttempts');
    expect(hint({ retry: { a: { maxAttemps: 3, 'max-delay': 5 } } })).to.equal('max-attempts');
    expect(hint({ bulkhead: { a: { 'max-queue': 1, maxWiat: 5 } } })).to.equal('max-wait');
    // Nested options, beside the entry's keys at any depth.
    expect(hint({ bulkhead: { a: { limit: { minsample: 5 } } } })).to.equal('limit.min-samples');
    expect(hint({ bulkhead: { a: { maxQueue: 1, limit: { minsample: 5 } } } })).to.equal(
      'limit.minSamples',
    );
  });

  it('rejects a shared fallback, which exists only inside a policy', () => {
    expectError(
      { fallback: { default: { value: null } } },
      OptionTypeError,
      'resilience.fallback: a fallback has no shared instances; declare it inside a policy (`- fallback: { value: null }`)',
    );
  });

  it('rejects malformed policies and stages', () => {
    expectError(
      { policies: { p: { retry: {} } } },
      OptionTypeError,
      'resilience.policies.p: must be a list of stages, outermost first (e.g. `- retry: { max-attempts: 3 }`), got an object',
    );
    expectError(
      { policies: { p: [{ retry: {}, bulkhead: {} }] } },
      OptionTypeError,
      'resilience.policies.p[0]: a stage must be an object with exactly one key, its kind (e.g. `bulkhead: { max-concurrent: 10 }`), got 2 keys',
    );
    expectError(
      { policies: { p: [{ retry: {} }, { retyr: {} }] } },
      OptionTypeError,
      'resilience.policies.p[1]: unknown stage kind `retyr` (did you mean `retry`?)',
    );
    expectError(
      { policies: { p: [{ bulkhead: 5 }] } },
      OptionTypeError,
      'resilience.policies.p[0].bulkhead: must be an object of bulkhead options or the name of a configured bulkhead, got 5',
    );
    expectError(
      { policies: { p: [{ fallback: {} }] } },
      OptionTypeError,
      'resilience.policies.p[0].fallback: a fallback from configuration needs `value` (e.g. `fallback: { value: null }`)',
    );
  });

  it('says that code such as error filters cannot come from configuration', () => {
    expectError(
      { retry: { default: { 'retry-on': ['Error'] } } },
      OptionTypeError,
      'resilience.retry.default: the option `retry-on` cannot come from configuration (it is code, not data); build that policy with Policy.builder() and register it',
    );
  });

  it('rejects the same option given in both spellings', () => {
    expectError(
      { bulkhead: { db: { 'max-concurrent': 1, maxConcurrent: 2 } } },
      OptionTypeError,
      'resilience.bulkhead.db: `max-concurrent` and `maxConcurrent` are the same option; give one',
    );
  });

  it('rejects values of the wrong shape', () => {
    expectError(
      42,
      OptionTypeError,
      'resilience: must be an object (the settings under `resilience:`), got 42',
    );
    expectError(
      { bulkhead: ['db'] },
      OptionTypeError,
      'resilience.bulkhead: must be an object mapping names to bulkhead options, got an array',
    );
    expectError(
      { bulkhead: { db: 3 } },
      OptionTypeError,
      'resilience.bulkhead.db: must be an object of bulkhead options, got 3',
    );
  });

  it('quotes names that would not read as one path segment', () => {
    expectError(
      { bulkhead: { 'legacy db': { 'max-concurent': 1 } } },
      OptionTypeError,
      'resilience.bulkhead["legacy db"]: unknown option `max-concurent` (did you mean `max-concurrent`?)',
    );
  });

  describe('prototype keys', () => {
    it('rejects `__proto__` from JSON.parse at any depth', () => {
      expectError(
        JSON.parse('{"__proto__": {"polluted": true}}'),
        OptionTypeError,
        'resilience.__proto__: the key `__proto__` is not allowed',
      );
      expectError(
        JSON.parse('{"rate-limiter": {"__proto__": {"max-tokens": 1}}}'),
        OptionTypeError,
        'resilience.rate-limiter.__proto__: the key `__proto__` is not allowed',
      );
      expectError(
        JSON.parse('{"bulkhead": {"db": {"__proto__": {"max-concurrent": 0}}}}'),
        OptionTypeError,
        'resilience.bulkhead.db.__proto__: the key `__proto__` is not allowed',
      );
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('rejects `constructor` and `prototype` as names and inside policies', () => {
      expectError(
        { retry: { constructor: {} } },
        OptionTypeError,
        'resilience.retry.constructor: the key `constructor` is not allowed',
      );
      expectError(
        { policies: { prototype: [] } },
        OptionTypeError,
        'resilience.policies.prototype: the key `prototype` is not allowed',
      );
      expectError(
        { policies: { p: [{ fallback: { value: { nested: { constructor: 1 } } } }] } },
        OptionTypeError,
        'resilience.policies.p[0].fallback.value.nested.constructor: the key `constructor` is not allowed',
      );
    });

    it('reads plain objects only, never inherited keys', () => {
      const inherited = Object.create({ bulkhead: { db: { 'max-concurrent': 0 } } }) as object;
      expectError(
        inherited,
        OptionTypeError,
        'resilience: must be an object (the settings under `resilience:`), got an object with a prototype of its own (only plain objects are read)',
      );
      expectError(
        { bulkhead: new Map([['db', {}]]) },
        OptionTypeError,
        'resilience.bulkhead: must be an object mapping names to bulkhead options, got an instance of Map',
      );
      // A null-prototype object (as some YAML parsers make) is a plain object.
      const bare = Object.assign(Object.create(null) as object, { bulkhead: { db: {} } });
      expect(PolicyRegistry.fromConfig(bare as never).bulkhead('db').maxConcurrent).to.equal(10);
    });
  });

  it('never modifies the configuration object', () => {
    const config = deepFreeze(kebabConfig());
    const before = JSON.stringify(config);
    const registry = PolicyRegistry.fromConfig(config);
    registry.rateLimiter('new-one');
    registry.policy('pricing');
    expect(JSON.stringify(config)).to.equal(before);
  });

  it('validates its own options', () => {
    expect(() => new PolicyRegistry({ clok: 1 } as never)).to.throw(
      TypeError,
      'PolicyRegistry: unknown option `clok` (did you mean `clock`?)',
    );
    expect(() => PolicyRegistry.fromConfig({}, { clock: {} as Clock })).to.throw(
      TypeError,
      '`clock`',
    );
    expect(() => new PolicyRegistry().rateLimiter(7 as never)).to.throw(
      TypeError,
      '`name` must be a string, got 7',
    );
  });
});
