declare const anyOnly: unique symbol;

/**
 * A type no value has but `any` (and `never`). A signature for work resolving to `any` constrains
 * its result by `AnyOnly | PromiseLike<AnyOnly>`, which a type parameter (`Promise<T>` in generic
 * code) does not meet, where a conditional type on it would stay unresolved.
 *
 * Exported so that a declaration file can name it (a library's generic helper that passes a
 * function on to `usePolicy` or `wrap`); code has no use for it otherwise.
 */
export interface AnyOnly {
  readonly [anyOnly]: true;
}

/**
 * What work answering `W` (a value, or a promise of one) resolves to where its caller expects
 * results of type `T` (a typed policy's, what a result predicate judges): `Awaited<W>`, every
 * member of a union kept (`Promise<string> | number` resolves to `string | number`); or, when
 * that is `any` (`response.json()`), `T` itself, so that the result keeps the caller's type.
 * Where nothing is expected (`T` is `unknown`), `any` stays `any`.
 *
 * The result type of `execute` (`Promise<Resolved<ReturnType<Fn>, R> | F>`). In generic code it
 * stays unresolved (`Resolved<Promise<T>, T>` for work typed by a type parameter `T`); exported so
 * that a declaration file can name it, as a library's helper returning such a call's promise,
 * without a return type annotation, needs:
 * ```ts
 * export function guarded<T>(policy: Policy<T>, fn: () => Promise<T>) {
 *   return policy.execute(fn); // Promise<Resolved<Promise<T>, T>>
 * }
 * ```
 */
export type Resolved<W, T> = 0 extends 1 & Awaited<W>
  ? unknown extends T
    ? Awaited<W>
    : T
  : Awaited<W>;

/**
 * Work a primitive runs, given the caller's signal (or one that never aborts): a value, or a
 * promise of one. Each primitive's `execute` takes the work's whole type (`Fn extends
 * SignalWork<T>`), so that a union result (`Promise<string> | number`) keeps every member; `T` is
 * a result type given as a type argument (`execute<Price>(fn)`). Exported so that a declaration
 * file can name it.
 */
export type SignalWork<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** Work a retry or a hedge runs: as {@link SignalWork}, also given the attempt number. */
export type AttemptWork<T> = (signal: AbortSignal, attempt: number) => T | PromiseLike<T>;
