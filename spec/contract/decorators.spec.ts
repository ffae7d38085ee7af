// The wrapper and decorator rules of docs/CONTRACT.md (R-DEC-*).
import { expect } from 'chai';
import {
  bulkhead,
  Bulkhead,
  circuitBreaker,
  CircuitBreaker,
  CircuitOpenError,
  fallback,
  OperationTimeoutError,
  Policy,
  rateLimiter,
  RateLimiter,
  retry,
  timeLimiter,
  usePolicy,
} from 'bulwark';
import sinon from 'sinon';
import { rejectionOf, settle, never } from './support.js';

class Boom extends Error {}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Decorator = (fn: any, context?: any) => any;

/** One of each of the seven helpers, in a form that lets a call through unchanged. */
function helpers(): Array<[string, Decorator]> {
  return [
    ['retry', retry({ maxAttempts: 2 }) as Decorator],
    ['circuitBreaker', circuitBreaker(new CircuitBreaker()) as Decorator],
    ['rateLimiter', rateLimiter(new RateLimiter()) as Decorator],
    ['bulkhead', bulkhead(new Bulkhead()) as Decorator],
    ['timeLimiter', timeLimiter({ timeout: '1s' }) as Decorator],
    ['fallback', fallback({ value: 'fb', on: [TypeError] }) as Decorator],
    ['usePolicy', usePolicy(Policy.builder().build()) as Decorator],
  ];
}

