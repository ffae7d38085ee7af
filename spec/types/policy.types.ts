// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
import { Policy } from '../../src/pipeline/Policy.js';

interface Price {
  readonly productId: string;
  readonly amount: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export async function typeSpecs(): Promise<void> {
  // Without a type argument, execute infers the result from the thunk.
  const untyped = Policy.builder('u').retry({ maxAttempts: 2 }).build();
  const n = untyped.execute(async () => 42);
  assertType<Equal<typeof n, Promise<number>>>();

  // With a fallback, the fallback's type joins the result.
  const withFallback = Policy.builder('f').fallback({ value: null }).build();
  const maybe = withFallback.execute(() => 'text');
  assertType<Equal<typeof maybe, Promise<string | null>>>();

  // A typed policy checks the thunk's result type.
  const typed = Policy.builder<Price>('pricing')
    .fallback({ value: { productId: 'x', amount: 0 } })
    .timeout('3s')
    .build();
  const price = typed.execute(async (ctx) => ({ productId: String(ctx.attempt), amount: 1 }));
  const checked: Price = await price;
  void checked;

  // @ts-expect-error a thunk of the wrong result type
  void typed.execute(async () => 'not a price');

  // A substitute of another type joins the result type: the caller sees both.
  const orFree = Policy.builder<Price>('free').fallback({ value: 'free' }).build();
  const free = orFree.execute(async () => ({ productId: 'x', amount: 1 }));
  assertType<Equal<typeof free, Promise<{ productId: string; amount: number } | string>>>();
  const orZero = Policy.builder<Price>('zero')
    .fallback({ method: () => 0 })
    .build();
  // @ts-expect-error the result may be the method's number, not a Price
  const notOnlyPrice: Price = await orZero.execute(async () => ({ productId: 'x', amount: 1 }));
  void notOnlyPrice;

  // The fallback method receives the error and the execution context.
  Policy.builder<Price>('ok').fallback({
    method: (_error, ctx) => ({ productId: String(ctx.data.get('id')), amount: 0 }),
  });

  // wrap keeps parameter types and returns a promise.
  const wrapped = untyped.wrap((id: string, qty: number) => id.length * qty);
  assertType<Equal<typeof wrapped, (id: string, qty: number) => Promise<number>>>();
  // @ts-expect-error wrong argument type for a wrapped function
  void wrapped(1, 2);
}
