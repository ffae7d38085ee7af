// Type-level spec of the method decorators as a consumer writes them, under both decorator
// modes: compiled by `tsc -p spec/tsconfig.json --noEmit` (standard decorators), and by
// `scripts/check-consumers.mjs` against the packed package, by TypeScript 7 and 5, once with
// `experimentalDecorators` and `emitDecoratorMetadata` on (as NestJS projects compile) and once
// without. Never run. Each `@ts-expect-error` marks code that must not compile in either mode;
// every other line must compile in both.
import {
  Bulkhead,
  CircuitBreaker,
  Policy,
  RateLimiter,
  bulkhead,
  circuitBreaker,
  fallback,
  rateLimiter,
  retry,
  timeLimiter,
  usePolicy,
} from 'bulwark';

interface Price {
  readonly productId: string;
  readonly price: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

/** A class decorator of the kind NestJS's `@Injectable()` is. */
function Injectable(): ClassDecorator {
  return () => undefined;
}

const pool = new Bulkhead({ maxConcurrent: 10 });
const breaker = new CircuitBreaker({ failureThreshold: 5 });
const limiter = new RateLimiter({ maxTokens: 100, refillRate: 50 });
const pricing = Policy.builder<Price>('pricing').retry({ maxAttempts: 2 }).build();

@Injectable()
export class PricingService {
  readonly base = 1;

  @fallback({ method: (_error, productId) => ({ productId, price: 0 }) })
  @bulkhead(pool)
  @circuitBreaker(breaker)
  @rateLimiter(limiter)
  @retry({ maxAttempts: 3, delay: '200ms' })
  @timeLimiter({ timeout: '3s' })
  async getPrice(productId: string): Promise<Price> {
    return { productId, price: this.base };
  }

  @usePolicy(pricing)
  async viaPolicy(productId: string): Promise<Price> {
    return { productId, price: this.base };
  }

  @fallback({ value: null })
  async maybe(productId: string): Promise<Price | null> {
    return { productId, price: this.base };
  }

  @retry({ maxAttempts: 2 })
  static async load(key: string): Promise<number> {
    return key.length;
  }

  @timeLimiter({ timeout: '1s' })
  async first<U>(xs: U[]): Promise<U | undefined> {
    return xs[0];
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

  // @ts-expect-error a fallback method whose parameters do not fit the method's
  @fallback({ method: (_error, id: number) => ({ productId: String(id), price: 0 }) })
  async byName(productId: string): Promise<Price> {
    return { productId, price: this.base };
  }

  // @ts-expect-error a typed policy on a method of another result type
  @usePolicy(pricing)
  async name(): Promise<string> {
    return 'x';
  }

  // @ts-expect-error a decorator applied to a class field
  @retry({ maxAttempts: 2 })
  field = async (): Promise<number> => 1;

  // @ts-expect-error a decorator applied to a getter
  @retry({ maxAttempts: 2 })
  get total(): Promise<number> {
    return Promise.resolve(this.base);
  }
}

/** A result naming the class's type parameter: the substitute is checked by assignability. */
export class Repo<T> {
  readonly load: (id: string) => Promise<T | null>;
  constructor(load: (id: string) => Promise<T | null>) {
    this.load = load;
  }

  @fallback({ value: null })
  async find(id: string): Promise<T | null> {
    return this.load(id);
  }

  // @ts-expect-error a substitute that `T` may not hold
  @fallback({ value: 'none' })
  async get(id: string): Promise<T> {
    return (await this.load(id)) as T;
  }
}

// @ts-expect-error a class is not decorated
@retry({ maxAttempts: 2 })
export class Whole {}

const service = new PricingService();
assertType<Equal<typeof service.getPrice, (productId: string) => Promise<Price>>>();
assertType<Equal<typeof PricingService.load, (key: string) => Promise<number>>>();
// @ts-expect-error a decorated method called with the wrong argument type
void service.getPrice(1);

// A policy whose fallback changes the result: the method declares the substitute too.
const nullable = Policy.builder<Price>('nullable').fallback({ value: null }).build();
export class Substitutes {
  readonly cache = new Map<string, number>();

  @usePolicy(nullable)
  async find(productId: string): Promise<Price | null> {
    return { productId, price: 1 };
  }

  // @ts-expect-error the policy may resolve to null, which the method's result does not allow
  @usePolicy(nullable)
  async get(productId: string): Promise<Price> {
    return { productId, price: 1 };
  }

  // @ts-expect-error a breaker judging strings on a method of numbers
  @circuitBreaker(new CircuitBreaker({ recordOnResult: (s: string) => s === '' }))
  async count(): Promise<number> {
    return 1;
  }

  // A fallback's method is called with the instance.
  @fallback({
    method: function (this: Substitutes, _error: unknown, key: string) {
      return this.cache.get(key) ?? 0;
    },
  })
  async cached(key: string): Promise<number> {
    return key.length;
  }
}

export class Stranger {
  // @ts-expect-error the fallback's method reads a `this` of another class
  @fallback({
    method: function (this: Substitutes) {
      return this.cache.size;
    },
  })
  async size(): Promise<number> {
    return 1;
  }
}
