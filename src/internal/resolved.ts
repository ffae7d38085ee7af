/**
 * What work answering `W` (a value, or a promise of one) resolves to where its caller expects
 * results of type `T` (a typed policy's, what a result predicate judges): `Awaited<W>`, every
 * member of a union kept (`Promise<string> | number` resolves to `string | number`); or, when
 * that is `any` (`response.json()`), `T` itself, so that the result keeps the caller's type.
 * Where nothing is expected (`T` is `unknown`), `any` stays `any`.
 */
export type Resolved<W, T> = 0 extends 1 & Awaited<W>
  ? unknown extends T
    ? Awaited<W>
    : T
  : Awaited<W>;
