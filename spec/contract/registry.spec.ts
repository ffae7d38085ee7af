// The registry and configuration rules of docs/CONTRACT.md (R-REG-*), `registry.health()` included.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import {
  Bulkhead,
  CircuitBreaker,
  Policy,
  PolicyRegistry,
  RateLimiter,
  Retry,
  TimeLimiter,
} from 'bulwark';
import { parse } from 'yaml';
import { never, settle, thrownBy } from './support.js';
import { CONFIG_YAML } from '../support/configExample.js';

function exampleConfig(): Record<string, unknown> {
  return (parse(CONFIG_YAML) as { resilience: Record<string, unknown> }).resilience;
}

describe('contract: Registry and configuration', () => {
  it('R-REG-1, R-REG-2: `PolicyRegistry.fromConfig(config)` takes the object under the `resilience:` key (parsed from YAML)', async () => {
    const clock = new ManualClock(1_000);
    const registry = PolicyRegistry.fromConfig(exampleConfig(), { clock });
    const pricing = registry.policy('pricing');
    expect(pricing).to.be.instanceOf(Policy);
    expect(pricing.stages).to.deep.equal([
      { kind: 'fallback', name: 'fallback' },
      { kind: 'rate-limiter', name: 'payment-api' },
      { kind: 'bulkhead', name: 'bulkhead' },
      { kind: 'timeout', name: 'timeout' },
    ]);
    expect(pricing.metrics().stages[2]).to.include({ maxConcurrent: 10 });
    // `- time-limiter: 3s` bounds the call; `- fallback: { value: null }` answers for it.
    const call = settle(pricing.execute(() => never()));
    await clock.advance(2_999);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('fulfilled');
    expect(call.value).to.equal(null);
  });

  it('R-REG-1: Keys are accepted in kebab-case and camelCase', () => {
    const registry = PolicyRegistry.fromConfig({
      rateLimiter: { default: { maxTokens: 7, refillRate: 1 }, api: { maxTokens: 3 } },
      circuitBreaker: { db: { failureThreshold: 2, recoveryTimeout: '1s' } },
      timeLimiter: { default: { timeout: '2s' } },
      policies: { p: [{ rateLimiter: 'api' }, { timeLimiter: '1s' }, { circuitBreaker: 'db' }] },
    });
    expect(registry.rateLimiter('api').availableTokens).to.equal(3);
    expect(registry.rateLimiter('other').availableTokens).to.equal(7);
    expect(registry.timeLimiter('t').timeoutMs).to.equal(2_000);
    expect(registry.policy('p').stages.map((s) => s.kind)).to.deep.equal([
      'rate-limiter',
      'timeout',
      'circuit-breaker',
    ]);
  });

  it('R-REG-3: Defaults when a kind has no `default` entry: rate-limiter max-tokens 10, refill-rate 10; bulkhead max-concurrent 10; time-limiter timeout 30s', async () => {
    const clock = new ManualClock(1_000);
    const registry = PolicyRegistry.fromConfig({}, { clock });
    const limiter = registry.rateLimiter('any');
    expect(limiter.availableTokens).to.equal(10);
    while (limiter.tryAcquire());
    await clock.advance(1_000);
    expect(limiter.availableTokens).to.be.closeTo(10, 1e-9);
    expect(registry.bulkhead('any').maxConcurrent).to.equal(10);
    expect(registry.timeLimiter('any').timeoutMs).to.equal(30_000);
    expect(PolicyRegistry.fromConfig(null).names()).to.deep.equal([]);
  });

  it('R-REG-4: `registry.rateLimiter(name)`, `.bulkhead(name)`, `.timeLimiter(name)`, `.circuitBreaker(name)`, `.retry(name)` return the one shared instance for that name', async () => {
    const registry = PolicyRegistry.fromConfig(exampleConfig());
    const getters = [
      ['rateLimiter', RateLimiter],
      ['bulkhead', Bulkhead],
      ['timeLimiter', TimeLimiter],
      ['circuitBreaker', CircuitBreaker],
      ['retry', Retry],
    ] as const;
    for (const [getter, Class] of getters) {
      for (const name of ['default', 'payment-api', 'inventory', 'unconfigured']) {
        const instance = registry[getter](name);
        expect(instance).to.be.instanceOf(Class);
        expect(registry[getter](name)).to.equal(instance);
      }
    }
    // The policy uses the shared `payment-api` limiter itself.
    const limiter = registry.rateLimiter('payment-api');
    expect(limiter.availableTokens).to.equal(10);
    await registry.policy('pricing').execute(() => 1);
    expect(limiter.availableTokens).to.be.below(10);
    expect(registry.circuitBreaker('inventory').describe()).to.include('3 consecutive failures');
  });

  it('R-REG-3: An entry that sets one of two options that cannot go together does not inherit the other from `default`', () => {
    const config = exampleConfig();
    const registry = PolicyRegistry.fromConfig({
      ...config,
      bulkhead: {
        default: { 'max-concurrent': 20 },
        db: { limit: { algorithm: 'aimd', max: 200 } },
      },
      retry: {
        default: { 'max-attempts': 3, delay: '200ms', backoff: 2 },
        polite: { 'backoff-type': 'linear' },
        spread: { jitter: 'decorrelated' },
      },
      'circuit-breaker': {
        default: { 'failure-rate-threshold': 0.5, 'window-type': 'time' },
        runs: { 'failure-threshold': 3 },
        counted: { 'window-size': 4 },
      },
    });
    expect(registry.bulkhead('db').adaptiveLimit?.algorithm).to.equal('aimd');
    expect(registry.bulkhead('other').maxConcurrent).to.equal(20);
    const polite = registry.retry('polite');
    expect([polite.maxAttempts, polite.delay, polite.backoffType, polite.backoff]).to.deep.equal([
      3,
      200,
      'linear',
      1,
    ]);
    expect([registry.retry('spread').jitter, registry.retry('spread').backoff]).to.deep.equal([
      'decorrelated',
      1,
    ]);
    expect(registry.circuitBreaker('runs').describe()).to.match(/^opens after 3 consecutive/);
    expect(registry.circuitBreaker('counted').describe()).to.match(/over the last 4 calls/);
    // One entry's own pair is refused as the primitive refuses it.
    expect(() =>
      PolicyRegistry.fromConfig({ bulkhead: { db: { 'max-concurrent': 5, limit: 5 } } }),
    ).to.throw(TypeError, /^resilience\.bulkhead\.db\.limit: /);
  });

  it('R-REG-3, R-REG-4: a name not configured gets the `default` settings', () => {
    const registry = PolicyRegistry.fromConfig(exampleConfig());
    expect(registry.rateLimiter('elsewhere').availableTokens).to.equal(100);
    expect(registry.rateLimiter('elsewhere').refillRate).to.equal(50);
    expect(registry.bulkhead('elsewhere').maxConcurrent).to.equal(20);
    expect(registry.timeLimiter('elsewhere').timeoutMs).to.equal(5_000);
    const retry = registry.retry('elsewhere');
    expect([retry.maxAttempts, retry.delay, retry.backoff]).to.deep.equal([3, 200, 2]);
    expect(registry.rateLimiter('payment-api').availableTokens).to.equal(10);
  });

  it('R-REG-5: `registry.policy(name)` returns a configured policy; `registry.register(policy)` adds a built one; `registry.names()` lists them', () => {
    const registry = PolicyRegistry.fromConfig(exampleConfig());
    expect(registry.policy('pricing')).to.equal(registry.policy('pricing'));
    const checkout = Policy.builder('checkout').retry({ maxAttempts: 2 }).build();
    registry.register(checkout);
    expect(registry.policy('checkout')).to.equal(checkout);
    expect(registry.names()).to.deep.equal(['pricing', 'checkout']);
  });

  it('R-REG-5: Registry: `policy(name)` for an unknown name throws an `Error` that lists the known names', () => {
    const registry = PolicyRegistry.fromConfig(exampleConfig());
    registry.register(Policy.builder('checkout').build());
    const error = thrownBy(() => registry.policy('shipping'));
    expect(error).to.be.instanceOf(Error);
    expect(error.message).to.include('shipping');
    expect(error.message).to.include('pricing');
    expect(error.message).to.include('checkout');
  });

  it('R-REG-6: An unknown key throws an error naming its full path, e.g. ``TypeError: resilience.rate-limiter.payment-api: unknown option `max-tokns` (did you mean `max-tokens`?)``', () => {
    const config = exampleConfig();
    (config['rate-limiter'] as Record<string, unknown>)['payment-api'] = {
      'max-tokns': 10,
      'refill-rate': 2,
    };
    const error = thrownBy(() => PolicyRegistry.fromConfig(config));
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal(
      'resilience.rate-limiter.payment-api: unknown option `max-tokns` (did you mean `max-tokens`?)',
    );
    expect(String(error)).to.equal(`TypeError: ${error.message}`);
    expect(error).to.include({
      option: 'resilience.rate-limiter.payment-api.max-tokns',
      expected: 'a known option',
      received: 10,
    });
    expect(() => PolicyRegistry.fromConfig({ 'rate-limitr': {} })).to.throw(
      TypeError,
      /^resilience: unknown key `rate-limitr`/,
    );
    expect(() =>
      PolicyRegistry.fromConfig({ policies: { p: [{ 'rate-limiter': { maxTokenz: 1 } }] } }),
    ).to.throw(
      TypeError,
      /^resilience\.policies\.p\[0\]\.rate-limiter: unknown option `maxTokenz`/,
    );
    // The hint is spelled as the configuration spells its keys.
    expect(() => PolicyRegistry.fromConfig({ circuitbreaker: {} })).to.throw(
      TypeError,
      'resilience: unknown key `circuitbreaker` (did you mean `circuit-breaker`?)',
    );
    expect(() => PolicyRegistry.fromConfig({ retry: { a: { maxAttemps: 3 } } })).to.throw(
      TypeError,
      'unknown option `maxAttemps` (did you mean `maxAttempts`?)',
    );
  });

  it('R-REG-6: a bad value throws an error naming its full path (TypeError or RangeError as for the option)', () => {
    const cases: Array<[Record<string, unknown>, typeof TypeError | typeof RangeError, string]> = [
      [
        { 'rate-limiter': { 'payment-api': { 'max-tokens': -1 } } },
        RangeError,
        'resilience.rate-limiter.payment-api.max-tokens: ',
      ],
      [
        { bulkhead: { default: { 'max-concurrent': '20' } } },
        TypeError,
        'resilience.bulkhead.default.max-concurrent: ',
      ],
      [
        { 'time-limiter': { slow: { timeout: '5 sec' } } },
        TypeError,
        'resilience.time-limiter.slow.timeout: ',
      ],
      [
        { retry: { default: { maxAttempts: 0 } } },
        RangeError,
        'resilience.retry.default.maxAttempts: ',
      ],
      [
        { policies: { p: [{ bulkhead: { 'max-concurrent': 0 } }] } },
        RangeError,
        'resilience.policies.p[0].bulkhead.max-concurrent: ',
      ],
    ];
    for (const [config, Class, prefix] of cases) {
      const error = thrownBy(() => PolicyRegistry.fromConfig(config));
      expect(error, prefix).to.be.instanceOf(Class);
      expect(error.message.startsWith(prefix), error.message).to.equal(true);
    }
  });

  it('R-REG-7: Keys `__proto__`, `constructor` and `prototype` are rejected', () => {
    const texts = [
      '{"__proto__": {"max-tokens": 1}}',
      '{"rate-limiter": {"__proto__": {"max-tokens": 1}}}',
      '{"rate-limiter": {"constructor": {"max-tokens": 1}}}',
      '{"rate-limiter": {"api": {"prototype": 1}}}',
      '{"policies": {"constructor": []}}',
    ];
    for (const text of texts) {
      const error = thrownBy(() => PolicyRegistry.fromConfig(JSON.parse(text)));
      expect(error, text).to.be.instanceOf(TypeError);
      expect(error.message).to.match(/^resilience/);
    }
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('R-REG-6: a configured policy needs a name, as `Policy.builder` does', () => {
    const message = 'resilience.policies[""]: a policy name must be a non-empty string, got ""';
    const error = thrownBy(() => PolicyRegistry.fromConfig({ policies: { '': [] } }));
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal(message);
    expect(error).to.include({ option: 'resilience.policies[""]', received: '' });
    const registry = PolicyRegistry.fromConfig({ policies: { p: [] } });
    const reloading = thrownBy(() => registry.reload({ policies: { p: [], '': [] } }));
    expect(reloading.message).to.equal(message);
    expect(registry.names()).to.deep.equal(['p']);
  });

  it('R-REG-8: Values are validated in `fromConfig`, not on first use', () => {
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { unused: { 'failure-rate-threshold': 2 } },
      }),
    ).to.throw(RangeError, 'resilience.circuit-breaker.unused.failure-rate-threshold');
    expect(() =>
      PolicyRegistry.fromConfig({ policies: { p: [{ 'rate-limiter': 'missing' }] } }),
    ).to.throw(TypeError, 'resilience.policies.p[0].rate-limiter');
  });

  it('R-REG-10: `registry.health()` returns a plain JSON-able snapshot `{ policies: { [name]: metrics }, primitives: { [kind]: { [name]: state } } }`', async () => {
    const registry = PolicyRegistry.fromConfig(exampleConfig());
    await registry.policy('pricing').execute(() => 1);
    registry.retry('default');
    const health = registry.health();
    expect(JSON.parse(JSON.stringify(health))).to.deep.equal(health);
    expect(Object.keys(health)).to.deep.equal(['policies', 'primitives']);
    expect(Object.keys(health.policies)).to.deep.equal(['pricing']);
    const metrics = registry.policy('pricing').metrics();
    expect(health.policies.pricing).to.deep.include({
      calls: metrics.calls,
      successes: metrics.successes,
      failures: metrics.failures,
      rejections: metrics.rejections,
    });
    expect(health.policies.pricing?.stages.map((s) => s.kind)).to.deep.equal([
      'fallback',
      'rate-limiter',
      'bulkhead',
      'timeout',
    ]);
  });

  it('R-REG-10: with kinds spelled as in the configuration (`rate-limiter`, `bulkhead`, `time-limiter`, `circuit-breaker`, `retry-budget`, `retry`, `hedge`, `chaos`) and each state shaped like that primitive’s entry in `metrics().stages`', () => {
    const registry = PolicyRegistry.fromConfig(exampleConfig());
    registry.rateLimiter('payment-api');
    const { primitives } = registry.health();
    expect(Object.keys(primitives).sort()).to.deep.equal(
      [
        'bulkhead',
        'chaos',
        'circuit-breaker',
        'hedge',
        'rate-limiter',
        'retry',
        'retry-budget',
        'time-limiter',
      ].sort(),
    );
    const payment = primitives['rate-limiter']['payment-api'];
    const stage = registry.policy('pricing').metrics().stages[1];
    expect(Object.keys(payment ?? {}).sort()).to.deep.equal(Object.keys(stage ?? {}).sort());
    expect(payment).to.include({ kind: 'rate-limiter', name: 'payment-api', maxTokens: 10 });
    const inventory = primitives['circuit-breaker'].inventory;
    expect(inventory).to.deep.equal({
      kind: 'circuit-breaker',
      name: 'inventory',
      state: 'closed',
      failureRate: 0,
      slowCallRate: 0,
      bufferedCalls: 0,
      failedCalls: 0,
      slowCalls: 0,
    });
    expect(primitives.bulkhead.default).to.deep.equal({
      kind: 'bulkhead',
      name: 'default',
      availableSlots: 20,
      maxConcurrent: 20,
      queued: 0,
      orphaned: 0,
    });
    expect(primitives['time-limiter'].default).to.include({ name: 'default', timeoutMs: 5_000 });
    expect(primitives.retry.default).to.include({ kind: 'retry', name: 'default' });
  });
});
