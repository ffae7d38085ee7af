// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. What a strict
// consumer meets: substitute types in results, contextual typing of thunks, predicates and
// fallback methods typed by the function they serve, `this`, and `execute`'s data.
import { fallback, retry } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';

interface Price {
  readonly productId: string;
  readonly price: number;
}

interface Counter {
  readonly base: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

declare function fetchPrice(id: string, o: { signal: AbortSignal }): Promise<Price>;

export async function typeSpecs(): Promise<void> {
  // A Fallback instance's substitute joins the result, as options do.
  const viaInstance = Policy.builder<Price>('pricing')
    .fallback(new Fallback({ value: null }))
    .build();
  const fromInstance = viaInstance.execute(async (): Promise<Price> =>
    fetchPrice('a', { signal: AbortSignal.abort() }),
  );
  assertType<Equal<typeof fromInstance, Promise<Price | null>>>();
  // @ts-expect-error the result may be the instance's null
  const shown: Price = await fromInstance;
  void shown;
  const otherType = Policy.builder<number>('n')
    .fallback(new Fallback({ value: 'none' }))
    .build();
  const numberOrString = otherType.execute(async (): Promise<number> => 1);
  assertType<Equal<typeof numberOrString, Promise<number | string>>>();

  // A substitute of any type is accepted; the result is the thunk's or the substitute's.
  const pricing = Policy.builder<Price>('pricing').fallback({ value: null }).timeout('3s').build();
  const price = pricing.execute((ctx) => fetchPrice('a', { signal: ctx.signal }));
  assertType<Equal<typeof price, Promise<Price | null>>>();
  const labelled = Policy.builder<Price>('p')
    .fallback({ method: () => 'unavailable' as const })
    .build()
    .execute(() => fetchPrice('a', { signal: AbortSignal.abort() }));
  assertType<Equal<typeof labelled, Promise<Price | 'unavailable'>>>();

  // A substitute written like a T keeps T's literal property types.
  interface Reply {
    readonly status: 'ok' | 'unavailable';
    readonly body: string;
  }
  const replies = Policy.builder<Reply>('r')
    .fallback({ value: { status: 'unavailable', body: '' } })
    .build();
  const reply: Reply = await replies.execute(async (): Promise<Reply> => ({
    status: 'ok',
    body: 'x',
  }));
  void reply;

  // A thunk wrapping a callback API in a Promise takes the policy's result type from context.
  const numbers = Policy.builder<number>('n').retry({ maxAttempts: 2 }).timeout('1s').build();
  const wrappedCallback = numbers.execute(
    () => new Promise((resolve) => setTimeout(() => resolve(42), 10)),
  );
  assertType<Equal<typeof wrappedCallback, Promise<number>>>();
  const awaited = numbers.execute(async () => {
    const x = await Promise.resolve(1);
    return x;
  });
  assertType<Equal<typeof awaited, Promise<number>>>();
  // A literal result keeps its type.
  const literal = numbers.execute(() => 1 as const);
  assertType<Equal<typeof literal, Promise<1>>>();
  // @ts-expect-error a Promise of the wrong type stays refused
  void numbers.execute(() => new Promise<string>((resolve) => resolve('x')));
  // @ts-expect-error so does a callback Promise resolved with the wrong type
  void numbers.execute(() => new Promise((resolve) => resolve('x')));

  // A fallback method's extra parameters are checked against the wrapped function's.
  const wrappedOk = fallback({ method: (_e, s: string) => s.length })(
    async (s: string) => s.length,
  );
  assertType<Equal<typeof wrappedOk, (s: string) => Promise<number>>>();
  // @ts-expect-error the method takes a number, the wrapped function a string
  fallback({ method: (_e, n: number) => n.toFixed(1) })(async (s: string) => s);
  // Unannotated, the parameters take what they get (as before).
  fallback({ method: (_e, id) => String(id) })(async (id: number) => String(id));
  class PricingService {
    @fallback({ method: (_error, productId: string) => ({ productId, price: 0 }) })
    async getPrice(productId: string): Promise<Price> {
      return fetchPrice(productId, { signal: AbortSignal.abort() });
    }

    // @ts-expect-error the method's parameters are (number, string), the decorated method's (string)
    @fallback({
      method: (_error, id: number, currency: string) => ({
        productId: String(id),
        price: currency.length,
      }),
    })
    async getOther(productId: string): Promise<Price> {
      return fetchPrice(productId, { signal: AbortSignal.abort() });
    }
  }
  void PricingService;

  // A wrapper's onResult is checked against the wrapped function's result.
  fallback({ value: 0, onResult: (r: number) => r < 0 })(async (x: number) => x);
  fallback({ value: 0, onResult: (r) => r === null })(async (x: number) => x);
  // @ts-expect-error onResult takes a string, the function resolves to a number
  fallback({ value: 0, onResult: (r: string) => r === '' })(async (x: number) => x);
  class Checked {
    @fallback({ value: 'none', onResult: (r: string) => r === '' })
    async name(): Promise<string> {
      return 'x';
    }

    // @ts-expect-error onResult takes a string, the method resolves to a number
    @fallback({ value: 0, onResult: (r: string) => r === '' })
    async count(): Promise<number> {
      return 1;
    }
  }
  void Checked;

  // Result predicates are typed by the builder's result type.
  Policy.builder<number>('n')
    .retry({ retryOnResult: (r) => r > 0 })
    .circuitBreaker({ recordOnResult: (r) => r < 0 })
    .build();
  // @ts-expect-error retryOnResult for strings on a number policy
  Policy.builder<number>('n').retry({ retryOnResult: (r: string) => r.trim() === '' });
  Policy.builder<number>('n').circuitBreaker({
    // @ts-expect-error recordOnResult for objects on a number policy
    recordOnResult: (r: { status: number }) => r.status >= 500,
  });
  // @ts-expect-error r is a Response: it has no toUpperCase
  Policy.builder<Response>().retry({ retryOnResult: (r) => r.toUpperCase() === 'X' });
  // @ts-expect-error r is a Response: it has no toUpperCase
  Policy.builder<Response>().circuitBreaker({ recordOnResult: (r) => r.toUpperCase() === 'X' });
  // Keyed breakers too.
  Policy.builder<Response>().circuitBreaker({ key: () => 'k', recordOnResult: (r) => !r.ok });
  // An untyped builder takes predicates for any result, as before.
  Policy.builder('u')
    .retry({ retryOnResult: (r: Response) => !r.ok })
    .circuitBreaker({ recordOnResult: (r: Response) => r.status >= 500 });

  // Wrappers keep `this`.
  function add(this: Counter, x: number): number {
    return this.base + x;
  }
  const counter: Counter = { base: 1 };
  const retried = retry()(add);
  void retried.call(counter, 1);
  // @ts-expect-error called without its `this`, as `add(1)` would be
  void retried(1);
  const viaPolicy = Policy.builder('p').build().wrap(add);
  void viaPolicy.call(counter, 2);
  // @ts-expect-error called without its `this`
  void viaPolicy(2);
  const method = { base: 2, add: Policy.builder('p').build().wrap(add) };
  void method.add(3);

  // execute's data takes any object type (and a Map).
  interface PriceRequest {
    readonly id: string;
    readonly currency: string;
  }
  const req: PriceRequest = { id: 'a', currency: 'EUR' };
  const plain = Policy.builder('p').build();
  void plain.execute((ctx) => ctx.data.get('id'), { data: req });
  class RequestData {
    id = 'x';
  }
  void plain.execute((ctx) => ctx.data.get('id'), { data: new RequestData() });
  void plain.execute((ctx) => ctx.data.get('id'), { data: new Map([['id', 'a']]) });
  // @ts-expect-error not an object
  void plain.execute((ctx) => ctx.data.get('id'), { data: 'id=a' });
}
