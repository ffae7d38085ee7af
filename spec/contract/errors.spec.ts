// The error rules of docs/CONTRACT.md (R-ERR-*): classes, names, codes, fields, messages, causes,
// guards, caller aborts.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import * as core from 'bulwark';
import * as fetchEntry from 'bulwark/fetch';
import * as otelEntry from 'bulwark/otel';
import * as redisEntry from 'bulwark/redis';
import {
  Bulkhead,
  BulkheadFullError,
  Chaos,
  CircuitBreaker,
  CircuitOpenError,
  Fallback,
  InjectedFaultError,
  isBulkheadFullError,
  isCircuitOpenError,
  isInjectedFaultError,
  isOperationTimeoutError,
  isRateLimitExceededError,
  isRejectedResultError,
  isResilienceError,
  isStoreUnavailableError,
  OperationTimeoutError,
  Policy,
  RateLimiter,
  RateLimitExceededError,
  RejectedResultError,
  ResilienceError,
  Retry,
  StoreUnavailableError,
  TimeLimiter,
} from 'bulwark';
import { never, rejectionOf, otherCopy } from './support.js';

class UserError extends Error {}

/** One instance of every concrete class, made as the library makes them. */
function samples() {
  return {
    RateLimitExceededError: new RateLimitExceededError(100),
    BulkheadFullError: new BulkheadFullError(10, 0),
    OperationTimeoutError: new OperationTimeoutError(5_000, 'fetchPrice'),
    CircuitOpenError: new CircuitOpenError('open', 1_000),
    StoreUnavailableError: new StoreUnavailableError(),
  };
}

const CODES = {
  RateLimitExceededError: 'RATE_LIMITED',
  BulkheadFullError: 'BULKHEAD_FULL',
  OperationTimeoutError: 'TIMEOUT',
  CircuitOpenError: 'CIRCUIT_OPEN',
  StoreUnavailableError: 'STORE_UNAVAILABLE',
} as const;

const GUARDS = {
  RateLimitExceededError: isRateLimitExceededError,
  BulkheadFullError: isBulkheadFullError,
  OperationTimeoutError: isOperationTimeoutError,
  CircuitOpenError: isCircuitOpenError,
  StoreUnavailableError: isStoreUnavailableError,
} as const;

