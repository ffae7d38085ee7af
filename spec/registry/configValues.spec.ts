import { expect } from 'chai';
import { runInNewContext } from 'node:vm';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';

const down = (): never => {
  throw new Error('down');
};

describe('PolicyRegistry: configured values are the registry own copies', () => {
  it('never hands a caller the configuration object a fallback value came from', async () => {
    const value = { price: 0, tags: ['cached'] };
    const config = { policies: { p: [{ fallback: { value } }] } };
    const registry = PolicyRegistry.fromConfig(config);
    const answer = (await registry.policy('p').execute(down)) as typeof value;
    expect(answer).to.deep.equal({ price: 0, tags: ['cached'] });
    expect(answer).to.not.equal(value);
    expect(answer.tags).to.not.equal(value.tags);
  });

  it('keeps a caller that changes its answer from changing the configuration or the next answer', async () => {
    const config = { policies: { p: [{ fallback: { value: { price: 0, tags: ['a'] } } }] } };
    const registry = PolicyRegistry.fromConfig(config);
    const first = (await registry.policy('p').execute(down)) as { price: number; tags: string[] };
    expect(() => {
      first.price = 999;
    }).to.throw(TypeError);
    expect(() => first.tags.push('b')).to.throw(TypeError);
    expect(config.policies.p[0]?.fallback.value).to.deep.equal({ price: 0, tags: ['a'] });
    expect(await registry.policy('p').execute(down)).to.deep.equal({ price: 0, tags: ['a'] });
    expect(
      registry.reload({ policies: { p: [{ fallback: { value: { price: 0, tags: ['a'] } } }] } }),
    ).to.deep.include({ changed: [] });
  });

  it('copies a value that refers to itself, and keeps values that are not plain data as they are', async () => {
    const when = new Date(0);
    const cyclic: Record<string, unknown> = { when };
    cyclic.self = cyclic;
    const registry = PolicyRegistry.fromConfig({
      policies: { p: [{ fallback: { value: cyclic } }] },
    });
    const answer = (await registry.policy('p').execute(down)) as Record<string, unknown>;
    expect(answer).to.not.equal(cyclic);
    expect(answer.self).to.equal(answer);
    expect(answer.when).to.equal(when);
  });
});

describe('PolicyRegistry: keys of nested option objects', () => {
  it("reads a bulkhead's `limit` options in kebab-case or camelCase", () => {
    for (const limit of [
      { algorithm: 'aimd', 'min-samples': 5, 'backoff-ratio': 0.8, initial: 4 },
      { algorithm: 'aimd', minSamples: 5, backoffRatio: 0.8, initial: 4 },
      { algorithm: 'gradient2', 'long-window': 100, initial: 4 },
    ]) {
      const registry = PolicyRegistry.fromConfig({ bulkhead: { db: { limit } } });
      expect(registry.bulkhead('db').maxConcurrent).to.equal(4);
      expect(registry.bulkhead('db').adaptiveLimit?.algorithm).to.equal(limit.algorithm);
    }
  });

  it('names a bad nested key or value as written, and suggests a key in the same case', () => {
    const load =
      (limit: Record<string, unknown>): (() => unknown) =>
      () =>
        PolicyRegistry.fromConfig({ bulkhead: { db: { 'max-queue': 1, limit } } });
    expect(load({ 'min-sample': 5 })).to.throw(
      TypeError,
      'resilience.bulkhead.db.limit.min-sample: AdaptiveLimit: unknown option `limit.min-sample` (did you mean `limit.min-samples`?)',
    );
    expect(load({ 'min-samples': 0 }))
      .to.throw(RangeError, /^resilience\.bulkhead\.db\.limit\.min-samples: /)
      .with.property('option', 'resilience.bulkhead.db.limit.min-samples');
    expect(load({ 'min-samples': 5, minSamples: 5 })).to.throw(
      TypeError,
      'resilience.bulkhead.db.limit: `min-samples` and `minSamples` are the same option; give one',
    );
    expect(() =>
      PolicyRegistry.fromConfig({ bulkhead: { db: { limit: { minSample: 5 } } } }),
    ).to.throw(TypeError, 'unknown option `limit.minSample` (did you mean `limit.minSamples`?)');
  });

  it('keeps data as written: a fallback value keeps its kebab-case keys', async () => {
    const registry = PolicyRegistry.fromConfig({
      policies: { p: [{ fallback: { value: { 'max-age': 1, nested: { 'a-b': 2 } } } }] },
    });
    expect(await registry.policy('p').execute(down)).to.deep.equal({
      'max-age': 1,
      nested: { 'a-b': 2 },
    });
  });
});

