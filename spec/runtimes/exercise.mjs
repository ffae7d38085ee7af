// The runtime exercise: one plain-JS walk through the public API, run unchanged in Node, Bun,
// Deno and a browser against the packed package (`bulwark` resolves to the tarball's contents).
// It uses only what every runtime has (promises, timers, AbortController, performance) and real
// time with short durations, asserting only what a busy machine cannot change (a deadline fires
// before a later timer; nothing refills within seconds); the circuit's clock is moved by hand.
// Every call it starts settles before it returns, so a runtime's process can exit on its own.
import {
  Bulkhead,
  BulkheadFullError,
  CircuitBreaker,
  CircuitOpenError,
  CircuitState,
  Fallback,
  OperationTimeoutError,
  Policy,
  PolicyRegistry,
  RateLimiter,
  RateLimitExceededError,
  ResilienceError,
  Retry,
  TimeLimiter,
  bulkhead,
  circuitBreaker,
  fallback,
  isBulkheadFullError,
  isCircuitOpenError,
  isOperationTimeoutError,
  isRateLimitExceededError,
  isResilienceError,
  parseDuration,
  rateLimiter,
  retry,
  timeLimiter,
  usePolicy,
} from 'bulwark';
import { resilientFetch } from 'bulwark/fetch';
import { decoratedService } from './decorated.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Flaky extends Error {
  name = 'Flaky';
}

/** A thunk that fails `failures` times with Flaky, then returns `value`; counts its calls. */
function flaky(failures, value) {
  const fn = () => {
    fn.calls += 1;
    return fn.calls <= failures ? Promise.reject(new Flaky(`failure ${fn.calls}`)) : value;
  };
  fn.calls = 0;
  return fn;
}

/** Work that ends only when its signal aborts, rejecting with the signal's reason. */
const untilAborted = (signal) =>
  new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

/** A promise with its settle functions, for work the exercise finishes by hand. */
function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a value');
}

function ok(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, what) {
  if (!Object.is(actual, expected)) {
    throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
  }
}

