// What `console.log` (Node's `util.inspect`) shows of a circuit breaker, a retry and a fallback:
// their settings and, for the breaker, its live state, as a rate limiter, a bulkhead and a time
// limiter show their settings. None of them gains an own property for it.
import { expect } from 'chai';
import { inspect } from 'node:util';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { ManualClock } from '../support/clock.js';

const oneLine = (value: unknown): string =>
  inspect(value, { depth: Infinity, breakLength: Infinity });

describe('inspect views of CircuitBreaker, Retry and Fallback', () => {
  it('a breaker shows its state, its counts and its settings, and follows the circuit', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '10s', clock });
    expect(oneLine(breaker)).to.equal(
      "CircuitBreaker { state: 'closed', failureRate: 0, slowCallRate: 0, bufferedCalls: 0, failedCalls: 0, slowCalls: 0, failureThreshold: 1, windowType: 'count', windowSize: 10, minimumCalls: 10, recoveryTimeoutMs: 10000, halfOpenMaxCalls: 1, halfOpenWaitMs: 0 }",
    );
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(oneLine(breaker)).to.match(
      /^CircuitBreaker \{ state: 'open', failureRate: 1, slowCallRate: 0, bufferedCalls: 1, failedCalls: 1, /,
    );
    clock.tick(10_000);
    expect(oneLine(breaker)).to.match(/^CircuitBreaker \{ state: 'half-open', /);
    // Nested as deep as a logger goes, it keeps its name.
    expect(inspect({ a: { breaker } }, { depth: 1 })).to.equal(
      '{ a: { breaker: [CircuitBreaker] } }',
    );
    expect(Object.keys(breaker)).to.deep.equal([]);
  });

  it('a breaker shows the settings it was given, times in ms', () => {
    const breaker = new CircuitBreaker({
      failureRateThreshold: 0.5,
      slowCallDuration: '2s',
      slowCallRateThreshold: 0.8,
      windowType: 'time',
      windowDuration: '30s',
      minimumCalls: 4,
      recoveryTimeout: '5s',
      recoveryBackoff: 2,
      maxRecoveryTimeout: '1m',
      halfOpenMaxCalls: 3,
      halfOpenWait: '1s',
    });
    expect(oneLine(breaker)).to.equal(
      "CircuitBreaker { state: 'closed', failureRate: 0, slowCallRate: 0, bufferedCalls: 0, failedCalls: 0, slowCalls: 0, openDurationMs: 5000, failureThreshold: 5, failureRateThreshold: 0.5, slowCallDurationMs: 2000, slowCallRateThreshold: 0.8, windowType: 'time', windowDurationMs: 30000, minimumCalls: 4, recoveryTimeoutMs: 5000, recoveryBackoff: 2, maxRecoveryTimeoutMs: 60000, halfOpenMaxCalls: 3, halfOpenWaitMs: 1000 }",
    );
  });

  it('a breaker over a store that answers with promises shows what it last knew, asking nothing', () => {
    const memory = new InMemoryCircuitBreakerStore();
    let asked = 0;
    const store: CircuitBreakerStore = {
      configure: (config) => memory.configure(config),
      acquire: () => Promise.resolve(memory.acquire()),
      record: (outcome) => Promise.resolve(memory.record(outcome)),
      release: () => Promise.resolve(memory.release()),
      state: () => Promise.resolve(memory.state()),
      snapshot: () => {
        asked++;
        return Promise.resolve(memory.snapshot());
      },
      isolate: () => Promise.resolve(memory.isolate()),
      reset: () => Promise.resolve(memory.reset()),
    };
    const breaker = new CircuitBreaker({ store });
    expect(oneLine(breaker)).to.match(/^CircuitBreaker \{ state: 'closed', failureRate: 0, /);
    expect(asked).to.equal(0);
  });

  it('a retry shows its settings, times in ms', () => {
    const budget = new RetryBudget({ ratio: 0.2 });
    const retry = new Retry({
      maxAttempts: 4,
      delay: '100ms',
      backoff: 2,
      jitter: 0.1,
      maxDelay: '1s',
      budget,
    });
    expect(oneLine(retry)).to.equal(
      "Retry { maxAttempts: 4, delayMs: 100, backoffType: 'exponential', backoff: 2, jitter: 0.1, maxDelayMs: 1000, maxRetryAfterMs: 1000, budget: RetryBudget { ratio: 0.2, minPerSecond: 10, windowMs: 10000 } }",
    );
    expect(oneLine(new Retry())).to.equal(
      "Retry { maxAttempts: 3, delayMs: 0, backoffType: 'exponential', backoff: 1, jitter: 0 }",
    );
    function backOff(): number {
      return 5;
    }
    expect(oneLine(new Retry({ delay: backOff }))).to.equal(
      "Retry { maxAttempts: 3, delay: [Function: backOff], backoffType: 'exponential', backoff: 1, jitter: 0 }",
    );
    expect(Object.keys(retry)).to.deep.equal([]);
  });

  it('a fallback shows its value or its method, and what it replaces', () => {
    expect(oneLine(new Fallback({ value: { price: 0 } }))).to.equal(
      "Fallback { value: { price: 0 }, replaces: 'all errors' }",
    );
    expect(oneLine(new Fallback({ value: undefined }))).to.equal(
      "Fallback { value: undefined, replaces: 'all errors' }",
    );
    function cachedPrice(): number {
      return 1;
    }
    const fallback = new Fallback({
      method: cachedPrice,
      on: [TypeError],
      onResult: (r: number) => r < 0,
    });
    expect(oneLine(fallback)).to.equal(
      "Fallback { method: [Function: cachedPrice], replaces: 'matching errors and matching results' }",
    );
    expect(Object.keys(fallback)).to.deep.equal([]);
  });

  it('a subclass with a view of its own keeps it', () => {
    class Logged extends Retry {
      [Symbol.for('nodejs.util.inspect.custom')](): string {
        return 'Logged';
      }
    }
    expect(inspect(new Logged())).to.equal('Logged');
    expect(oneLine(new Retry())).to.match(/^Retry \{ maxAttempts: 3, /);
  });

  it('a subclass without a view of its own is shown under its own name', () => {
    class PricingBreaker extends CircuitBreaker {}
    class PricingRetry extends Retry {}
    expect(oneLine(new PricingBreaker({ failureThreshold: 2 }))).to.match(
      /^PricingBreaker \{ state: 'closed', .*failureThreshold: 2, /,
    );
    expect(oneLine(new PricingRetry({ maxAttempts: 4 }))).to.match(
      /^PricingRetry \{ maxAttempts: 4, /,
    );
    expect(oneLine(new CircuitBreaker())).to.match(/^CircuitBreaker \{ /);
  });

  it('logging never throws: an object the constructor did not make, a store that throws', () => {
    new CircuitBreaker();
    new Retry();
    new Fallback({ value: 1 });
    // A test double made on the prototype (sinon's createStubInstance does the same).
    expect(inspect(Object.create(CircuitBreaker.prototype))).to.equal('CircuitBreaker {}');
    expect(inspect(Object.create(Retry.prototype))).to.equal('Retry {}');
    expect(inspect(Object.create(Fallback.prototype))).to.equal('Fallback {}');
    const memory = new InMemoryCircuitBreakerStore();
    const failing: CircuitBreakerStore = {
      configure: (config) => memory.configure(config),
      acquire: () => memory.acquire(),
      record: (outcome) => memory.record(outcome),
      release: () => memory.release(),
      state: () => memory.state(),
      snapshot: () => {
        throw new Error('store down');
      },
      isolate: () => memory.isolate(),
      reset: () => memory.reset(),
    };
    expect(inspect(new CircuitBreaker({ store: failing }))).to.equal('CircuitBreaker {}');
  });

  it("a class frozen before its first instance still makes instances (with Node's own view)", async () => {
    // A copy of the module whose classes have made no instance yet (a query makes a new module).
    // @ts-expect-error -- a query string makes a new copy of the module
    const fresh = (await import('../../src/strategies/retry/Retry.js?frozen')) as {
      Retry: typeof Retry;
    };
    Object.freeze(fresh.Retry.prototype);
    const retry = new fresh.Retry({ maxAttempts: 2 });
    expect(retry.maxAttempts).to.equal(2);
    expect(inspect(retry)).to.equal('Retry {}');
  });
});