describe('contract: function wrappers and method decorators', () => {
  afterEach(() => sinon.restore());

  it('R-DEC-1: `retry(options)(fn)`: `const getUser = retry({ maxAttempts: 3, delay: ... })(async (id) => api.get(id))`', async () => {
    let calls = 0;
    const getUser = retry({ maxAttempts: 3 })(async (id: string) => {
      calls++;
      if (calls < 3) throw new Boom();
      return { id };
    });
    expect(await getUser('u1')).to.deep.equal({ id: 'u1' });
    expect(calls).to.equal(3);
  });

  for (const [name, helper] of helpers()) {
    it(`R-DEC-2: ${name}: the wrapped function keeps its parameters, \`this\`, and \`name\`, and always returns a Promise`, async () => {
      function price(this: { base: number }, id: string, qty: number): number {
        return this.base + id.length * qty;
      }
      const wrapped = helper(price) as (
        this: { base: number },
        id: string,
        qty: number,
      ) => Promise<number>;
      expect(wrapped.name).to.equal('price');
      expect(wrapped.length).to.equal(2);
      const result = wrapped.call({ base: 10 }, 'abc', 2);
      expect(result).to.be.instanceOf(Promise);
      expect(await result).to.equal(16);
      const throwing = helper(() => {
        throw new Boom();
      }) as () => Promise<unknown>;
      const rejected = throwing();
      expect(rejected).to.be.instanceOf(Promise);
      expect(await rejectionOf(rejected)).to.be.instanceOf(Boom);
    });

    it(`R-DEC-1: ${name}: the same value is a TC39 method decorator`, async () => {
      class Service {
        base = 1;
        @(helper as Decorator)
        async total(n: number): Promise<number> {
          return this.base + n;
        }
      }
      const service = new Service();
      expect(await service.total(2)).to.equal(3);
      expect(service.total.name).to.equal('total');
    });

    it(`R-DEC-1: ${name}: called as a legacy decorator, gives back the descriptor of the wrapped method`, async () => {
      class Service {
        base = 1;
        async total(n: number): Promise<number> {
          return this.base + n;
        }
      }
      const key = 'total';
      const descriptor = Object.getOwnPropertyDescriptor(Service.prototype, key);
      const legacy = helper as (...args: unknown[]) => unknown;
      const decorated = legacy(Service.prototype, key, descriptor) as PropertyDescriptor;
      Object.defineProperty(Service.prototype, key, decorated);
      const service = new Service();
      expect(service.total).to.not.equal(descriptor?.value);
      expect(await service.total(2)).to.equal(3);
      expect(service.total.name).to.equal('total');
    });
  }

  it('R-DEC-1, R-DEC-3, R-DEC-8: the PricingService example: stacked decorators over one method', async () => {
    const clock = sinon.useFakeTimers();
    const pricingLimiter = new RateLimiter({ maxTokens: 2, refillRate: 0.001 });
    const pricingBulkhead = new Bulkhead({ maxConcurrent: 10 });
    let slow = false;
    class PricingService {
      @fallback({ method: (_error: unknown, productId: string) => ({ productId, price: 0 }) })
      @rateLimiter(pricingLimiter)
      @bulkhead(pricingBulkhead)
      @timeLimiter({ timeout: '3s' })
      async getPrice(productId: string): Promise<{ productId: string; price: number }> {
        return slow ? never() : { productId, price: 42 };
      }
    }
    const service = new PricingService();
    expect(await service.getPrice('A')).to.deep.equal({ productId: 'A', price: 42 });
    slow = true;
    const late = settle(service.getPrice('B'));
    await clock.tickAsync(3_000);
    expect(late.value).to.deep.equal({ productId: 'B', price: 0 });
    // The limiter (2 tokens) is spent: the fallback, the outermost, serves the refusal too.
    slow = false;
    expect(await service.getPrice('C')).to.deep.equal({ productId: 'C', price: 0 });
    // The slot follows the work still running past its deadline (Revision 2), as in a policy.
    expect(pricingBulkhead.availableSlots).to.equal(9);
    expect(pricingBulkhead.orphaned).to.equal(1);
  });

  it('R-DEC-6: timeLimiter: the timeout message names the decorated method', async () => {
    const clock = sinon.useFakeTimers();
    class Inventory {
      @timeLimiter({ timeout: '1.5s' })
      async count(): Promise<number> {
        return never();
      }
    }
    const call = settle(new Inventory().count());
    await clock.tickAsync(1_500);
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
    expect((call.reason as Error).message).to.equal('count exceeded timeout of 1.5s');
  });

  it('R-DEC-3: Decorators apply bottom-up and run top-down, exactly like stacked wrappers', async () => {
    let decoratedCalls = 0;
    const retryOuter = new CircuitBreaker({ failureThreshold: 1 });
    // `maxRetryAfter: 0`: the retries do not wait for the breaker's retryAfterMs.
    class RetryOutside {
      @retry({ maxAttempts: 3, maxRetryAfter: 0 })
      @circuitBreaker(retryOuter)
      async call(): Promise<never> {
        decoratedCalls++;
        throw new Boom();
      }
    }
    const error = await rejectionOf(new RetryOutside().call());
    // The retry (top) runs first: its later attempts meet the open breaker (below it).
    expect(error).to.be.instanceOf(CircuitOpenError);
    expect(decoratedCalls).to.equal(1);

    let wrappedCalls = 0;
    const same = retry({ maxAttempts: 3, maxRetryAfter: 0 })(
      circuitBreaker(new CircuitBreaker({ failureThreshold: 1 }))(async () => {
        wrappedCalls++;
        throw new Boom();
      }),
    );
    expect(await rejectionOf(same())).to.be.instanceOf(CircuitOpenError);
    expect(wrappedCalls).to.equal(decoratedCalls);

    let reversedCalls = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    class BreakerOutside {
      @circuitBreaker(breaker)
      @retry({ maxAttempts: 3 })
      async call(): Promise<never> {
        reversedCalls++;
        throw new Boom();
      }
    }
    expect(await rejectionOf(new BreakerOutside().call())).to.be.instanceOf(Boom);
    expect(reversedCalls).to.equal(3);
    expect(breaker.metrics.failedCalls).to.equal(1);
  });

  it('R-DEC-5: `fallback({ method })` as a wrapper receives the error and the call’s arguments', async () => {
    const seen: unknown[][] = [];
    const error = new Boom();
    const wrapped = fallback({
      method: (...args: unknown[]) => {
        seen.push(args);
        return 'fb';
      },
    })(async (_a: string, _b: number) => {
      throw error;
    });
    expect(await wrapped('x', 2)).to.equal('fb');
    expect(seen).to.deep.equal([[error, 'x', 2]]);
  });

  it('R-DEC-7: `usePolicy(policy)` runs the call through the policy', async () => {
    const policy = Policy.builder('wrapped').fallback({ value: 'fb' }).build();
    const fn = usePolicy(policy)(async () => {
      throw new Boom();
    });
    expect(await fn()).to.equal('fb');
    expect(policy.metrics()).to.include({ calls: 1, successes: 1, fallbacks: 1 });
  });
});
