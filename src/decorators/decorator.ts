// The one helper every wrapper/decorator is built on: an executor that knows how to run a call
// becomes a value usable both as `x(options)(fn)` and as a method decorator, standard (TC39) or
// legacy (`experimentalDecorators`).
import { show } from '../internal/validate.js';
import type { AnyOnly } from '../internal/resolved.js';

/**
 * @internal Runs one call of a wrapped function. `call` invokes the original function with the
 * caller's `this` and arguments (it may be called several times, as a retry does); `fnName` is
 * the wrapped function's or method's name; `args` are the call's arguments. When the function
 * wrapped is itself a wrapper, `work` follows the original function's calls beneath this one
 * (and carries the signal to hand down); `signal` is the one handed down from outside, if any;
 * `self` is the call's `this` and `entry` the wrapper called (where a refusal's stack starts).
 */
export type Executor = (
  call: () => Promise<unknown>,
  fnName: string,
  args: unknown[],
  work: Work | undefined,
  signal: AbortSignal | undefined,
  self: unknown,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a wrapper is any function
  entry: Function,
) => Promise<unknown>;

/**
 * @internal The calls of the original function made beneath one call of a wrapper that wraps a
 * wrapper, so that stacked wrappers behave as the same stages in a policy: a bulkhead outside a
 * time limiter holds its slot until the work settles, not until the limiter answers. A wrapper
 * hands its own to the wrapper it calls (read at that wrapper's entry), and every call of the
 * original function counts in it and in those outside it. `signal` is what the wrappers beneath
 * are handed: the deadline's of a time limiter (or of one outside).
 */
class Work {
  running = 0;
  /** Called each time the count of calls running falls to 0. */
  drained: (() => void) | undefined = undefined;
  signal: AbortSignal | undefined;
  readonly outer: Work | undefined;
  constructor(outer: Work | undefined) {
    this.outer = outer;
    this.signal = outer?.signal;
  }

  follow(work: Promise<unknown>): void {
    count(this, 1);
    const done = (): void => count(this, -1);
    work.then(done, done);
  }
}

/** Counts a call of the original function starting (1) or settling (-1) in `work` and outside. */
function count(work: Work | undefined, delta: 1 | -1): void {
  for (; work !== undefined; work = work.outer) {
    work.running += delta;
    if (work.running === 0) work.drained?.();
  }
}

// Handed by a wrapper to the wrapper it calls, which takes it at once (see `Work`).
let handed: Work | undefined;
// The functions `toDecorator` made: a wrapper wrapping one of them follows its work.
const wrappers = new WeakSet<object>();

/**
 * What a decorator gives back when the fallback it adds cannot produce the method's result type:
 * returning this instead of a method makes the decoration a compile error that names both types.
 */
export interface FallbackResultMismatch<V, R> {
  readonly 'fallback result is not assignable to the method result': { fallback: V; method: R };
}

