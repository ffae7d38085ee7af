import { expect } from 'chai';
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sinon from 'sinon';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  rateLimiter,
  retry,
  timeLimiter,
  usePolicy,
} from '../../src/decorators/index.js';
import {
  BulkheadFullError,
  CircuitOpenError,
  OperationTimeoutError,
  RateLimitExceededError,
} from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { never } from '../support/promises.js';

class Boom extends Error {
  override readonly name = 'Boom';
}

describe('function wrappers and method decorators', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  describe('the shared wrapper behaviour', () => {
    it('keeps the arguments and `this` of a wrapped function', async () => {
      const wrapped = retry({ maxAttempts: 1 })(function (
        this: { base: number },
        a: number,
        b: number,
      ) {
        return this.base + a + b;
      });
      expect(await wrapped.call({ base: 100 }, 2, 3)).to.equal(105);
    });

    it('keeps the name and length of a wrapped function', () => {
      const wrapped = retry()(async function getPrice(_id: string, _qty: number) {
        return 1;
      });
      expect(wrapped.name).to.equal('getPrice');
      expect(wrapped.length).to.equal(2);
    });

    it('returns a Promise for a synchronous function', async () => {
      const wrapped = retry({ maxAttempts: 1 })((n: number) => n * 2);
      const result = wrapped(21);
      expect(result).to.be.instanceOf(Promise);
      expect(await result).to.equal(42);
    });

    it('turns a synchronous throw into a rejection with the same error', async () => {
      const boom = new Boom('sync');
      const wrapped = timeLimiter({ timeout: '1s' })(() => {
        throw boom;
      });
      let result: Promise<unknown> | undefined;
      expect(() => (result = wrapped())).not.to.throw();
      expect(await result?.catch((e: unknown) => e)).to.equal(boom);
    });

    it('keeps `this`, the arguments and the name of a decorated method', async () => {
      class Service {
        readonly base = 10;
        @retry({ maxAttempts: 2 })
        async add(a: number, b: number): Promise<number> {
          return this.base + a + b;
        }
      }
      const service = new Service();
      expect(await service.add(1, 2)).to.equal(13);
      expect(Service.prototype.add.name).to.equal('add');
      expect(Service.prototype.add.length).to.equal(2);
    });

    it('throws a TypeError when given something other than a function', () => {
      expect(() => retry()(42 as never)).to.throw(
        TypeError,
        'retry: `fn` must be a function, got 42',
      );
    });

    it('refuses at run time to decorate anything but a method', () => {
      const decorate = retry() as unknown as (value: unknown, context: unknown) => unknown;
      expect(() => decorate(undefined, { kind: 'field', name: 'x' })).to.throw(
        TypeError,
        /^retry decorates methods only, got a field `x`$/,
      );
    });

    it('names the member it refuses, as the legacy decorators do, with the article its kind takes', () => {
      const decorate = retry() as unknown as (value: unknown, context: unknown) => unknown;
      const getter = () => Promise.resolve(1);
      expect(() => decorate(getter, { kind: 'getter', name: 'price' })).to.throw(
        TypeError,
        /^retry decorates methods only, got a getter `price`$/,
      );
      expect(() => decorate(undefined, { kind: 'accessor', name: '#total' })).to.throw(
        TypeError,
        /^retry decorates methods only, got an accessor `#total`$/,
      );
      expect(() => decorate(getter, { kind: 'setter', name: Symbol('price') })).to.throw(
        TypeError,
        /^retry decorates methods only, got a setter `Symbol\(price\)`$/,
      );
      class Service {}
      expect(() => decorate(Service, { kind: 'class', name: 'Service' })).to.throw(
        TypeError,
        /^retry decorates methods only, got the class `Service`$/,
      );
      // An anonymous class's context has no name, or names it '' (TypeScript's output).
      for (const name of [undefined, '']) {
        expect(() => decorate(Service, { kind: 'class', name })).to.throw(
          TypeError,
          /^retry decorates methods only, got a class$/,
        );
      }
    });
  });

  describe('retry', () => {
    it('retries a failing function with exponential backoff (delay * backoff ** n)', async () => {
      const times: number[] = [];
      const flaky = retry({ maxAttempts: 5, delay: '500ms', backoff: 2 })(async () => {
        times.push(Date.now());
        if (times.length < 5) throw new Boom('transient');
        return 'ok';
      });
      const result = flaky();
      await clock.tickAsync(7_500);
      expect(await result).to.equal('ok');
      expect(times).to.deep.equal([0, 500, 1_500, 3_500, 7_500]);
    });

    it('rethrows the last error unchanged once the attempts are spent', async () => {
      const errors = [new Boom('1'), new Boom('2'), new Boom('3')];
      let i = 0;
      const failing = retry({ maxAttempts: 3 })(async () => {
        throw errors[i++];
      });
      expect(await failing().catch((e: unknown) => e)).to.equal(errors[2]);
      expect(i).to.equal(3);
    });

    it('retries a decorated method, calling it again with the same `this` and arguments', async () => {
      class Client {
        readonly calls: Array<[unknown, string]> = [];
        @retry({ maxAttempts: 3, delay: '200ms' })
        async get(id: string): Promise<string> {
          this.calls.push([this, id]);
          if (this.calls.length < 3) throw new Boom('again');
          return `user ${id}`;
        }
      }
      const client = new Client();
      const result = client.get('u1');
      await clock.tickAsync(400);
      expect(await result).to.equal('user u1');
      expect(client.calls).to.deep.equal([
        [client, 'u1'],
        [client, 'u1'],
        [client, 'u1'],
      ]);
    });

    it('validates its options where it is written, before any call', () => {
      expect(() => retry({ maxAttempts: 0 })).to.throw(
        RangeError,
        '`maxAttempts` must be an integer >= 1, got 0',
      );
      expect(() => {
        class Bad {
          @retry({ delay: '5 sec' })
          async run(): Promise<void> {}
        }
        return Bad;
      }).to.throw(TypeError, '`delay` must be a duration');
    });
  });

  describe('timeLimiter', () => {
    it('rejects a slow function with a message naming it', async () => {
      const guarded = timeLimiter({ timeout: '3s' })(async function getPrice(_id: string) {
        return never();
      });
      const result = guarded('p1').catch((e: unknown) => e);
      await clock.tickAsync(3_000);
      const error = await result;
      expect(error).to.be.instanceOf(OperationTimeoutError);
      expect((error as Error).message).to.equal('getPrice exceeded timeout of 3.0s');
    });

    it('names the decorated method in the timeout message', async () => {
      class PricingService {
        @timeLimiter({ timeout: '1.5s' })
        async getPrice(_id: string): Promise<number> {
          return never();
        }
      }
      const result = new PricingService().getPrice('p1').catch((e: unknown) => e);
      await clock.tickAsync(1_500);
      expect(((await result) as Error).message).to.equal('getPrice exceeded timeout of 1.5s');
    });

    it('uses options.name in the message when given', async () => {
      const wrapped = timeLimiter({ timeout: 250, name: 'pricing-api' })(async function getPrice() {
        return never();
      });
      const result = wrapped().catch((e: unknown) => e);
      await clock.tickAsync(250);
      expect(((await result) as Error).message).to.equal('pricing-api exceeded timeout of 0.25s');
    });

    it('resolves with the value of a call that finishes in time', async () => {
      const wrapped = timeLimiter({ timeout: '1s' })(async (n: number) => {
        await new Promise((r) => setTimeout(r, 999));
        return n + 1;
      });
      const result = wrapped(1);
      await clock.tickAsync(999);
      expect(await result).to.equal(2);
    });

    it('validates its options at once', () => {
      expect(() => timeLimiter({ timeout: -1 })).to.throw(RangeError, '`timeout`');
    });

    it('takes a duration alone as its timeout, as the builder does', async () => {
      for (const [timeout, ms] of [
        ['3s', 3_000],
        [250, 250],
      ] as const) {
        const wrapped = timeLimiter(timeout)(async function getPrice() {
          return never();
        });
        let error: unknown;
        const result = wrapped().catch((e: unknown) => (error = e));
        await clock.tickAsync(ms - 1);
        expect(error).to.equal(undefined);
        await clock.tickAsync(1);
        await result;
        expect(error).to.be.instanceOf(OperationTimeoutError);
        expect((error as Error).message).to.equal(
          `getPrice exceeded timeout of ${ms === 250 ? '0.25' : '3.0'}s`,
        );
      }
      class PricingService {
        @timeLimiter('1.5s')
        async getPrice(): Promise<number> {
          return never();
        }
      }
      const result = new PricingService().getPrice().catch((e: unknown) => e);
      await clock.tickAsync(1_500);
      expect(((await result) as Error).message).to.equal('getPrice exceeded timeout of 1.5s');
      expect(() => timeLimiter('soon')).to.throw(TypeError, '`timeout` must be a duration such as');
      expect(() => timeLimiter(0)).to.throw(RangeError, '`timeout` must be a duration > 0, got 0');
    });
  });

  describe('fallback', () => {
    it('resolves with the value when the function fails', async () => {
      const wrapped = fallback({ value: [] as string[] })(async (
        _user: string,
      ): Promise<string[]> => {
        throw new Boom('down');
      });
      expect(await wrapped('u1')).to.deep.equal([]);
    });

    it('calls the method with the error and the original arguments', async () => {
      const boom = new Boom('down');
      const method = sinon.spy(
        (error: unknown, id: string, qty: number) => `${String(error)} ${id} ${qty}`,
      );
      const wrapped = fallback({ method })(async (_id: string, _qty: number): Promise<string> => {
        throw boom;
      });
      expect(await wrapped('p1', 3)).to.equal('Boom: down p1 3');
      sinon.assert.calledOnceWithExactly(method, boom, 'p1', 3);
    });

    it('awaits an async method', async () => {
      const wrapped = fallback({ method: async () => 'cached' })(async (): Promise<string> => {
        throw new Boom('down');
      });
      expect(await wrapped()).to.equal('cached');
    });

    it('lets errors that `on` does not match propagate unchanged', async () => {
      const other = new TypeError('bug');
      const wrapped = fallback({ value: 0, on: [Boom] })(async (): Promise<number> => {
        throw other;
      });
      expect(await wrapped().catch((e: unknown) => e)).to.equal(other);
    });

    it('passes the method the decorated method’s arguments', async () => {
      class Prices {
        @fallback({ method: (_error, productId: string) => ({ productId, price: 0 }) })
        async get(productId: string): Promise<{ productId: string; price: number }> {
          throw new Boom(productId);
        }
      }
      expect(await new Prices().get('sku-9')).to.deep.equal({ productId: 'sku-9', price: 0 });
    });

    it('calls the method with the decorated method’s `this`, for an error and a rejected result', async () => {
      class Prices {
        readonly cache = new Map([['a', 1]]);
        @fallback({
          method: function (this: Prices, _error: unknown, id: string) {
            return this.cache.get(id) ?? -1;
          },
        })
        async get(_id: string): Promise<number> {
          throw new Boom('down');
        }

        @fallback({
          onResult: (n: number) => n < 0,
          method: function (this: Prices, _error: unknown, id: string) {
            return this.cache.get(id) ?? -1;
          },
        })
        async judged(_id: string): Promise<number> {
          return -5;
        }
      }
      const prices = new Prices();
      expect(await prices.get('a')).to.equal(1);
      expect(await prices.judged('a')).to.equal(1);
    });

    it('calls the method with the wrapped function’s `this`', async () => {
      const method = sinon.spy(function (this: unknown, _error: unknown) {
        return this;
      });
      const wrapped = fallback({ method })(async function (this: object): Promise<unknown> {
        throw new Boom('down');
      });
      const self = { name: 'caller' };
      expect(await wrapped.call(self)).to.equal(self);
      expect(method.calledOn(self)).to.equal(true);
    });

    it('validates its options at once', () => {
      expect(() => fallback({} as never)).to.throw(TypeError, 'exactly one of `value` or `method`');
    });
  });

  describe('circuitBreaker', () => {
    it('opens after the threshold and then rejects without calling the function', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '10s' });
      const fn = sinon.spy(async () => {
        throw new Boom('down');
      });
      const guarded = circuitBreaker(breaker)(fn);
      await guarded().catch(() => undefined);
      await guarded().catch(() => undefined);
      const error = await guarded().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(fn.callCount).to.equal(2);
    });

    it('trips every function that shares the breaker', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      class Inventory {
        @circuitBreaker(breaker)
        async stock(): Promise<number> {
          throw new Boom('down');
        }
        @circuitBreaker(breaker)
        async reserve(): Promise<string> {
          return 'reserved';
        }
      }
      const inventory = new Inventory();
      await inventory.stock().catch(() => undefined);
      expect(await inventory.reserve().catch((e: unknown) => e)).to.be.instanceOf(CircuitOpenError);
    });

    it('throws a TypeError naming the parameter for anything but a CircuitBreaker', () => {
      expect(() => circuitBreaker({ failureThreshold: 3 } as never)).to.throw(
        TypeError,
        '`breaker` must be a CircuitBreaker, got an object',
      );
    });
  });

  describe('rateLimiter', () => {
    it('takes one token per call and rejects when the bucket is empty', async () => {
      const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1 });
      const fn = sinon.spy(async () => 'ok');
      const limited = rateLimiter(limiter)(fn);
      expect(await limited()).to.equal('ok');
      expect(await limited()).to.equal('ok');
      expect(await limited().catch((e: unknown) => e)).to.be.instanceOf(RateLimitExceededError);
      expect(fn.callCount).to.equal(2);
    });

    it('throws a TypeError naming the parameter for anything but a RateLimiter', () => {
      expect(() => rateLimiter(undefined as never)).to.throw(
        TypeError,
        '`limiter` must be a RateLimiter, got undefined',
      );
    });
  });

  describe('bulkhead', () => {
    it('holds a slot until the call settles and rejects calls beyond the limit', async () => {
      const pool = new Bulkhead({ maxConcurrent: 1 });
      let finish!: () => void;
      const held = bulkhead(pool)(() => new Promise<void>((r) => (finish = r)));
      const first = held();
      expect(pool.availableSlots).to.equal(0);
      expect(await held().catch((e: unknown) => e)).to.be.instanceOf(BulkheadFullError);
      finish();
      await first;
      expect(pool.availableSlots).to.equal(1);
    });

    it('throws a TypeError naming the parameter for anything but a Bulkhead', () => {
      expect(() => bulkhead({ maxConcurrent: 2 } as never)).to.throw(
        TypeError,
        '`bulkhead` must be a Bulkhead, got an object',
      );
    });
  });

  describe('usePolicy', () => {
    it('runs each call through the policy, keeping `this` and the arguments', async () => {
      const policy = Policy.builder('pricing').retry({ maxAttempts: 2 }).build();
      class Service {
        readonly seen: Array<[unknown, number]> = [];
        @usePolicy(policy)
        async twice(n: number): Promise<number> {
          this.seen.push([this, n]);
          if (this.seen.length === 1) throw new Boom('once');
          return n * 2;
        }
      }
      const service = new Service();
      expect(await service.twice(4)).to.equal(8);
      expect(service.seen).to.deep.equal([
        [service, 4],
        [service, 4],
      ]);
      expect(policy.metrics()).to.include({ calls: 1, successes: 1, retries: 1 });
    });

    it("resolves with the policy's fallback value", async () => {
      const policy = Policy.builder('p').fallback({ value: 'fallback' }).build();
      const wrapped = usePolicy(policy)(async (): Promise<string> => {
        throw new Boom('down');
      });
      expect(await wrapped()).to.equal('fallback');
    });

    it('throws a TypeError naming the parameter for anything but a Policy', () => {
      expect(() => usePolicy({ execute() {} } as never)).to.throw(
        TypeError,
        '`policy` must be a Policy, got an object',
      );
    });

    it('says how to write it when used bare, before reading what it got as options', () => {
      class Service {
        async get(): Promise<number> {
          return 1;
        }
      }
      const hint = ': call the decorator with one, `@usePolicy(policy)`, not bare `@usePolicy`';
      // A standard decorator receives the method and its context.
      const context = { kind: 'method', name: 'get', static: false, private: false };
      expect(() => usePolicy(Service.prototype.get as never, context as never)).to.throw(
        TypeError,
        `\`policy\` must be a Policy, got function get${hint}`,
      );
      // A legacy one, the prototype (or the class), the key and the descriptor.
      const descriptor = Object.getOwnPropertyDescriptor(Service.prototype, 'get');
      const legacy = [Service.prototype, 'get', descriptor] as const;
      expect(() => (usePolicy as (...args: unknown[]) => unknown)(...legacy)).to.throw(
        TypeError,
        `\`policy\` must be a Policy, got an object${hint}`,
      );
      expect(() =>
        (usePolicy as (...args: unknown[]) => unknown)(Service, 'get', descriptor),
      ).to.throw(TypeError, `\`policy\` must be a Policy, got function Service${hint}`);
      // So for the other decorators over a shared primitive.
      expect(() => circuitBreaker(Service.prototype.get as never)).to.throw(
        TypeError,
        '`breaker` must be a CircuitBreaker, got function get: call the decorator with one, `@circuitBreaker(breaker)`, not bare `@circuitBreaker`',
      );
    });
  });

  describe('stacking', () => {
    it('runs stacked decorators top-down: the topmost decorator runs first', async () => {
      const breaker = new CircuitBreaker();
      const limiter = new RateLimiter();
      const pool = new Bulkhead();
      const breakerSpy = sinon.spy(breaker, 'execute');
      const limiterSpy = sinon.spy(limiter, 'execute');
      const poolSpy = sinon.spy(pool, 'execute');
      const body = sinon.spy();
      class Service {
        @circuitBreaker(breaker)
        @rateLimiter(limiter)
        @bulkhead(pool)
        async run(): Promise<string> {
          body();
          return 'done';
        }
      }
      expect(await new Service().run()).to.equal('done');
      sinon.assert.callOrder(breakerSpy, limiterSpy, poolSpy, body);
    });

    it('puts the lower decorator inside the upper one (a retry above a limiter spends a token per attempt)', async () => {
      const outer = new RateLimiter({ maxTokens: 10, refillRate: 1 });
      const inner = new RateLimiter({ maxTokens: 10, refillRate: 1 });
      class Service {
        @retry({ maxAttempts: 3 })
        @rateLimiter(inner)
        async retriedInside(): Promise<void> {
          throw new Boom('x');
        }
        @rateLimiter(outer)
        @retry({ maxAttempts: 3 })
        async retriedOutside(): Promise<void> {
          throw new Boom('x');
        }
      }
      const service = new Service();
      await service.retriedInside().catch(() => undefined);
      await service.retriedOutside().catch(() => undefined);
      expect(inner.availableTokens).to.equal(7);
      expect(outer.availableTokens).to.equal(9);
    });

    it('behaves exactly like the same wrappers composed by hand', async () => {
      interface Outcome {
        readonly value?: string;
        readonly error?: string;
      }
      const scenario = async (call: (ms: number) => Promise<string>): Promise<Outcome[]> => {
        // Two slow calls fill the bulkhead and time out, yet hold their slots while they run on:
        // the next four are refused by the full bulkhead, a seventh finds no token.
        const pending = [call(5_000), call(5_000), call(10), call(10), call(10)].map((p) =>
          p.then(
            (value): Outcome => ({ value }),
            (e: unknown): Outcome => ({ error: String(e) }),
          ),
        );
        await clock.tickAsync(1_000);
        const late = [call(10), call(10)].map((p) =>
          p.then(
            (value): Outcome => ({ value }),
            (e: unknown): Outcome => ({ error: String(e) }),
          ),
        );
        await clock.tickAsync(10);
        return Promise.all([...pending, ...late]);
      };
      const parts = () => ({
        limiter: new RateLimiter({ maxTokens: 6, refillRate: 0.001 }),
        pool: new Bulkhead({ maxConcurrent: 2 }),
      });
      const recover = (error: unknown, ms: number) => `fallback(${ms}): ${String(error)}`;

      const a = parts();
      class Stacked {
        @fallback({
          method: (error, ms: number) => `fallback(${ms}): ${String(error)}`,
          on: [BulkheadFullError],
        })
        @rateLimiter(a.limiter)
        @bulkhead(a.pool)
        @timeLimiter({ timeout: '1s' })
        async call(ms: number): Promise<string> {
          await new Promise((r) => setTimeout(r, ms));
          return `done(${ms})`;
        }
      }
      const stacked = new Stacked();
      const decorated = await scenario((ms) => stacked.call(ms));

      const b = parts();
      const composed = fallback({ method: recover, on: [BulkheadFullError] })(
        rateLimiter(b.limiter)(
          bulkhead(b.pool)(
            timeLimiter({ timeout: '1s' })(async function call(ms: number): Promise<string> {
              await new Promise((r) => setTimeout(r, ms));
              return `done(${ms})`;
            }),
          ),
        ),
      );
      const byHand = await scenario(composed);

      expect(decorated).to.deep.equal(byHand);
      expect(decorated).to.deep.equal([
        { error: 'OperationTimeoutError: call exceeded timeout of 1.0s' },
        { error: 'OperationTimeoutError: call exceeded timeout of 1.0s' },
        { value: 'fallback(10): BulkheadFullError: Bulkhead at capacity (2 concurrent calls)' },
        { value: 'fallback(10): BulkheadFullError: Bulkhead at capacity (2 concurrent calls)' },
        { value: 'fallback(10): BulkheadFullError: Bulkhead at capacity (2 concurrent calls)' },
        { value: 'fallback(10): BulkheadFullError: Bulkhead at capacity (2 concurrent calls)' },
        { error: 'RateLimitExceededError: Rate limit exceeded' },
      ]);
    });
  });

  describe("the PyFly resilience guide's PricingService example", () => {
    interface PriceResult {
      readonly productId: string;
      readonly price: number;
      readonly currency: string;
      readonly source: string;
      readonly reason?: string;
    }
    interface HttpClient {
      get(path: string): Promise<PriceResult>;
    }

    function pricingFallback(error: unknown, productId: string): PriceResult {
      return { productId, price: 0, currency: 'USD', source: 'fallback', reason: String(error) };
    }

    function makeService(limiter: RateLimiter, pool: Bulkhead) {
      class PricingService {
        readonly http: HttpClient;
        constructor(http: HttpClient) {
          this.http = http;
        }

        @fallback({ method: pricingFallback })
        @rateLimiter(limiter)
        @bulkhead(pool)
        @timeLimiter({ timeout: '3s' })
        async getPrice(productId: string): Promise<PriceResult> {
          return this.http.get(`/prices/${productId}`);
        }
      }
      return PricingService;
    }

    it('returns the live price when the API answers in time', async () => {
      const PricingService = makeService(
        new RateLimiter({ maxTokens: 100, refillRate: 50 }),
        new Bulkhead({ maxConcurrent: 10 }),
      );
      const live: PriceResult = { productId: 'p1', price: 9.5, currency: 'USD', source: 'live' };
      const get = sinon.stub<[string], Promise<PriceResult>>().resolves(live);
      expect(await new PricingService({ get }).getPrice('p1')).to.equal(live);
      sinon.assert.calledOnceWithExactly(get, '/prices/p1');
    });

    it('falls back with the timeout as the reason when the API is slow, and frees the slot when the call ends', async () => {
      const pool = new Bulkhead({ maxConcurrent: 10 });
      const PricingService = makeService(new RateLimiter({ maxTokens: 100, refillRate: 50 }), pool);
      let answer!: (price: PriceResult) => void;
      const service = new PricingService({
        get: () => new Promise<PriceResult>((resolve) => (answer = resolve)),
      });
      const result = service.getPrice('p1');
      await clock.tickAsync(2_999);
      expect(pool.availableSlots).to.equal(9);
      await clock.tickAsync(1);
      expect(await result).to.deep.equal({
        productId: 'p1',
        price: 0,
        currency: 'USD',
        source: 'fallback',
        reason: 'OperationTimeoutError: getPrice exceeded timeout of 3.0s',
      });
      // The request still runs: its slot is held, as an orphan, until it ends.
      expect(pool.availableSlots).to.equal(9);
      expect(pool.orphaned).to.equal(1);
      answer({ productId: 'p1', price: 1, currency: 'USD', source: 'live' });
      await clock.tickAsync(0);
      expect(pool.availableSlots).to.equal(10);
      expect(pool.orphaned).to.equal(0);
    });

    it('falls back when the rate limiter is exhausted, without calling the API', async () => {
      const PricingService = makeService(
        new RateLimiter({ maxTokens: 2, refillRate: 1 }),
        new Bulkhead({ maxConcurrent: 10 }),
      );
      const live: PriceResult = { productId: 'p1', price: 9.5, currency: 'USD', source: 'live' };
      const get = sinon.stub<[string], Promise<PriceResult>>().resolves(live);
      const service = new PricingService({ get });
      await service.getPrice('p1');
      await service.getPrice('p2');
      expect(await service.getPrice('p3')).to.deep.equal({
        productId: 'p3',
        price: 0,
        currency: 'USD',
        source: 'fallback',
        reason: 'RateLimitExceededError: Rate limit exceeded',
      });
      expect(get.callCount).to.equal(2);
      await clock.tickAsync(1_000);
      expect(await service.getPrice('p4')).to.equal(live);
    });

    it('falls back when the bulkhead is full', async () => {
      const PricingService = makeService(
        new RateLimiter({ maxTokens: 100, refillRate: 50 }),
        new Bulkhead({ maxConcurrent: 1 }),
      );
      const service = new PricingService({ get: never });
      void service.getPrice('p1');
      const second = await service.getPrice('p2');
      expect(second.reason).to.equal(
        'BulkheadFullError: Bulkhead at capacity (1 concurrent calls)',
      );
      await clock.tickAsync(3_000);
    });
  });

  describe('messages in a minified bundle', () => {
    // A minifying bundler renames classes: a message built from `cls.name` named the class `m`.
    it('name the expected class as written', async function () {
      this.timeout(20_000);
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-decorators-'));
      try {
        const outfile = join(dir, 'bundle.mjs');
        await build({
          stdin: {
            contents: "export * from './src/decorators/index.ts';",
            resolveDir: process.cwd(),
            loader: 'ts',
          },
          bundle: true,
          minify: true,
          format: 'esm',
          platform: 'neutral',
          outfile,
          logLevel: 'silent',
        });
        const m = (await import(
          pathToFileURL(outfile).href
        )) as typeof import('../../src/decorators/index.js');
        const cases: Array<[() => unknown, string]> = [
          [
            () => m.circuitBreaker({} as never),
            '`breaker` must be a CircuitBreaker, got an object',
          ],
          [
            () => m.rateLimiter(undefined as never),
            '`limiter` must be a RateLimiter, got undefined',
          ],
          [() => m.bulkhead({} as never), '`bulkhead` must be a Bulkhead, got an object'],
          [() => m.usePolicy({} as never), '`policy` must be a Policy, got an object'],
        ];
        for (const [make, message] of cases) expect(make).to.throw(TypeError, message);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
