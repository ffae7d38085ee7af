/**
 * What work answering `W` (a value, or a promise of one) resolves to where its caller expects
 * results of type `T` (a typed policy's, what a result predicate judges): `Awaited<W>`, every
 * member of a union kept (`Promise<string> | number` resolves to `string | number`); or, when
 * that is `any` (`response.json()`), `T` itself, so that the result keeps the caller's type.
 * Where nothing is expected (`T` is `unknown`), `any` stays `any`.
 */
declare const anyOnly: unique symbol;

/**
 * A type no value has but `any` (and `never`): a signature for work resolving to `any` constrains
 * its result by `AnyOnly | PromiseLike<AnyOnly>`, which a type parameter (`Promise<T>` in generic
 * code) does not meet, where a conditional type on it would stay unresolved.
 */
export interface AnyOnly {
  readonly [anyOnly]: true;
}

export type Resolved<W, T> = 0 extends 1 & Awaited<W>
  ? unknown extends T
    ? Awaited<W>
    : T
  : Awaited<W>;
