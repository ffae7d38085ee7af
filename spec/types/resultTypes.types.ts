// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
// What a result goes through: a fallback's substitute in a decorated method's result, result
// predicates inside primitives and stages, generic functions wrapped, a registry's untyped
// policy, a builder changed in place.
import { circuitBreaker, fallback, retry, usePolicy } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { PolicyBuilder } from '../../src/pipeline/PolicyBuilder.js';
import { stages } from '../../src/pipeline/stages.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Retry } from '../../src/strategies/retry/Retry.js';

interface Price {
  readonly id: string;
  readonly price: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export async function resultTypeSpecs(response: Response): Promise<void> {
  // A policy whose fallback changes the result: its method declares the substitute too.
  const pricing = Policy.builder<Price>('pricing')
    .fallback({ value: null })
    .retry({ maxAttempts: 3 })
    .build();
  class PricingService {
    @usePolicy(pricing)
    async getPrice(id: string): Promise<Price | null> {
      return { id, price: 1 };
    }

    // @ts-expect-error the policy may resolve to null, which the method's result does not allow
    @usePolicy(pricing)
    async strict(id: string): Promise<Price> {
      return { id, price: 1 };
    }

    // @ts-expect-error the body resolves to strings: the policy's thunks produce a Price
    @usePolicy(pricing)
    async label(): Promise<string | null> {
      return 'x';
    }

    @fallback({ value: null, onResult: (p: Price) => p.price < 0 })
    async judged(id: string): Promise<Price | null> {
      return { id, price: 1 };
    }
  }
  void PricingService;

  // Result predicates inside primitives: the primitive is typed by what its predicate takes.
  const retryHttp = new Retry({ maxAttempts: 3, retryOnResult: (r: Response) => !r.ok });
  assertType<Equal<typeof retryHttp, Retry<Response>>>();
  const breakerHttp = new CircuitBreaker({ recordOnResult: (r: Response) => r.status >= 500 });
  const fallbackHttp = new Fallback({ value: null, onResult: (r: Response) => !r.ok });
  assertType<Equal<typeof fallbackHttp, Fallback<null, Response>>>();
  // @ts-expect-error a retry judging Responses on a policy of prices
  Policy.builder<Price>().retry(retryHttp);
  // @ts-expect-error a breaker judging Responses on a policy of prices
  Policy.builder<Price>().circuitBreaker(breakerHttp);
  // @ts-expect-error a fallback judging Responses on a policy of prices
  Policy.builder<Price>().fallback(fallbackHttp);
  // @ts-expect-error work resolving to a number, the predicate takes a Response
  void retryHttp.execute(() => 5);
  // @ts-expect-error as above, for a breaker
  void breakerHttp.execute(async () => 5);
  // @ts-expect-error as above, for a fallback
  void fallbackHttp.execute(async () => 5);
  // @ts-expect-error the retry wrapper's predicate takes a Response, the function gives a number
  retry({ retryOnResult: (r: Response) => !r.ok })(async () => 5);
  // @ts-expect-error as above, for the circuit breaker wrapper
  circuitBreaker(breakerHttp)(async () => 5);
  // @ts-expect-error a built-in stage judging Responses, used on a policy of prices
  Policy.builder<Price>().use(stages.retry({ retryOnResult: (r: Response) => !r.ok }));
  // @ts-expect-error as above, a stage over a primitive
  Policy.builder<Price>().use(stages.circuitBreaker(breakerHttp));
  Policy.builder<Price>().use(
    // @ts-expect-error as above, a keyed breaker's stage
    stages.circuitBreaker({ key: () => 'k', recordOnResult: (r: Response) => !r.ok }),
  );
  // @ts-expect-error as above, a fallback's stage
  Policy.builder<Price>().use(stages.fallback(fallbackHttp));

  // Where the types agree, everything compiles.
  const http = Policy.builder<Response>('http')
    .fallback(fallbackHttp)
    .retry(retryHttp)
    .circuitBreaker(breakerHttp)
    .use(stages.retry({ retryOnResult: (r: Response) => r.status === 503 }))
    .use(stages.circuitBreaker({ key: () => 'k', recordOnResult: (r: Response) => !r.ok }))
    .use(stages.timeout('1s'))
    .use({ kind: 'logging', execute: (ctx, next) => next(ctx) })
    .build();
  assertType<Equal<typeof http, Policy<Response, null>>>();
  // A fallback stage added with `use` joins its substitute to the result, as `fallback(...)` does.
  const used = Policy.builder<number>('used')
    .use(stages.fallback({ value: 'oops' as const }))
    .build();
  assertType<Equal<typeof used, Policy<number, 'oops'>>>();
  const usedResult = used.execute(async () => 1);
  // @ts-expect-error the fallback's 'oops' may answer: not a number
  const onlyNumber: Promise<number> = usedResult;
  assertType<Equal<typeof usedResult, Promise<number | 'oops'>>>();
  const usedPrimitive = Policy.builder<Response>('used').use(stages.fallback(fallbackHttp)).build();
  assertType<Equal<typeof usedPrimitive, Policy<Response, null>>>();
  // Other stages, built-in or custom, add nothing.
  const plain = Policy.builder<number>('plain')
    .use(stages.retry({}))
    .use({ kind: 'logging', execute: (ctx, next) => next(ctx) })
    .build();
  const plainResult = plain.execute(async () => 1 as const);
  assertType<Equal<typeof plainResult, Promise<1>>>();
  void onlyNumber;
  const ok: Response = await retryHttp.execute(async () => response);
  const fetched = retry({ retryOnResult: (r: Response) => !r.ok })(async (u: string) => fetch(u));
  assertType<Equal<typeof fetched, (u: string) => Promise<Response>>>();
  // A predicate of a wider type judges narrower results; an untyped builder takes any.
  const anyResult = new Retry({ retryOnResult: (r: unknown) => r === undefined });
  Policy.builder<Price>().retry(anyResult).use(stages.retry(anyResult));
  Policy.builder().retry(retryHttp).circuitBreaker(breakerHttp).fallback(fallbackHttp);
  // Primitives without a predicate fit any policy.
  Policy.builder<Price>().retry(new Retry()).circuitBreaker(new CircuitBreaker());
  void [ok];

  // A fallback's method is called with the call's `this`, typed as the decorated class.
  class Cached {
    readonly cache = new Map([['a', 1]]);
    @fallback({
      method: function (this: Cached, _error: unknown, id: string) {
        return this.cache.get(id) ?? -1;
      },
    })
    async get(_id: string): Promise<number> {
      throw new Error('down');
    }
  }
  void Cached;
  class Other {
    // @ts-expect-error the method reads a `this` of another class
    @fallback({
      method: function (this: Cached) {
        return this.cache.size;
      },
    })
    async get(): Promise<number> {
      return 1;
    }
  }
  void Other;
  const self = { n: 2 };
  const wrappedSelf = fallback({
    method: function (this: typeof self) {
      return this.n;
    },
  })(async function (this: typeof self) {
    return this.n;
  });
  assertType<Equal<typeof wrappedSelf, (this: typeof self) => Promise<number>>>();

  // A generic function's wrapper stays generic.
  async function load<T>(key: string, parse: (s: string) => T): Promise<T> {
    return parse(key);
  }
  const untyped = Policy.builder().retry({ maxAttempts: 3 }).build();
  const a: number = await untyped.wrap(load)('1', Number);
  const b: number = await retry({ maxAttempts: 3 })(load)('1', Number);
  const c: string | null = await Policy.builder().fallback({ value: null }).build().wrap(load)(
    '1',
    String,
  );
  // @ts-expect-error the wrapper keeps `load`'s type parameter: a string is no number
  const d: number = await untyped.wrap(load)('1', String);
  void [a, b, c, d];

  // A registry's policy without type arguments resolves to its thunk's type.
  const registry = PolicyRegistry.fromConfig({
    policies: { p: [{ retry: { 'max-attempts': 3 } }] },
  });
  const e: number = await registry.policy('p').execute(async () => 5);
  const f = registry.policy('p').wrap(async (s: string) => s.length);
  assertType<Equal<typeof f, (s: string) => Promise<number>>>();
  void e;

  // A builder changed in place declares the fallback's type it may get at the start.
  const declared = Policy.builder<Price, null>('pricing');
  if (response.ok) declared.fallback({ value: null });
  assertType<Equal<ReturnType<typeof declared.build>, Policy<Price, null>>>();
  const widened: PolicyBuilder<Price, null> = Policy.builder<Price>('pricing');
  void widened;
}