describe('contract: Errors', () => {
  it('R-ERR-1: `ResilienceError` is an abstract base: plain JavaScript cannot make one', () => {
    const Base = ResilienceError as unknown as new (name: string, message: string) => Error;
    expect(() => new Base('x', 'y')).to.throw(TypeError, /ResilienceError is abstract/);
    class Own extends (ResilienceError as unknown as new (name: string, m: string) => Error) {
      readonly code = 'OWN';
    }
    expect(new Own('OwnError', 'mine')).to.include({ name: 'OwnError', message: 'mine' });
  });

  it('R-ERR-1: All rejections the library itself raises extend `ResilienceError` (extends `Error`)', async () => {
    expect(Object.getPrototypeOf(ResilienceError.prototype)).to.equal(Error.prototype);
    for (const error of Object.values(samples())) {
      expect(error).to.be.instanceOf(ResilienceError);
      expect(error).to.be.instanceOf(Error);
    }
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 1, clock });
    limiter.tryAcquire();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    bulkhead.tryAcquire();
    const breaker = new CircuitBreaker({ clock });
    breaker.isolate();
    const timed = settleError(new TimeLimiter({ timeout: 10, clock }).execute(never));
    await clock.advance(10);
    const raised = [
      await rejectionOf(limiter.execute(() => 1)),
      await rejectionOf(bulkhead.execute(() => 1)),
      await rejectionOf(breaker.execute(() => 1)),
      await timed,
    ];
    for (const error of raised) expect(error).to.be.instanceOf(ResilienceError);
  });

  it('R-ERR-2: Every class sets `name` to its class name', () => {
    for (const [name, error] of Object.entries(samples())) {
      expect(error.name).to.equal(name);
      expect(String(error)).to.match(new RegExp(`^${name}: `));
    }
  });

  it('R-ERR-3, R-ERR-4, R-ERR-5, R-ERR-6, R-ERR-7: Every class has a stable `code` (RATE_LIMITED, BULKHEAD_FULL, TIMEOUT, CIRCUIT_OPEN, STORE_UNAVAILABLE)', () => {
    for (const [name, error] of Object.entries(samples())) {
      expect(error.code).to.equal(CODES[name as keyof typeof CODES]);
    }
  });

  it('R-ERR-8: passes `{ cause }` where one exists', () => {
    const cause = new Error('root cause');
    expect(new RateLimitExceededError(1, { cause }).cause).to.equal(cause);
    expect(new BulkheadFullError(1, 0, { cause }).cause).to.equal(cause);
    expect(new OperationTimeoutError(1, 'op', { cause }).cause).to.equal(cause);
    expect(new CircuitOpenError('open', 1, { cause }).cause).to.equal(cause);
    expect(new StoreUnavailableError('down', { cause }).cause).to.equal(cause);
    expect('cause' in new RateLimitExceededError(1)).to.equal(false);
  });

  it('R-ERR-8: passes `{ cause }` where one exists: a refusal while OPEN carries the failure that tripped the circuit', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: 100, clock });
    const first = new UserError('first');
    const tripping = new UserError('tripping');
    await rejectionOf(breaker.execute(() => Promise.reject(first)));
    await rejectionOf(breaker.execute(() => Promise.reject(tripping)));
    const refused = (await rejectionOf(breaker.execute(() => 1))) as CircuitOpenError;
    expect(refused.cause).to.equal(tripping);
    // Through a policy too, and after a failed probe re-opens it.
    await clock.advance(100);
    const probe = new UserError('probe');
    const policy = Policy.builder().circuitBreaker(breaker).build();
    await rejectionOf(policy.execute(() => Promise.reject(probe)));
    expect(((await rejectionOf(policy.execute(() => 1))) as Error).cause).to.equal(probe);
    // No cause where none exists: an isolated circuit was not tripped by a failure.
    breaker.isolate();
    expect('cause' in ((await rejectionOf(breaker.execute(() => 1))) as Error)).to.equal(false);
  });

  it('R-ERR-3: RateLimitExceededError: code RATE_LIMITED, `retryAfterMs` (ms until enough tokens), message `Rate limit exceeded`', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 10, clock });
    while (limiter.tryAcquire());
    const error = (await rejectionOf(limiter.acquire(3))) as RateLimitExceededError;
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect(error.code).to.equal('RATE_LIMITED');
    expect(error.message).to.equal('Rate limit exceeded');
    expect(error.retryAfterMs).to.equal(300);
  });

  it('R-ERR-4: BulkheadFullError: code BULKHEAD_FULL, `maxConcurrent`, `maxQueue`, message `Bulkhead at capacity (10 concurrent calls)`', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 10, maxQueue: 0 });
    for (let i = 0; i < 10; i++) await bulkhead.acquire();
    const error = (await rejectionOf(bulkhead.acquire())) as BulkheadFullError;
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect(error.code).to.equal('BULKHEAD_FULL');
    expect(error.message).to.equal('Bulkhead at capacity (10 concurrent calls)');
    expect(error.maxConcurrent).to.equal(10);
    expect(error.maxQueue).to.equal(0);
    const queued = new Bulkhead({ maxConcurrent: 3, maxQueue: 2 });
    for (let i = 0; i < 3; i++) await queued.acquire();
    void queued.acquire();
    void queued.acquire();
    const full = (await rejectionOf(queued.acquire())) as BulkheadFullError;
    expect(full.message).to.equal('Bulkhead at capacity (3 concurrent calls)');
    expect([full.maxConcurrent, full.maxQueue]).to.deep.equal([3, 2]);
    expect(new BulkheadFullError(1, 0).message).to.equal(
      'Bulkhead at capacity (1 concurrent calls)',
    );
    expect(error.waitedMs).to.equal(undefined);
  });

  it("BulkheadFullError: a queued caller whose `maxWait` ran out is told how long it waited (`waitedMs`), with the contract's message", async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10, maxWait: '200ms', clock });
    await bulkhead.acquire();
    const waited = rejectionOf(bulkhead.execute(() => 'never run'));
    await clock.advance(200);
    const error = (await waited) as BulkheadFullError;
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect(error.message).to.equal('Bulkhead at capacity (1 concurrent calls)');
    expect(error.waitedMs).to.equal(200);
    expect([error.maxConcurrent, error.maxQueue]).to.deep.equal([1, 10]);
    const made = new BulkheadFullError(4, 2, { waitedMs: 1500 });
    expect([made.message, made.waitedMs]).to.deep.equal([
      'Bulkhead at capacity (4 concurrent calls)',
      1500,
    ]);
  });

  it('JSON.stringify writes name, code, message and the fields of each class; neither stack nor cause', () => {
    const cause = new Error('redis down');
    const json = (error: unknown): unknown => JSON.parse(JSON.stringify(error));
    expect(json(new RateLimitExceededError(100))).to.deep.equal({
      name: 'RateLimitExceededError',
      code: 'RATE_LIMITED',
      message: 'Rate limit exceeded',
      retryAfterMs: 100,
    });
    expect(json(new BulkheadFullError(10, 0))).to.deep.equal({
      name: 'BulkheadFullError',
      code: 'BULKHEAD_FULL',
      message: 'Bulkhead at capacity (10 concurrent calls)',
      maxConcurrent: 10,
      maxQueue: 0,
    });
    expect(json(new OperationTimeoutError(5_000, 'fetchPrice'))).to.deep.equal({
      name: 'OperationTimeoutError',
      code: 'TIMEOUT',
      message: 'fetchPrice exceeded timeout of 5.0s',
      timeoutMs: 5_000,
    });
    expect(json(new CircuitOpenError('open', 1_000, { cause }))).to.deep.equal({
      name: 'CircuitOpenError',
      code: 'CIRCUIT_OPEN',
      message: 'Circuit breaker is open',
      state: 'open',
      retryAfterMs: 1_000,
    });
    expect(json(new StoreUnavailableError(undefined, { cause }))).to.deep.equal({
      name: 'StoreUnavailableError',
      code: 'STORE_UNAVAILABLE',
      message: 'Shared state store is unavailable',
    });
    // The first keys, in order, as a log line shows them; Infinity is null as JSON has it.
    expect(JSON.stringify(new CircuitOpenError('isolated', Infinity))).to.equal(
      '{"name":"CircuitOpenError","code":"CIRCUIT_OPEN","message":"Circuit breaker is open","state":"isolated","retryAfterMs":null}',
    );
  });

  it('R-ERR-5, R-TL-4: OperationTimeoutError: code TIMEOUT, `timeoutMs`, message `<operation> exceeded timeout of 5.0s` (operation = function or policy name, else `operation`)', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new TimeLimiter({ timeout: '5s', clock });
    async function fetchPrice(): Promise<number> {
      return never();
    }
    const named = settleError(limiter.execute(fetchPrice));
    const anonymous = settleError(limiter.execute(() => never()));
    const policy = Policy.builder('pricing').timeout({ timeout: '5s', clock }).clock(clock).build();
    const byPolicy = settleError(policy.execute(() => never()));
    await clock.advance(5_000);
    const error = (await named) as OperationTimeoutError;
    expect(error).to.be.instanceOf(OperationTimeoutError);
    expect(error.code).to.equal('TIMEOUT');
    expect(error.timeoutMs).to.equal(5_000);
    expect(error.message).to.equal('fetchPrice exceeded timeout of 5.0s');
    expect(((await anonymous) as Error).message).to.equal('operation exceeded timeout of 5.0s');
    expect(((await byPolicy) as Error).message).to.equal('pricing exceeded timeout of 5.0s');
  });

  it('R-ERR-6: CircuitOpenError: code CIRCUIT_OPEN, `state`, `retryAfterMs`, message `Circuit breaker is open`', async () => {
    const clock = new ManualClock(1_000);
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '30s', clock });
    await rejectionOf(breaker.execute(() => Promise.reject(new UserError())));
    await clock.advance(10_000);
    const error = (await rejectionOf(breaker.execute(() => 1))) as CircuitOpenError;
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect(error.code).to.equal('CIRCUIT_OPEN');
    expect(error.message).to.equal('Circuit breaker is open');
    expect(error.state).to.equal('open');
    expect(error.retryAfterMs).to.equal(20_000);
  });

  it('R-ERR-9: A guard `isResilienceError(e)` / `isRateLimitExceededError(e)` / … exists for each class', () => {
    const all = samples();
    for (const [name, error] of Object.entries(all)) {
      expect(isResilienceError(error), name).to.equal(true);
      for (const [guarded, guard] of Object.entries(GUARDS)) {
        expect(guard(error), `${guarded} guard on ${name}`).to.equal(guarded === name);
      }
    }
    for (const other of [new Error('x'), new UserError(), null, undefined, 'RATE_LIMITED', {}]) {
      expect(isResilienceError(other)).to.equal(false);
      for (const guard of Object.values(GUARDS)) expect(guard(other)).to.equal(false);
    }
  });

  it('R-ERR-9: the guards need the brand, not a look-alike `code`', () => {
    const lookAlike = Object.assign(new Error('Rate limit exceeded'), {
      name: 'RateLimitExceededError',
      code: 'RATE_LIMITED',
      retryAfterMs: 1,
    });
    expect(isRateLimitExceededError(lookAlike)).to.equal(false);
    expect(isResilienceError(lookAlike)).to.equal(false);
  });

  it('R-ERR-9: the guards work across two copies of the package (brand property, not only `instanceof`)', async () => {
    const foreign = {
      RateLimitExceededError: new otherCopy.RateLimitExceededError(1),
      BulkheadFullError: new otherCopy.BulkheadFullError(1, 0),
      OperationTimeoutError: new otherCopy.OperationTimeoutError(1, 'x'),
      CircuitOpenError: new otherCopy.CircuitOpenError('isolated', Infinity),
      StoreUnavailableError: new otherCopy.StoreUnavailableError(),
    };
    for (const [name, error] of Object.entries(foreign)) {
      expect(error).to.not.equal(samples()[name as keyof typeof foreign]);
      expect(isResilienceError(error), name).to.equal(true);
      for (const [guarded, guard] of Object.entries(GUARDS)) {
        expect(guard(error), `${guarded} guard on the other copy's ${name}`).to.equal(
          guarded === name,
        );
      }
    }
    // An error raised by the other copy in use, checked by this copy's guards, and back.
    const limiter = new otherCopy.RateLimiter({ maxTokens: 1 });
    limiter.tryAcquire();
    const raised = await rejectionOf(limiter.execute(() => 1));
    expect(isRateLimitExceededError(raised)).to.equal(true);
    expect(otherCopy.isRateLimitExceededError(new RateLimitExceededError(1))).to.equal(true);
    expect(otherCopy.isResilienceError(new BulkheadFullError(1, 0))).to.equal(true);
  });

  it('R-ERR-9: every error class an entry point exports has its guard `is<Class>` beside it', () => {
    const entries = {
      bulwark: core,
      'bulwark/fetch': fetchEntry,
      'bulwark/otel': otelEntry,
      'bulwark/redis': redisEntry,
    };
    for (const [entry, exports] of Object.entries(entries)) {
      const values = exports as Record<string, unknown>;
      for (const [name, value] of Object.entries(values)) {
        if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
        expect(typeof values[`is${name}`], `${entry}: is${name}`).to.equal('function');
      }
    }
  });

  it('R-ERR-9: RejectedResultError and InjectedFaultError have guards that work across two copies of the package, and need the brand', async () => {
    const guards = {
      RejectedResultError: isRejectedResultError,
      InjectedFaultError: isInjectedFaultError,
    };
    const classes = { RejectedResultError, InjectedFaultError };
    const made = {
      RejectedResultError: [
        new RejectedResultError(503),
        new otherCopy.RejectedResultError({ status: 503 }),
      ],
      InjectedFaultError: [new InjectedFaultError(), new otherCopy.InjectedFaultError('boom')],
    };
    for (const [name, errors] of Object.entries(made)) {
      for (const [i, error] of errors.entries()) {
        const which = `${i === 0 ? 'this copy' : 'other copy'} ${name}`;
        for (const [guarded, guard] of Object.entries(guards)) {
          expect(guard(error), `${guarded} guard on ${which}`).to.equal(guarded === name);
        }
        for (const [className, cls] of Object.entries(classes)) {
          expect(error instanceof cls, `${which} instanceof ${className}`).to.equal(
            className === name,
          );
        }
        expect(isResilienceError(error), which).to.equal(false);
      }
    }
    // And the other copy's guards know this copy's errors.
    expect(otherCopy.isRejectedResultError(new RejectedResultError(1))).to.equal(true);
    expect(otherCopy.isInjectedFaultError(new InjectedFaultError())).to.equal(true);
    expect(otherCopy.isInjectedFaultError(new RejectedResultError(1))).to.equal(false);
    // Look-alikes with the name and code, other errors, and values whose reads throw are not.
    const lookAlikes = [
      Object.assign(new Error('x'), {
        name: 'RejectedResultError',
        code: 'REJECTED_RESULT',
        result: 1,
      }),
      Object.assign(new Error('x'), { name: 'InjectedFaultError', code: 'INJECTED_FAULT' }),
    ];
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no');
        },
      },
    );
    for (const [i, other] of [
      ...lookAlikes,
      new Error('x'),
      new RateLimitExceededError(1),
      null,
      undefined,
      'INJECTED_FAULT',
      {},
      hostile,
    ].entries()) {
      for (const [guarded, guard] of Object.entries(guards)) {
        expect(guard(other), `${guarded} guard on value ${i}`).to.equal(false);
      }
    }
    // The errors bulwark gives are branded: the default fault of a chaos stage, and what a
    // fallback's method receives for a rejected result.
    const fault = await rejectionOf(new Chaos({ fault: { rate: 1 } }).execute(() => 'ok'));
    expect(isInjectedFaultError(fault)).to.equal(true);
    let received: unknown;
    await new Fallback({
      onResult: (r: number) => r > 499,
      method: (e) => ((received = e), 0),
    }).execute(() => 503);
    expect(isRejectedResultError(received)).to.equal(true);
    expect((received as RejectedResultError).result).to.equal(503);
    // A subclass of one's own keeps the prototype chain.
    class Planned extends InjectedFaultError {}
    expect(new Planned()).to.be.instanceOf(Planned).and.instanceOf(InjectedFaultError);
    expect(new InjectedFaultError()).to.not.be.instanceOf(Planned);
    expect(new otherCopy.InjectedFaultError()).to.not.be.instanceOf(Planned);
  });

  it('instanceof knows the errors of another copy of the package: its base class any, each class those of its code', () => {
    const classes = {
      RateLimitExceededError,
      BulkheadFullError,
      OperationTimeoutError,
      CircuitOpenError,
      StoreUnavailableError,
    };
    const foreign = {
      RateLimitExceededError: new otherCopy.RateLimitExceededError(1),
      BulkheadFullError: new otherCopy.BulkheadFullError(1, 0),
      OperationTimeoutError: new otherCopy.OperationTimeoutError(1, 'x'),
      CircuitOpenError: new otherCopy.CircuitOpenError('isolated', Infinity),
      StoreUnavailableError: new otherCopy.StoreUnavailableError(),
    };
    for (const [name, error] of Object.entries(foreign)) {
      expect(error instanceof ResilienceError, name).to.equal(true);
      expect(error).to.be.instanceOf(Error);
      for (const [className, cls] of Object.entries(classes)) {
        expect(error instanceof cls, `other copy's ${name} instanceof ${className}`).to.equal(
          className === name,
        );
      }
    }
    // And the other way round.
    expect(new OperationTimeoutError(1) instanceof otherCopy.OperationTimeoutError).to.equal(true);
    expect(new OperationTimeoutError(1) instanceof otherCopy.CircuitOpenError).to.equal(false);
    expect(new BulkheadFullError(1, 0) instanceof otherCopy.ResilienceError).to.equal(true);
    // Neither a look-alike nor anything else is one.
    const lookAlike = Object.assign(new Error('x'), { code: 'TIMEOUT' });
    for (const value of [lookAlike, new Error('x'), {}, null, undefined, 'TIMEOUT', 1]) {
      expect(value instanceof ResilienceError, String(value)).to.equal(false);
      expect(value instanceof OperationTimeoutError, String(value)).to.equal(false);
    }
  });

  it('a class list of retryOn and Fallback `on` matches the errors of another copy of the package', async () => {
    const clock = new ManualClock();
    const limiter = new otherCopy.TimeLimiter({ timeout: 10, clock });
    let attempts = 0;
    const retried = rejectionOf(
      new Retry({ maxAttempts: 3, delay: 0, retryOn: [OperationTimeoutError] }).execute(() => {
        attempts++;
        return limiter.execute(() => never());
      }),
    );
    for (let i = 0; i < 3; i++) await clock.advance(10);
    expect(await retried).to.have.property('code', 'TIMEOUT');
    expect(attempts).to.equal(3);
    const fallback = new Fallback({ value: 'fallback', on: [OperationTimeoutError] });
    const replaced = fallback.execute(() => limiter.execute(() => never()));
    await clock.advance(10);
    expect(await replaced).to.equal('fallback');
    const notMatched = rejectionOf(
      new Fallback({ value: 'fallback', on: [CircuitOpenError] }).execute(() =>
        limiter.execute(() => never()),
      ),
    );
    await clock.advance(10);
    expect(await notMatched).to.have.property('code', 'TIMEOUT');
  });

  it("instanceof keeps the prototype chain for a user's own subclasses", () => {
    class SlowQuery extends OperationTimeoutError {}
    class Overloaded extends ResilienceError {
      readonly code = 'BULKHEAD_FULL' as const;
      constructor() {
        super('Overloaded', 'overloaded');
      }
    }
    const slow = new SlowQuery(1);
    expect(slow).to.be.instanceOf(SlowQuery);
    expect(slow).to.be.instanceOf(OperationTimeoutError);
    expect(slow).to.be.instanceOf(ResilienceError);
    expect(slow instanceof otherCopy.OperationTimeoutError).to.equal(true);
    expect(new OperationTimeoutError(1)).to.not.be.instanceOf(SlowQuery);
    expect(new otherCopy.OperationTimeoutError(1)).to.not.be.instanceOf(SlowQuery);
    const overloaded = new Overloaded();
    expect(overloaded).to.be.instanceOf(Overloaded);
    expect(overloaded).to.be.instanceOf(ResilienceError);
    expect(new BulkheadFullError(1, 0)).to.not.be.instanceOf(Overloaded);
    expect(new otherCopy.BulkheadFullError(1, 0)).to.not.be.instanceOf(Overloaded);
    expect(slow).to.not.be.instanceOf(Overloaded);
    expect(JSON.parse(JSON.stringify(slow))).to.deep.equal({
      name: 'OperationTimeoutError',
      code: 'TIMEOUT',
      message: 'operation exceeded timeout of 0.001s',
      timeoutMs: 1,
    });
  });

  it("R-ERR-10, R-RETRY-8, R-TL-5: When the caller's own AbortSignal aborts, the call rejects with `signal.reason` (never with `OperationTimeoutError`, and it is never retried)", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('abort')
      .clock(clock)
      .retry({ maxAttempts: 5, clock })
      .timeout({ timeout: '1s', clock })
      .build();
    const controller = new AbortController();
    let calls = 0;
    const outcome = settleError(
      policy.execute(
        () => {
          calls++;
          return never();
        },
        { signal: controller.signal },
      ),
    );
    await clock.advance(500);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await outcome).to.equal(reason);
    await clock.advance(5_000);
    expect(calls).to.equal(1);
    const limiter = new TimeLimiter({ timeout: 100, clock });
    const second = new AbortController();
    const outcome2 = settleError(limiter.execute(() => never(), second.signal));
    second.abort();
    const reason2 = await outcome2;
    expect(reason2).to.equal(second.signal.reason);
    expect(isOperationTimeoutError(reason2)).to.equal(false);
  });

  it('R-ERR-11: User errors are rethrown unchanged', async () => {
    const error = new UserError('mine');
    const boom = () => Promise.reject(error);
    const throws = (): never => {
      throw error;
    };
    const executors: Array<(fn: () => unknown) => Promise<unknown>> = [
      (fn) => new Retry({ maxAttempts: 2 }).execute(fn),
      (fn) => new CircuitBreaker().execute(fn),
      (fn) => new RateLimiter().execute(fn),
      (fn) => new Bulkhead().execute(fn),
      (fn) => new TimeLimiter().execute(fn),
      (fn) => new Fallback({ value: 1, on: [TypeError] }).execute(fn),
      (fn) =>
        Policy.builder()
          .fallback({ value: 1, on: [TypeError] })
          .rateLimiter({})
          .bulkhead({})
          .retry({ maxAttempts: 2 })
          .circuitBreaker({})
          .timeout('1s')
          .build()
          .execute(fn),
    ];
    for (const run of executors) {
      expect(await rejectionOf(run(boom))).to.equal(error);
      expect(await rejectionOf(run(throws))).to.equal(error);
    }
  });
});

/** The rejection of `promise`, observed at once so it is never unhandled. */
function settleError(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