/**
 * A function wrapper that is also a method decorator: TC39 (TypeScript 5+ standard) or, under
 * `experimentalDecorators`, legacy, with the same type rules and behaviour.
 *
 * - As a wrapper, `w(fn)` returns a function with the same parameters and `this` that always
 *   returns a Promise (a synchronous throw becomes a rejection) and keeps `fn.name`. A generic
 *   function stays generic: `w(load)` for `load<T>(key: string): Promise<T>` is
 *   `<T>(key: string) => Promise<T>`. The promise resolves to what `fn` does (a function
 *   answering `Promise<string> | number` gives `Promise<string | number>`), or to `T` where that
 *   is `any` (a function returning `response.json()` on a typed policy).
 * - As a decorator, `@w` applies to methods only (a field, accessor, getter or setter is a
 *   compile error). The method must be `async` (return a Promise): a decorator cannot change a
 *   method's declared return type, so a non-Promise method is a compile error. A method may
 *   declare the substitute in its result (`Promise<Price | null>` under a fallback to `null`),
 *   and must when the wrapper has one, unless its result is `Promise<void>`: its callers see
 *   `void` and use no value, so any substitute fits it (at run time they get the substitute).
 *
 * @typeParam V - type of a substitute result the wrapper may produce (a fallback's), `never` if none
 * @typeParam T - result type the wrapped function must produce (a typed policy's, or what a
 *   result predicate judges), `unknown` if any
 * @typeParam P - arguments the wrapper passes on (a fallback method's, after the error): the
 *   wrapped function's or method's parameters must fit them
 * @typeParam S - the `this` the wrapper passes on (a fallback method's): the wrapped function's
 *   `this` must be one; `unknown` if any
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- `P`: the parameters of any function */
export interface ResilienceDecorator<V = never, T = unknown, P extends any[] = any[], S = unknown> {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  /**
   * Wraps a function resolving to `any` (`response.json()`): the wrapper resolves to `T` (`any`
   * stays `any` where `T` is `unknown`). Its own signature, not a conditional type on `R`: one
   * on `Promise<U>` in generic code would stay unresolved, and assignable to no `U`.
   */
  <A extends Fits<P>, R extends AnyOnly | PromiseLike<AnyOnly>>(
    fn: unknown extends S ? (this: void, ...args: A) => R : never,
    // Never given: it keeps this signature from matching a getter or setter decorator call.
    context?: undefined,
  ): (...args: A) => Promise<(unknown extends T ? Awaited<R> : T) | V>;
  /**
   * Wraps a function that declares no `this` (unless the wrapper needs one, `S`): same
   * parameters, result always a Promise. One plain signature, so that a generic function's type
   * parameters carry over to the wrapper.
   */
  <A extends Fits<P>, R extends T | PromiseLike<T>>(
    fn: unknown extends S ? (this: void, ...args: A) => R : never,
    // As above.
    context?: undefined,
  ): (...args: A) => Promise<Awaited<R> | V>;
  /** Wraps a function that declares its `this`: the wrapper declares the same. */
  <This extends S, A extends Fits<P>, R extends T | PromiseLike<T>>(
    fn: (this: This, ...args: A) => R,
    context?: undefined,
  ): (this: This, ...args: A) => Promise<Awaited<R> | V>;
  /**
   * Decorates an async method. The method's own type is kept whole (`M`), so a generic method, or
   * one whose result names a type parameter of its class, is decorated as declared.
   */
  <This extends S, M extends (this: This, ...args: Fits<P>) => Promise<T | V>>(
    method: M,
    context: ClassMethodDecoratorContext<This, M>,
  ): DecoratedMethod<V, T, M>;
  /**
   * Decorates an async method under `experimentalDecorators` (TypeScript's legacy decorators,
   * called with the prototype, or the class for a static method, the key and the descriptor),
   * by the same rules: the descriptor given back holds the wrapper.
   */
  <This extends S, M extends (this: This, ...args: Fits<P>) => Promise<T | V>>(
    target: This,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): { value?: DecoratedMethod<V, T, M> };
}

/**
 * The arguments that fit parameters `P` (a fallback method's after the error): `P`'s, then any
 * more, as a method declaring fewer parameters ignores the rest.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arguments past `P` may be anything
type Fits<P extends any[]> = [...P, ...any[]];

/**
 * What decorating method `M` gives back: `M` itself, or, when its result does not fit, a type
 * that makes the decoration a compile error naming both types: a {@link FallbackResultMismatch}
 * when a fallback's substitute `V` cannot be the method's result, a {@link MethodResultMismatch}
 * when what the method's body resolves to is not a `T` (the results the wrapper's predicates
 * judge, a typed policy's). The method's result declares both (`Promise<Price | null>` under a
 * fallback to `null`): its body's results are taken to be the part that is not a `V`, or all of
 * it when all of it is (`Promise<number>` under a fallback to `0`).
 *
 * A result that names a type parameter of the class (`Promise<T | null>` in a `Repo<T>`) leaves
 * the checks undecided while the class is compiled: TypeScript then requires both outcomes to be
 * assignable to the method. So each mismatch is also a function resolving to what would fit,
 * assignable to the method exactly when that is assignable to its result (`null` to `T | null`
 * is; `'none'` to `T` is not, since `T` may be a number): an undecided check is settled by
 * assignability, and a decided one still names both types.
 */