describe("PolicyRegistry: errors over a kind's `default` entry", () => {
  it('reports a value from `default` at the entry, saying where it came from', () => {
    const load = (): unknown =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { default: { 'minimum-calls': 8 }, x: { 'window-size': 5 } },
      });
    expect(load)
      .to.throw(
        RangeError,
        'resilience.circuit-breaker.x (minimum-calls from resilience.circuit-breaker.default): ' +
          '`minimum-calls` must be an integer <= `window-size` (5) for a count window, got 8',
      )
      .with.property('option', 'resilience.circuit-breaker.default.minimum-calls');
    // Written in camelCase, named so.
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { default: { minimumCalls: 8 }, x: { windowSize: 5 } },
      }),
    ).to.throw(
      RangeError,
      'resilience.circuit-breaker.x (minimumCalls from resilience.circuit-breaker.default): ' +
        '`minimumCalls` must be an integer <= `windowSize` (5) for a count window, got 8',
    );
  });

  it("so for a policy's own stage over the kind's `default`", () => {
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { default: { 'minimum-calls': 8 } },
        policies: { p: [{ 'circuit-breaker': { 'window-size': 5 } }] },
      }),
    )
      .to.throw(
        RangeError,
        'resilience.policies.p[0].circuit-breaker (minimum-calls from resilience.circuit-breaker.default): `minimum-calls` must be an integer <= `window-size` (5) for a count window, got 8',
      )
      .with.property('option', 'resilience.circuit-breaker.default.minimum-calls');
  });

  it('reports a value the entry sets at its own path, though `default` sets it too', () => {
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { default: { 'minimum-calls': 3 }, x: { 'minimum-calls': 0 } },
      }),
    )
      .to.throw(RangeError, /^resilience\.circuit-breaker\.x\.minimum-calls: `minimum-calls` /)
      .with.property('option', 'resilience.circuit-breaker.x.minimum-calls');
  });
});

describe('PolicyRegistry: a snapshot as `initial-state`', () => {
  it('starts a breaker and a rate limiter from the JSON their toJSON() gave', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    await breaker.execute(down).catch(() => undefined);
    const limiter = new RateLimiter({ maxTokens: 5, refillRate: 0.001 });
    for (let i = 0; i < 5; i++) limiter.tryAcquire();
    const saved = JSON.parse(JSON.stringify({ breaker, limiter })) as Record<string, unknown>;
    const registry = PolicyRegistry.fromConfig({
      'circuit-breaker': { c: { 'failure-threshold': 1, 'initial-state': saved.breaker } },
      'rate-limiter': { r: { 'max-tokens': 5, 'refill-rate': 0.001, initialState: saved.limiter } },
    });
    expect(registry.circuitBreaker('c').state).to.equal('open');
    expect(registry.rateLimiter('r').availableTokens).to.be.below(1);
  });

  it('checks it as the constructor does, naming its path', () => {
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { c: { 'initial-state': { format: 'bulwark.circuit-breaker' } } },
      }),
    )
      .to.throw(RangeError, /^resilience\.circuit-breaker\.c\.initial-state: /)
      .with.property('option', 'resilience.circuit-breaker.c.initial-state');
    expect(() => PolicyRegistry.fromConfig({ bulkhead: { b: { 'initial-state': {} } } })).to.throw(
      TypeError,
      'resilience.bulkhead.b: unknown option `initial-state`',
    );
  });
});

describe('PolicyRegistry: objects of another realm', () => {
  it('reads a configuration and options parsed in another realm (vm) as plain objects', async () => {
    const config = runInNewContext('JSON.parse(s)', {
      s: JSON.stringify({
        retry: { default: { 'max-attempts': 2 } },
        bulkhead: { db: { limit: { algorithm: 'aimd', initial: 3 } } },
        policies: { a: [{ fallback: { value: { ok: true } } }, { retry: 'default' }] },
      }),
    }) as Record<string, unknown>;
    const registry = PolicyRegistry.fromConfig(config);
    expect(registry.retry('default').toString()).to.be.a('string');
    expect(registry.bulkhead('db').maxConcurrent).to.equal(3);
    const answer = (await registry.policy('a').execute(down)) as object;
    expect(answer).to.deep.equal({ ok: true });
    expect(Object.getPrototypeOf(answer)).to.equal(Object.prototype);
    // The same configuration again changes nothing.
    expect(registry.reload(config)).to.deep.equal({ added: [], removed: [], changed: [] });
    const options = runInNewContext('({ maxAttempts: 2, delay: "10ms" })') as object;
    expect(Policy.builder('x').retry(options).build().describe()).to.match(/2 attempts/);
  });

  it('still refuses an instance of a class of another realm', () => {
    const instance = runInNewContext('new (class Settings {})()') as object;
    expect(() => Policy.builder('x').retry(instance as never)).to.throw(
      TypeError,
      '`options` must be Retry options or a Retry, got an instance of Settings',
    );
  });
});