/** The checks, in order; each is named by what it proves. */
const checks = [
  [
    'durations parse',
    () => {
      equal(parseDuration('1m30s'), 90_000, "parseDuration('1m30s')");
      equal(parseDuration('250ms'), 250, "parseDuration('250ms')");
    },
  ],
  [
    'bad options throw a RangeError naming the option and value',
    () => {
      let error;
      try {
        new Retry({ maxAttempts: 0 });
      } catch (e) {
        error = e;
      }
      ok(error instanceof RangeError, `expected a RangeError, got ${error}`);
      ok(/maxAttempts/.test(error.message) && /\b0\b/.test(error.message), error.message);
    },
  ],
  [
    'Retry retries a failing call until it succeeds',
    async () => {
      const fn = flaky(2, 'done');
      equal(await new Retry({ maxAttempts: 3, delay: 1 }).execute(fn), 'done', 'result');
      equal(fn.calls, 3, 'attempts');
    },
  ],
  [
    'Retry rethrows the last error unchanged and skips errors it does not handle',
    async () => {
      const fn = flaky(5, 'never');
      const error = await rejection(new Retry({ maxAttempts: 2 }).execute(fn));
      ok(error instanceof Flaky && error.message === 'failure 2', `got ${error}`);
      const other = flaky(5, 'never');
      await rejection(new Retry({ maxAttempts: 3, retryOn: [TypeError] }).execute(other));
      equal(other.calls, 1, 'attempts for an unhandled error');
    },
  ],
  [
    'CircuitBreaker opens, half-opens after recoveryTimeout, and closes on a good probe',
    async () => {
      // Its clock's time is moved by hand, so a busy machine cannot skip the OPEN state.
      let now = 0;
      const clock = {
        now: () => now,
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (handle) => clearTimeout(handle),
      };
      const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '30s', clock });
      const moves = [];
      const unsubscribe = breaker.onStateChange(({ from, to }) => moves.push(`${from}>${to}`));
      await rejection(breaker.execute(flaky(1, null)));
      await rejection(breaker.execute(flaky(1, null)));
      equal(breaker.state, CircuitState.Open, 'state after two failures');
      now = 10_000;
      const refused = await rejection(breaker.execute(() => 'refused'));
      ok(refused instanceof CircuitOpenError && isCircuitOpenError(refused), `got ${refused}`);
      equal(refused.code, 'CIRCUIT_OPEN', 'code');
      equal(refused.retryAfterMs, 20_000, 'retryAfterMs');
      now = 30_000;
      equal(breaker.state, CircuitState.HalfOpen, 'state after recoveryTimeout');
      equal(await breaker.execute(() => 'probe'), 'probe', 'probe result');
      equal(breaker.state, CircuitState.Closed, 'state after a good probe');
      equal(moves.join(' '), 'closed>open open>half-open half-open>closed', 'state changes');
      unsubscribe();
    },
  ],
  [
    'RateLimiter rejects when its bucket is empty',
    async () => {
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 0.1 });
      equal(await limiter.execute(() => 1), 1, 'first call');
      equal(await limiter.execute(() => 2), 2, 'second call');
      equal(limiter.tryAcquire(), false, 'tryAcquire on an empty bucket');
      const error = await rejection(limiter.execute(() => 3));
      ok(error instanceof RateLimitExceededError && isRateLimitExceededError(error), `${error}`);
      equal(error.message, 'Rate limit exceeded', 'message');
      ok(error.retryAfterMs > 0, `retryAfterMs ${error.retryAfterMs}`);
    },
  ],
  [
    'Bulkhead rejects a call beyond maxConcurrent and frees the slot when work settles',
    async () => {
      const pool = new Bulkhead({ maxConcurrent: 1 });
      const work = deferred();
      const running = pool.execute(() => work.promise);
      equal(pool.availableSlots, 0, 'availableSlots while busy');
      const error = await rejection(pool.execute(() => 'second'));
      ok(error instanceof BulkheadFullError && isBulkheadFullError(error), `got ${error}`);
      equal(error.message, 'Bulkhead at capacity (1 concurrent calls)', 'message');
      work.resolve('first');
      equal(await running, 'first', 'first result');
      equal(pool.availableSlots, 1, 'availableSlots after');
    },
  ],
  [
    'TimeLimiter rejects at the deadline and aborts the signal it passed',
    async () => {
      let seen;
      const started = performance.now();
      const error = await rejection(
        new TimeLimiter({ timeout: 30, name: 'slowCall' }).execute((signal) => {
          seen = signal;
          return untilAborted(signal);
        }),
      );
      ok(error instanceof OperationTimeoutError && isOperationTimeoutError(error), `${error}`);
      equal(error.message, 'slowCall exceeded timeout of 0.03s', 'message');
      equal(error.timeoutMs, 30, 'timeoutMs');
      ok(seen.aborted, 'the signal given to the work aborted');
      ok(performance.now() - started >= 25, 'rejected before the deadline');
    },
  ],
  [
    'Fallback substitutes a value, and a method given the error',
    async () => {
      equal(await new Fallback({ value: 'cached' }).execute(flaky(1, 'x')), 'cached', 'value');
      const byMethod = new Fallback({ method: (error) => `recovered ${error.message}` });
      equal(await byMethod.execute(flaky(1, 'x')), 'recovered failure 1', 'method');
    },
  ],
  [
    'a caller abort rejects with the signal reason and is not retried',
    async () => {
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      const attempts = flaky(0, null);
      const policy = Policy.builder('abortable').retry({ maxAttempts: 5 }).timeout('10s').build();
      const pending = policy.execute(
        (ctx) => {
          attempts();
          return untilAborted(ctx.signal);
        },
        { signal: controller.signal },
      );
      await sleep(5);
      controller.abort(reason);
      equal(await rejection(pending), reason, 'rejection');
      equal(attempts.calls, 1, 'attempts');
      const early = new AbortController();
      early.abort(reason);
      equal(await rejection(new Retry().execute(() => 'x', early.signal)), reason, 'pre-aborted');
    },
  ],
  [
    'a full policy retries, records events and metrics, and falls back',
    async () => {
      const policy = Policy.builder('pricing')
        .fallback({ value: 'fallback price' })
        .rateLimiter({ maxTokens: 100, refillRate: 50 })
        .bulkhead({ maxConcurrent: 10 })
        .retry({ maxAttempts: 3, delay: 1, backoff: 2, jitter: 0.2 })
        .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
        .timeout('2s')
        .build();
      equal(
        policy.stages.map((s) => s.kind).join(','),
        'fallback,rate-limiter,bulkhead,retry,circuit-breaker,timeout',
        'stages',
      );
      const events = [];
      policy.on('retry', (e) => events.push(`retry:${e.attempt}`));
      policy.on('fallback', () => events.push('fallback'));
      const fn = flaky(2, 'price');
      equal(await policy.execute(fn), 'price', 'result after retries');
      equal(await policy.execute(flaky(3, 'never')), 'fallback price', 'fallback result');
      equal(events.join(' '), 'retry:1 retry:2 retry:1 retry:2 fallback', 'events');
      const m = policy.metrics();
      equal(m.calls, 2, 'metrics.calls');
      equal(m.retries, 4, 'metrics.retries');
      equal(m.fallbacks, 1, 'metrics.fallbacks');
      const wrapped = policy.wrap(async (a, b) => a + b);
      equal(await wrapped(2, 3), 5, 'wrapped result');
    },
  ],
  [
    'a policy timeout fires, aborts ctx.signal and emits a timeout event',
    async () => {
      const policy = Policy.builder('slow').timeout(30).build();
      let timeouts = 0;
      policy.on('timeout', () => (timeouts += 1));
      let signal;
      const error = await rejection(
        policy.execute((ctx) => {
          signal = ctx.signal;
          return untilAborted(ctx.signal);
        }),
      );
      ok(error instanceof OperationTimeoutError, `got ${error}`);
      equal(error.message, 'slow exceeded timeout of 0.03s', 'message');
      ok(signal.aborted, 'ctx.signal aborted');
      equal(timeouts, 1, 'timeout events');
      equal(policy.metrics().timeouts, 1, 'metrics.timeouts');
    },
  ],
  [
    'policy rejections are reported by reason',
    async () => {
      const policy = Policy.builder('guarded')
        .rateLimiter({ maxTokens: 1, refillRate: 0.1 })
        .build();
      const reasons = [];
      policy.on('rejected', (e) => reasons.push(e.reason));
      await policy.execute(() => 'ok');
      const error = await rejection(policy.execute(() => 'too many'));
      ok(isRateLimitExceededError(error), `got ${error}`);
      equal(reasons.join(), 'rate-limit', 'rejected reasons');
      equal(policy.metrics().rejections.rateLimit, 1, 'metrics.rejections.rateLimit');
      const pooled = Policy.builder('pooled').bulkhead({ maxConcurrent: 1 }).build();
      const work = deferred();
      const busy = pooled.execute(() => work.promise);
      ok(isBulkheadFullError(await rejection(pooled.execute(() => 'no room'))), 'bulkhead full');
      work.resolve('done');
      equal(await busy, 'done', 'first call');
      equal(pooled.metrics().rejections.bulkhead, 1, 'metrics.rejections.bulkhead');
    },
  ],
  [
    'errors carry their names and codes and share the ResilienceError base',
    () => {
      const error = new OperationTimeoutError(5000, 'op');
      ok(error instanceof ResilienceError && error instanceof Error, 'instanceof');
      ok(isResilienceError(error), 'isResilienceError');
      equal(error.name, 'OperationTimeoutError', 'name');
      equal(error.code, 'TIMEOUT', 'code');
      equal(error.message, 'op exceeded timeout of 5.0s', 'message');
    },
  ],
  [
    'PolicyRegistry.fromConfig builds shared primitives and policies from kebab-case keys',
    async () => {
      const registry = PolicyRegistry.fromConfig({
        'rate-limiter': {
          default: { 'max-tokens': 100, 'refill-rate': 50.0 },
          'payment-api': { 'max-tokens': 1, 'refill-rate': 0.1 },
        },
        bulkhead: { default: { 'max-concurrent': 20 } },
        'time-limiter': { default: { timeout: '5s' } },
        'circuit-breaker': { inventory: { 'failure-threshold': 3, 'recovery-timeout': '20s' } },
        retry: { default: { 'max-attempts': 3, delay: '1ms', backoff: 2 } },
        policies: {
          pricing: [
            { fallback: { value: null } },
            { 'rate-limiter': 'payment-api' },
            { bulkhead: { 'max-concurrent': 10 } },
            { 'time-limiter': '3s' },
          ],
        },
      });
      equal(registry.names().join(), 'pricing', 'names()');
      equal(registry.rateLimiter('payment-api'), registry.rateLimiter('payment-api'), 'shared');
      equal(registry.circuitBreaker('inventory').state, CircuitState.Closed, 'breaker state');
      const pricing = registry.policy('pricing');
      equal(await pricing.execute(() => 42), 42, 'first call');
      // The shared 'payment-api' limiter has one token: the fallback answers the second call.
      equal(await pricing.execute(() => 43), null, 'second call, rate limited, falls back');
      const health = JSON.parse(JSON.stringify(registry.health()));
      equal(health.policies.pricing.calls, 2, 'health: calls');
      ok('payment-api' in health.primitives['rate-limiter'], 'health: shared limiter listed');
      let error;
      try {
        PolicyRegistry.fromConfig({ 'rate-limiter': { x: { 'max-tokns': 1 } } });
      } catch (e) {
        error = e;
      }
      ok(error instanceof TypeError && /max-tokens/.test(error.message), `got ${error}`);
    },
  ],
  [
    'function wrappers keep arguments, this and name, and always return a promise',
    async () => {
      const add = function add(a, b) {
        return this.base + a + b;
      };
      const wrapped = retry({ maxAttempts: 1 })(add);
      equal(wrapped.name, add.name, 'name');
      const result = wrapped.call({ base: 100 }, 2, 3);
      ok(result instanceof Promise, 'returns a Promise');
      equal(await result, 105, 'result');
      const limited = rateLimiter(new RateLimiter({ maxTokens: 1, refillRate: 0.1 }))(() => 1);
      await limited();
      ok(isRateLimitExceededError(await rejection(limited())), 'rateLimiter wrapper rejects');
      const guarded = circuitBreaker(new CircuitBreaker({ failureThreshold: 1 }))(flaky(1, 1));
      await rejection(guarded());
      ok(isCircuitOpenError(await rejection(guarded())), 'circuitBreaker wrapper opens');
      const work = deferred();
      const pooled = bulkhead(new Bulkhead({ maxConcurrent: 1 }))(() => work.promise);
      const first = pooled();
      ok(isBulkheadFullError(await rejection(pooled())), 'bulkhead wrapper rejects');
      work.resolve('done');
      equal(await first, 'done', 'bulkhead wrapper result');
      // A minifier may rename the function: the message names whatever its name is now.
      const lateCall = () => sleep(200);
      const late = timeLimiter({ timeout: 20 })(lateCall);
      const message = `${lateCall.name} exceeded timeout of 0.02s`;
      equal((await rejection(late())).message, message, 'timeLimiter wrapper message');
      equal(await fallback({ value: 'safe' })(flaky(1, 'x'))(), 'safe', 'fallback wrapper');
      const policy = Policy.builder('wrapped').retry({ maxAttempts: 2 }).build();
      equal(await usePolicy(policy)(flaky(1, 'again'))(), 'again', 'usePolicy wrapper');
    },
  ],
  [
    'TC39 method decorators run stacked, keep this and the method name',
    async () => {
      const service = decoratedService();
      equal(service.getPrice.name, 'getPrice', 'method name');
      equal(await service.getPrice('sku-1'), 'sku-1: 10', 'retried result');
      equal(service.attempts, 2, 'attempts through @retry');
      equal(await service.getStock('sku-2'), 'no stock for sku-2', '@fallback after a timeout');
      equal(await service.viaPolicy(), 'policy ok', '@usePolicy result');
      const first = service.limited();
      ok(isRateLimitExceededError(await rejection(service.limited())), '@rateLimiter rejects');
      await first;
      const busy = service.pooled();
      ok(isBulkheadFullError(await rejection(service.pooled())), '@bulkhead rejects');
      service.finishPooled();
      await busy;
      await rejection(service.breaking());
      ok(isCircuitOpenError(await rejection(service.breaking())), '@circuitBreaker opens');
    },
  ],
  [
    "bulwark/fetch's bodyTimeout rejects a stalled body read, and not one read in time",
    async () => {
      // A transport with no network: each response's body is fed by hand, and errors with the
      // request signal's reason when it aborts, as a runtime's fetch does.
      const sent = [];
      const transport = (_input, init) => {
        let feed;
        const body = new ReadableStream({ start: (c) => (feed = c) });
        init.signal.addEventListener('abort', () => feed.error(init.signal.reason));
        const response = new Response(body, { status: 200 });
        sent.push({ response, feed });
        return Promise.resolve(response);
      };
      const policy = Policy.builder('http').build();
      const http = resilientFetch(policy, { fetch: transport, bodyTimeout: 50 });
      const stalled = await http('https://api.example.com/users?token=x');
      equal(stalled, sent[0].response, "the transport's own Response");
      const error = await rejection(stalled.text());
      ok(isOperationTimeoutError(error), `a stalled body: expected a timeout, got ${error}`);
      const message =
        'reading the body of GET https://api.example.com/users exceeded timeout of 0.05s';
      equal(error.message, message, 'the timeout message');
      const res = await http('https://api.example.com/users');
      const text = res.text();
      sent[1].feed.enqueue(new TextEncoder().encode('in time'));
      sent[1].feed.close();
      equal(await text, 'in time', 'a body read in time');
    },
  ],
];

/**
 * Runs every check in order and returns `{ passed, failed }`; `log` receives a line per failure
 * and the final summary (`runtime exercise: N checks passed`), `onStart` each check's name.
 */
export async function exercise(log = () => {}, onStart = () => {}) {
  let passed = 0;
  const failed = [];
  for (const [name, check] of checks) {
    onStart(name);
    try {
      await check();
      passed += 1;
    } catch (error) {
      failed.push(name);
      log(`FAILED: ${name}: ${error && error.stack ? error.stack : error}`);
    }
  }
  log(
    failed.length === 0
      ? `runtime exercise: ${passed} checks passed`
      : `runtime exercise: ${failed.length} of ${checks.length} checks FAILED`,
  );
  return { passed, failed };
}