type DecoratedMethod<V, T, M> = unknown extends T
  ? SubstituteFits<V, M>
  : [BodyResult<MethodResult<M>, V>] extends [T]
    ? SubstituteFits<V, M>
    : MethodResultMismatch<T, MethodResult<M>> & Substitute<T | V>;

/**
 * `M`, or a {@link FallbackResultMismatch} when substitute `V` cannot be its result. A method whose
 * result is `void` takes any substitute: its callers see `void` and use no value.
 */
type SubstituteFits<V, M> = [V] extends [never]
  ? M
  : [V] extends [MethodResult<M>]
    ? M
    : Discards<MethodResult<M>> extends true
      ? M
      : FallbackResultMismatch<V, MethodResult<M>> & Substitute<V>;

/** `true` for the result `void` (not `undefined`, nor `never`): a value no caller reads. */
type Discards<R> = [R] extends [void] ? ([void] extends [R] ? true : false) : false;

/** What a method of result `R` resolves to itself under substitutes `V`: `R` but the `V`s. */
type BodyResult<R, V> = [Exclude<R, V>] extends [never] ? R : Exclude<R, V>;

/**
 * What a decorator gives back when the method resolves to results its wrapper's predicates
 * (`retryOnResult`, `recordOnResult`, `onResult`, a typed policy's) do not take: returning this
 * instead of a method makes the decoration a compile error that names both types.
 */
export interface MethodResultMismatch<T, R> {
  readonly 'method result is not the result type the wrapper takes': { wrapper: T; method: R };
}

/** A method resolving to a fallback's substitute. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parameters of any method
type Substitute<V> = (...args: any[]) => Promise<V>;

/** The awaited result of an async method type. */
type MethodResult<M> = M extends (...args: never) => Promise<infer R> ? R : never;

/**
 * @internal Turns an executor into a {@link ResilienceDecorator}. Every call of a wrapped function
 * allocates the `call` thunk and nothing else here. `raw`: the executor takes any answer (see
 * {@link wrap}).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as ResilienceDecorator's
export function toDecorator<V = never, T = unknown, P extends any[] = any[], S = unknown>(
  executor: Executor,
  what: string,
  raw?: boolean,
): ResilienceDecorator<V, T, P, S> {
  function decorate(fn: unknown, context?: unknown, descriptor?: PropertyDescriptor): unknown {
    const refuse = (got: string): TypeError =>
      new TypeError(`${what} decorates methods only, got ${got}`);
    // `(target, key, descriptor)`: TypeScript's legacy decorators, which `experimentalDecorators`
    // (and Babel's legacy plugin) emit in place of standard ones. The method is wrapped as a
    // standard decorator wraps it, and a new descriptor holding the wrapper is given back.
    const legacy = typeof context === 'string' || typeof context === 'symbol';
    // The name a method's context or key gives; a function's own otherwise.
    let name: unknown;
    // A parameter decorator's call has the parameter's index in place of a descriptor.
    const parameter: unknown = descriptor;
    if (legacy) {
      // A method parameter's call is `(prototype, 'm', 0)`.
      if (typeof parameter === 'number') {
        throw refuse(`parameter ${parameter} of method \`${String(context)}\``);
      }
      fn = descriptor?.value;
      if (typeof fn !== 'function') {
        // A field's call has no descriptor (or, under Babel, one with an `initializer`).
        const d = descriptor;
        throw refuse(
          member(d?.get ? (d.set ? 'accessor' : 'getter') : d?.set ? 'setter' : 'field', context),
        );
      }
      name = context;
    } else if (context === undefined) {
      if (typeof fn !== 'function') {
        throw new TypeError(`${what}: \`fn\` must be a function, got ${show(fn)}`);
      }
      // A legacy class decorator is called with the class alone: a class is never a call's `fn`.
      // (`class` and a space or `{`: a function named `classify`, or `classes => ...`, is none.)
      if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) {
        // A constructor parameter's call is `(Class, undefined, 0)`.
        throw refuse(
          typeof parameter === 'number'
            ? `parameter ${parameter} of the constructor of \`${fn.name}\``
            : member('class', fn.name),
        );
      }
    } else {
      // Reached at run time only from plain JS or a cast: the types allow methods alone.
      const c = context as { kind?: unknown; name?: unknown };
      if (c.kind !== 'method' || typeof fn !== 'function') {
        throw refuse(typeof c.kind === 'string' ? member(c.kind, c.name) : show(context));
      }
      name = c.name;
    }
    const method = fn as (...args: unknown[]) => unknown;
    const wrapped = wrap(method, typeof name === 'string' ? name : method.name, executor, raw);
    return legacy ? { ...descriptor, value: wrapped } : wrapped;
  }
  return decorate as ResilienceDecorator<V, T, P, S>;
}

/**
 * A member a decorator was given, as a refusal names it: `a getter \`price\``, `an accessor
 * \`#total\``, `the class \`Service\``, or its kind alone when it has no name (an anonymous
 * class). Standard and legacy decorators' refusals alike.
 */
