// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run (its only export
// is a function nobody calls). Each `@ts-expect-error` marks code that must not compile; every
// other line must compile.
import {
  bulkhead,
  circuitBreaker,
  fallback,
  rateLimiter,
  retry,
  timeLimiter,
  usePolicy,
} from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';

interface Price {
  readonly productId: string;
  readonly price: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export function typeSpecs(): void {
  // The wrapper keeps the parameters and returns a Promise of the awaited result.
  const getPrice = retry({ maxAttempts: 3 })(async (productId: string, qty: number) => ({
    productId,
    price: qty,
  }));
  assertType<
    Equal<
      typeof getPrice,
      (productId: string, qty: number) => Promise<{ productId: string; price: number }>
    >
  >();

  // A synchronous function's wrapper returns a Promise too.
  const double = timeLimiter({ timeout: '1s' })((n: number) => n * 2);
  assertType<Equal<typeof double, (n: number) => Promise<number>>>();

  // @ts-expect-error a wrapped function called with the wrong argument types
  void getPrice(42, 'one');

  // @ts-expect-error a wrapped function called with too few arguments
  void getPrice('sku-1');

  // A fallback's substitute joins the result type of a wrapper.
  const orNull = fallback({ value: null })(async (id: string) => id.length);
  assertType<Equal<typeof orNull, (id: string) => Promise<number | null>>>();

  // Instance-taking wrappers keep the type as well.
  const limited = rateLimiter(new RateLimiter())(async () => 'ok');
  assertType<Equal<typeof limited, () => Promise<string>>>();
  const held = bulkhead(new Bulkhead())(async (a: boolean) => a);
  assertType<Equal<typeof held, (a: boolean) => Promise<boolean>>>();
  const guarded = circuitBreaker(new CircuitBreaker())(async () => 1);
  assertType<Equal<typeof guarded, () => Promise<number>>>();

  // A typed policy checks the wrapped function's result and adds its fallback type.
  const FREE: Price = { productId: '', price: 0 };
  const pricing = Policy.builder<Price>('pricing').fallback({ value: FREE }).build();
  const viaPolicy = usePolicy(pricing)(async (id: string) => ({ productId: id, price: 1 }));
  assertType<
    Equal<typeof viaPolicy, (id: string) => Promise<{ productId: string; price: number } | Price>>
  >();
  // @ts-expect-error a function whose result the typed policy does not accept
  usePolicy(pricing)(async () => 'not a price');

  // @ts-expect-error the instance-taking decorators take instances, not options
  rateLimiter({ maxTokens: 5 });

  const limiter = new RateLimiter();

  class Service {
    readonly base = 1;

    // Methods (async) may be decorated, stacked in any number.
    @fallback({ method: (_error, productId) => ({ productId, price: 0 }) })
    @rateLimiter(limiter)
    @timeLimiter({ timeout: '3s' })
    async getPrice(productId: string): Promise<Price> {
      return { productId, price: this.base };
    }

    @usePolicy(pricing)
    async viaPolicy(productId: string): Promise<Price> {
      return { productId, price: this.base };
    }

    // @ts-expect-error a decorator applied to a class field
    @retry({ maxAttempts: 2 })
    field = async () => 1;

    // @ts-expect-error a decorator applied to an auto-accessor
    @retry({ maxAttempts: 2 })
    accessor count = 0;

    // @ts-expect-error a decorator applied to a getter
    @retry({ maxAttempts: 2 })
    get total(): Promise<number> {
      return Promise.resolve(this.base);
    }

    // @ts-expect-error a decorated method must be async (return a Promise)
    @retry({ maxAttempts: 2 })
    syncMethod(): number {
      return this.base;
    }

    // @ts-expect-error a fallback value the method's result type cannot hold
    @fallback({ value: 'free' })
    async strictPrice(productId: string): Promise<Price> {
      return { productId, price: this.base };
    }

    // @ts-expect-error a typed policy on a method of another result type
    @usePolicy(pricing)
    async name(): Promise<string> {
      return 'x';
    }
  }

  // The decorated method keeps its signature.
  const service = new Service();
  assertType<Equal<typeof service.getPrice, (productId: string) => Promise<Price>>>();
  // @ts-expect-error a decorated method called with the wrong argument type
  void service.getPrice(1);
}
