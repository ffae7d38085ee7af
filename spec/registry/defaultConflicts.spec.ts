// A kind's `default` entry under an entry that chooses otherwise: the entry's own option wins over
// an inherited one it cannot go with (`limit` and `max-concurrent`, `backoff` and another
// `backoff-type`, ...), for named entries and a policy's own stages alike; options that conflict
// within one entry stay refused.
import { expect } from 'chai';
import type { ResilienceConfig } from '../../src/registry/config.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';

// The README's own `default` entries.
const README_RETRY = { 'max-attempts': 3, delay: '200ms', backoff: 2 };
const README_BULKHEAD = { 'max-concurrent': 20 };

describe('PolicyRegistry: an entry over its kind default, with options that cannot go together', () => {
  it("gives an adaptive `limit` to a bulkhead under a default's `max-concurrent`, and the reverse", () => {
    const adaptive = PolicyRegistry.fromConfig({
      bulkhead: {
        default: README_BULKHEAD,
        db: { limit: { algorithm: 'aimd', max: 200 }, 'max-queue': 5 },
      },
    });
    const db = adaptive.bulkhead('db');
    expect(db.adaptiveLimit?.algorithm).to.equal('aimd');
    expect(db.adaptiveLimit?.max).to.equal(200);
    expect(db.maxQueue).to.equal(5);
    // The default itself, and a name it alone configures, keep the fixed limit.
    expect(adaptive.bulkhead('default').maxConcurrent).to.equal(20);
    expect(adaptive.bulkhead('other').adaptiveLimit).to.equal(undefined);

    const fixed = PolicyRegistry.fromConfig({
      bulkhead: {
        default: { limit: { algorithm: 'aimd', max: 200 }, 'max-queue': 7 },
        db: { 'max-concurrent': 5 },
        numeric: { limit: 3 },
      },
    });
    expect(fixed.bulkhead('db').adaptiveLimit).to.equal(undefined);
    expect(fixed.bulkhead('db').maxConcurrent).to.equal(5);
    expect(fixed.bulkhead('db').maxQueue).to.equal(7);
    expect(fixed.bulkhead('numeric').maxConcurrent).to.equal(3);
    expect(fixed.bulkhead('default').adaptiveLimit?.max).to.equal(200);
  });

  it('gives a bulkhead without a queue no wait from the default', () => {
    const registry = PolicyRegistry.fromConfig({
      bulkhead: { default: { 'max-queue': 10, 'max-wait': '1s' }, direct: { 'max-queue': 0 } },
    });
    expect(registry.bulkhead('direct').maxQueue).to.equal(0);
    expect(registry.bulkhead('direct').maxWaitMs).to.equal(Infinity);
    expect(registry.bulkhead('other').maxWaitMs).to.equal(1000);
  });

  it("lets a retry's own backoff-type or decorrelated jitter drop the default's `backoff`", () => {
    const registry = PolicyRegistry.fromConfig({
      retry: {
        default: README_RETRY,
        linear: { 'backoff-type': 'linear' },
        constant: { 'backoff-type': 'constant' },
        decorrelated: { jitter: 'decorrelated' },
        written: { 'backoff-type': 'linear', backoff: 1 },
        full: { jitter: 'full' },
      },
    });
    for (const [name, type] of [
      ['linear', 'linear'],
      ['constant', 'constant'],
      ['decorrelated', 'exponential'],
      ['written', 'linear'],
    ] as const) {
      const retry = registry.retry(name);
      expect(retry.backoff, name).to.equal(1);
      expect(retry.backoffType, name).to.equal(type);
      // The rest of the default still applies.
      expect([retry.maxAttempts, retry.delay], name).to.deep.equal([3, 200]);
    }
    expect(registry.retry('linear').delayFor(2)).to.equal(600);
    expect(registry.retry('decorrelated').jitter).to.equal('decorrelated');
    // Full jitter goes with a backoff: it keeps the default's.
    expect(registry.retry('full').backoff).to.equal(2);
    expect(registry.retry('full').jitter).to.equal('full');
  });

  it("lets a retry's own `backoff` drop the default's other backoff-type or decorrelated jitter", () => {
    const registry = PolicyRegistry.fromConfig({
      retry: {
        default: { delay: 100, 'backoff-type': 'linear' },
        steep: { backoff: 3 },
        flat: { backoff: 1 },
      },
    });
    expect(registry.retry('steep').backoffType).to.equal('exponential');
    expect(registry.retry('steep').delayFor(2)).to.equal(900);
    // `backoff: 1` goes with any backoff-type: the default's stays.
    expect(registry.retry('flat').backoffType).to.equal('linear');

    const jittered = PolicyRegistry.fromConfig({
      retry: {
        default: { delay: 100, jitter: 'decorrelated' },
        steep: { backoff: 2 },
        linear: { 'backoff-type': 'linear' },
      },
    });
    expect(jittered.retry('steep').jitter).to.equal(0);
    expect(jittered.retry('steep').backoff).to.equal(2);
    expect(jittered.retry('linear').jitter).to.equal(0);
    expect(jittered.retry('linear').backoffType).to.equal('linear');
  });

  it("so for a policy's own stage over the kind's `default`", () => {
    const registry = PolicyRegistry.fromConfig({
      retry: { default: README_RETRY },
      bulkhead: { default: README_BULKHEAD },
      policies: {
        p: [
          { retry: { 'backoff-type': 'linear' } },
          { bulkhead: { limit: { algorithm: 'gradient2', max: 50 } } },
        ],
      },
    });
    const [retry, bulkhead] = registry.policy('p').describe().split('\n');
    expect(retry).to.match(/up to 3 attempts, delay 200 ms, linear, on all errors/);
    expect(bulkhead).to.match(/adaptive limit \(gradient2, 1\.\.50\)/);
  });

  it("lets a breaker's own failure-threshold or window choice drop the default's other one", () => {
    const registry = PolicyRegistry.fromConfig({
      'circuit-breaker': {
        default: {
          'failure-rate-threshold': 0.5,
          'window-type': 'time',
          'window-duration': '30s',
          'minimum-calls': 4,
        },
        consecutive: { 'failure-threshold': 3 },
        counted: { 'window-size': 8 },
      },
    });
    expect(registry.circuitBreaker('consecutive').describe()).to.match(
      /^opens after 3 consecutive failures,/,
    );
    expect(registry.circuitBreaker('counted').describe()).to.match(
      /^opens at 50% failures over the last 8 calls \(minimum 4 calls\)/,
    );
    expect(registry.circuitBreaker('other').describe()).to.match(
      /^opens at 50% failures over 30000 ms/,
    );
  });

  it("keeps a breaker with a time window when only the default's window size changes", () => {
    const config = (size: number): ResilienceConfig => ({
      'circuit-breaker': {
        default: { 'failure-rate-threshold': 0.5, 'window-size': size },
        timed: { 'window-type': 'time' },
      },
    });
    const registry = PolicyRegistry.fromConfig(config(20));
    const timed = registry.circuitBreaker('timed');
    const event = registry.reload(config(40));
    expect(event.changed).to.deep.equal(['circuit-breaker.default']);
    expect(registry.circuitBreaker('timed')).to.equal(timed);
  });

  it('still refuses options that conflict within one entry, saying where', () => {
    // The entry's own pair.
    expect(() =>
      PolicyRegistry.fromConfig({
        retry: { default: README_RETRY, polite: { 'backoff-type': 'linear', backoff: 2 } },
      }),
    )
      .to.throw(
        TypeError,
        "resilience.retry.polite.backoff: `backoff` must be unset with backoffType 'linear' (or 1), got 2",
      )
      .with.property('option', 'resilience.retry.polite.backoff');
    // The default's own pair, whichever entry inherits it.
    expect(() =>
      PolicyRegistry.fromConfig({
        bulkhead: {
          default: { 'max-concurrent': 5, limit: { algorithm: 'aimd' } },
          db: { 'max-queue': 1 },
        },
      }),
    )
      .to.throw(TypeError, /^resilience\.bulkhead\.default\.limit: `limit` must be unset when/)
      .with.property('option', 'resilience.bulkhead.default.limit');
    // A policy's own stage's pair.
    expect(() =>
      PolicyRegistry.fromConfig({
        policies: { p: [{ retry: { jitter: 'decorrelated', 'backoff-type': 'constant' } }] },
      }),
    ).to.throw(TypeError, /^resilience\.policies\.p\[0\]\.retry\.backoff-type: /);
    // Values that are no choice of a mode still meet: an inherited one is refused at the entry.
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': {
          default: { 'recovery-timeout': '10s', 'max-recovery-timeout': '1m' },
          slow: { 'recovery-timeout': '2m' },
        },
      }),
    ).to.throw(
      RangeError,
      /^resilience\.circuit-breaker\.slow \(max-recovery-timeout from resilience\.circuit-breaker\.default\): /,
    );
  });
});