function member(kind: string, name: unknown): string {
  const article = /^[aeiou]/.test(kind) ? 'an' : 'a';
  // An anonymous class's context names it '' (TypeScript) or not at all.
  if (name === '' || (typeof name !== 'string' && typeof name !== 'symbol')) {
    return `${article} ${kind}`;
  }
  return `${kind === 'class' ? 'the' : article} ${kind} \`${String(name)}\``;
}

/**
 * @internal Wraps `fn` (named `name`) as `toDecorator`'s wrappers do: `policy.wrap` too. With
 * `raw` (an executor that takes any answer, as `policy.execute` does), a call with no work to
 * follow (`fn` is no wrapper, and no wrapper calls this one) hands the executor a `call` that
 * answers as `fn` does (a value, a promise, a throw), not a promise made of that answer.
 */
export function wrap(
  fn: (...args: unknown[]) => unknown,
  name: string,
  executor: Executor,
  raw?: boolean,
): (...args: unknown[]) => Promise<unknown> {
  const stacked = wrappers.has(fn);
  const direct = raw === true && !stacked;
  const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const outer = handed;
    // Nothing to follow (see above): `call` answers as the function does.
    const plain = direct && outer === undefined;
    const work = stacked ? new Work(outer) : undefined;
    handed = undefined;
    try {
      return executor(
        plain ? () => fn.apply(this, args) as never : followed(fn, this, args, outer, work),
        name,
        args,
        work,
        outer?.signal,
        this,
        wrapped,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  wrappers.add(wrapped);
  return wrapped;
}

/**
 * A call of the original function that the wrappers follow: it hands `work` (this wrapper's) to
 * a wrapper it calls, and counts as work of the wrapper outside (`outer`), unless it is itself a
 * wrapper, whose own calls count. Its answer is always a promise.
 */
function followed(
  fn: (...args: unknown[]) => unknown,
  self: unknown,
  args: unknown[],
  outer: Work | undefined,
  work: Work | undefined,
): () => Promise<unknown> {
  return () => {
    let result: Promise<unknown>;
    handed = work;
    try {
      result = Promise.resolve(fn.apply(self, args));
    } catch (error) {
      result = Promise.reject(error);
    }
    handed = undefined;
    // The original function: its call is work the wrappers outside follow.
    if (outer !== undefined && work === undefined) outer.follow(result);
    return result;
  };
}
