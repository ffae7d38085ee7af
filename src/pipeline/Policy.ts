import { declares } from '../internal/arity.js';
import type { Clock } from '../internal/clock.js';
import {
  endTimedCalls,
  inspectableContexts,
  RootContext,
  type Context,
} from '../internal/context.js';
import { rejectedSoon, rejectSoon, V8Error } from '../internal/refusal.js';
import { INSPECT, inspectView } from '../internal/inspect.js';
import { isSignal } from '../internal/signals.js';
import { fnError, show, syncAnswer, unboundError, unknownOption } from '../internal/validate.js';
import { link, type Inward, type Outward, type Step } from './engine.js';
import { reportEnd } from './step.js';
import type { StageEnv } from './env.js';
import { fuse, REFUSED, type Fused, type FusedHost } from './fused.js';
import { EventHub, EVENTS, type PolicyEvent, type PolicyListener } from './events.js';
import { toDataMap, type Thunk } from './ExecutionContext.js';
import type { Counters, PolicyMetrics, StageState } from './metrics.js';
import { PolicyBuilder } from './PolicyBuilder.js';
import { wrap as wrapWith, type Executor } from '../decorators/decorator.js';
import type { StageInfo } from './Stage.js';
import { linkAbort, listenAbort, unlistenAbort } from '../internal/abortListeners.js';
import { optionError, signalPicker, strayOptions } from '../internal/pickSignal.js';
import { describeError } from '../internal/describeError.js';
import type { AnyOnly, Resolved } from '../internal/resolved.js';

/**
 * @internal Gives `policy` (one just built, or a registry's handle) its Node inspect view,
 * `Policy { name, stages }`: what `toJSON()` gives, under the class's name. An own property, not
 * a method: a class member under a computed key would keep the class in every bundle, used or not.
 */
export function inspectable(policy: Policy<unknown, unknown>): void {
  Object.defineProperty(policy, INSPECT, { value: policyView });
}

const policyView = /* @__PURE__ */ inspectView('Policy', (policy: Policy<unknown, unknown>) =>
  policy.toJSON(),
);

/** Options of {@link Policy.execute}. */
export interface ExecuteOptions {
  /** The caller's signal: when it aborts, the execution rejects at once with its reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Data for the thunk and stages, available as `ctx.data`: a `Map`, or any object (a plain
   * object, an interface-typed request, a class instance), whose own enumerable string keys
   * become the entries. Not a function: the call rejects one with a `TypeError` (a type that
   * refused functions would refuse an object with a `call` method too).
   */
  readonly data?: Map<string, unknown> | object | undefined;
}

/**
 * Options of {@link Policy.wrap} (and of `usePolicy`) for a function of parameters `A` called
 * with `this` of type `This` (`any` where it is not known yet, as for a decorator).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `This`: unknown until a method is decorated
export interface WrapOptions<A extends unknown[], This = any> {
  /**
   * Picks the caller's signal from each call's arguments (`(req) => req.signal`), called with the
   * call's `this` (so a method may return `this.signal`), passed on as `execute`'s `signal`: a
   * call whose caller aborted rejects at once with its reason, is never retried and records
   * nothing in a circuit breaker. `undefined`: no signal for that call. It answers at once: an
   * async function is refused, and a promise fails the call with a `TypeError` naming `signal`.
   */
  readonly signal?: ((this: This, ...args: A) => AbortSignal | undefined) | undefined;
}

/** @internal Everything `build()` hands to the policy. */
export interface PolicyParts {
  readonly name: string;
  readonly clock: Clock;
  readonly steps: readonly Step[];
  readonly hub: EventHub;
  readonly counters: Counters;
  /** What the stages were built with (the fused executor's too). */
  readonly env: StageEnv;
}

/**
 * @internal Calls `drained` once every call `policy` has started has settled: at once when none
 * is in flight, else as the last one settles. A hook on the policy's outcome, not a listener:
 * the calls still in flight read no clock and emit no event for it.
 */
export function whenDrained(policy: Policy<unknown, unknown>, drained: () => void): void {
  // The private method, reached as TypeScript allows from outside its class.
  policy['whenDrained'](drained);
}

/**
 * An immutable pipeline of stages, built by {@link Policy.builder}. The first stage declared is
 * the outermost.
 *
 * The stages are compiled once at build time. An execution allocates one context and the promise
 * it returns, and walks the stages synchronously in and out; it waits only where a rule makes it
 * wait (the thunk itself, a queue, a retry delay).
 *
 * @typeParam T - result type the policy's thunks must produce
 * @typeParam F - result type its stages may answer with instead of the work's: its fallbacks'
 *   substitutes and its chaos stages' injected results
 * @example
 * ```ts
 * const policy = Policy.builder<Price>('pricing')
 *   .fallback({ method: (error, ctx) => cachedPrice(ctx.data.get('id') as string) })
 *   .rateLimiter({ maxTokens: 100, refillRate: 50 })
 *   .bulkhead({ maxConcurrent: 10 })
 *   .retry({ maxAttempts: 3, delay: '200ms', backoff: 2, jitter: 0.2 })
 *   .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
 *   .timeout('3s')
 *   .build();
 * const price = await policy.execute((ctx) => fetchPrice(id, { signal: ctx.signal }), {
 *   signal: request.signal,
 *   data: { id },
 * });
 * ```
 */
export class Policy<T = unknown, F = never> {
  /** The policy's name (default `'policy'`). */
  readonly name: string;
  /** The stages, outermost first. */
  readonly stages: readonly StageInfo[];
  private readonly parts: PolicyParts;
  private readonly headStep: Inward;
  private readonly outcomeStep: Outward & {
    settle: (root: RootContext, ok: boolean, value: unknown) => void;
  };
  private readonly breakerSubscriptions: Array<() => void> = [];
  /** Each stage's state as `metrics()` last read it (see there). */
  private readonly lastStates: Array<StageState | undefined> = [];
  /** True when something besides the thunk can settle an execution (see `execute`). */
  private readonly eager: boolean;
  /** True when a stage reads `ctx.startedAt` or hands the context on (see `execute`). */
  private readonly clockAtStart: boolean;
  /**
   * Since when (policy clock) someone has listened for `success` or `failure`; NaN while nobody
   * does. A call whose start was never read is timed from here (`partial`).
   */
  private readonly watching = { since: NaN };
  /**
   * The fused executor, for a policy of built-in stages over in-memory stores that it can run
   * (see `fused.ts`): an execution without a caller's signal runs through it instead of the
   * steps.
   */
  private readonly fused: Fused | undefined;
  /** What the fused executor tells this policy (a drain watch, see `whenDrained`). */
  private readonly fusedHost: FusedHost = { watching: this.watching, afterSettle: undefined };

  /**
   * Starts a builder. `T` is the result type the policy's thunks produce; `F`, what its stages
   * may answer with instead, grows with each `fallback(...)`, and each `chaos(...)` injecting a
   * `result`, of a chain (and their stages added with `use`). A builder changed in place (a
   * fallback added under a condition) declares `F` at the start: `Policy.builder<Price, null>()`.
   *
   * @param name - the policy's name in events, metrics and a registry (default `'policy'`)
   * @throws TypeError when `name` is given and is not a non-empty string
   */
  static builder<T = unknown, F = never>(name?: string): PolicyBuilder<T, F> {
    return new PolicyBuilder<T, F>(name);
  }

  /** @internal Use {@link Policy.builder}. */
  constructor(parts: PolicyParts) {
    this.parts = parts;
    this.name = parts.name;
    this.stages = Object.freeze(
      parts.steps.map((s) => Object.freeze({ kind: s.kind, name: s.name })),
    );
    const settle = (root: Context, ok: boolean, value: unknown): void =>
      this.settleRoot(root as RootContext, ok, value);
    this.outcomeStep = { leave: settle, settle };
    this.headStep = link(parts.steps, this.outcomeStep, parts.hub, parts.clock, parts.name);
    this.eager = parts.steps.some((s) => s.settlesEarly);
    this.clockAtStart = parts.steps.some((s) => s.needsClock === true);
    this.fused = fuse(
      parts.steps.map((s) => s.fusable?.()),
      parts.env,
      this.fusedHost,
    );
    const watched = this.watching;
    parts.hub.onCountChange = (event, count) => {
      if (event === 'circuit-state') this.watchBreakers(count > 0);
      // When listening for durations began (NaN once it stops).
      else if (!parts.hub.watchesCalls) watched.since = NaN;
      else if (watched.since !== watched.since) watched.since = parts.clock.now();
    };
    inspectable(this);
    inspectableContexts();
    Object.freeze(this);
  }

  /**
   * Runs `fn` through the pipeline. Never throws: a `fn` that is not a function or bad
   * `options` reject the promise with a `TypeError` (counted as a call and a failure), and so
   * does a call without the policy (`const run = policy.execute; run(fn)`), counted nowhere.
   * @param fn - the work; receives the {@link ExecutionContext} (pass `ctx.signal` on)
   * @returns the thunk's value, or a fallback's, or an injected result: what the thunk resolves
   *   to (`Promise<string> | number` resolves to `string | number`), or the policy's `T` where
   *   that is `any` (`response.json()`)
   */
  // The thunk's whole type (`Fn`), constrained by `Thunk<T>`: its result keeps every member of a
  // union (`Promise<string> | number`), where a result type inferred from `T | PromiseLike<T>`
  // keeps one; and a thunk whose result takes its type from context (`() => new Promise((resolve)
  // => ...)` on a `builder<number>()`) is typed by the policy's `T`. `R`: a result type given as
  // a type argument (`execute<Price>(fn)`), `T` otherwise. One signature, so that a union of
  // policies (`Policy<string, null> | Policy<string>`) can be called.
  execute<R extends T = T, Fn extends Thunk<R> = Thunk<R>>(
    fn: Fn,
    options?: ExecuteOptions,
  ): Promise<Resolved<ReturnType<Fn>, R> | F> {
    // Called without its policy (`.then(policy.execute)`): a rejection that says so, counted
    // nowhere (there is no policy to count it).
    if (!(this instanceof Policy)) return rejectedSoon(unboundError('execute', 'Policy', this));
    // The usual call of a fused policy (see `fused.ts`): the work, no options, not by a wrapper.
    const fused = this.fused;
    if (
      fused !== undefined &&
      options === undefined &&
      wrapperEntry === undefined &&
      typeof fn === 'function'
    ) {
      this.parts.counters.calls++;
      const handle = handleEntry;
      if (handle !== undefined) handleEntry = undefined;
      const answer = fused.run(
        fn,
        startOf(this.clockAtStart, this.parts, fn, undefined),
        handle,
        undefined,
      );
      if (answer !== REFUSED) return answer as Promise<Resolved<ReturnType<Fn>, R> | F>;
      // Refused in the caller's turn: its stack starts at the caller's frame, captured from
      // this one (no frame of bulwark's to walk), then the refusal goes out.
      // Stryker disable next-line OptionalChaining: every host the specs run on has captureStackTrace
      V8Error.captureStackTrace?.(fused.refusalError, fused.refusalEntry);
      return fused.refused() as Promise<Resolved<ReturnType<Fn>, R> | F>;
    }
    // Called by a wrapper: a refusal's stack starts at the wrapper's caller (or by a handle: at
    // the handle's caller).
    const wrapper = wrapperEntry;
    if (wrapper !== undefined) wrapperEntry = undefined;
    const handle = handleEntry;
    if (handle !== undefined) handleEntry = undefined;
    const entry = wrapper ?? handle;
    const { counters, clock } = this.parts;
    counters.calls++;
    if (typeof fn !== 'function') {
      return this.refuse(fnError(fn));
    }
    let signal: AbortSignal | undefined;
    let data: Map<string, unknown> | undefined;
    if (options !== undefined) {
      // Never a synchronous throw: bad options reject the promise like any other failure.
      const read = readOptions(options);
      if (read instanceof TypeError) return this.refuse(read);
      signal = read.signal;
      data = read.data;
    }
    if (signal !== undefined && signal.aborted) return this.refuse(signal.reason);
    // The clock is read now only when something can see the start: a thunk that declares the
    // context, a stage that measures time from the start (it borrows this reading) or hands the
    // context to code of the user's, a listener of call durations. Otherwise `startedAt` reads it
    // at first use, and a call nothing observes reads no clock at all.
    const start = startOf(this.clockAtStart, this.parts, fn, wrapper);
    // No caller's signal: the fused executor, when the policy has one.
    if (signal === undefined && fused !== undefined) {
      const answer = fused.run(fn, start, entry, data);
      if (answer !== REFUSED) return answer as Promise<Resolved<ReturnType<Fn>, R> | F>;
      // As above.
      // Stryker disable next-line OptionalChaining: every host the specs run on has captureStackTrace
      V8Error.captureStackTrace?.(fused.refusalError, fused.refusalEntry);
      return fused.refused() as Promise<Resolved<ReturnType<Fn>, R> | F>;
    }
    const root = new RootContext(this.name, start, fn, signal, data, clock);
    if (entry !== undefined) root.entry = entry;
    // Something other than the thunk may settle the execution (a deadline, the caller's abort,
    // a custom stage): its promise must be a deferred from the start. Otherwise the reaction to
    // the thunk's promise can itself be the execution's promise, saving one promise per call.
    const deferred =
      this.eager === true || signal !== undefined ? this.deferFor(root, signal) : undefined;
    root.inFirstTurn = true;
    try {
      this.headStep.enter(root);
    } catch (error) {
      // No step throws (each turns what its primitive or store throws into the call's failure,
      // so the steps outside see it go out); should one ever, the caller still gets a rejection,
      // counted as a failure, never a synchronous throw.
      this.outcomeStep.settle(root, false, error);
    }
    root.inFirstTurn = false;
    return (deferred ?? root.result ?? answerOf(root)) as Promise<Resolved<ReturnType<Fn>, R> | F>;
  }

  // The promise of an execution that something other than its thunk may settle (see `execute`),
  // listening to the caller's signal.
  private deferFor(root: RootContext, signal: AbortSignal | undefined): Promise<unknown> {
    const deferred = root.makeDeferred();
    if (signal !== undefined) {
      root.settler = this.outcomeStep;
      listenAbort(signal, root);
    }
    return deferred;
  }

  /**
   * Wraps a function so that every call runs through this policy. The wrapper keeps the
   * function's parameters and `this` (and type parameters: a generic function's wrapper is
   * generic), and always returns a promise.
   *
   * @param options - `signal` picks the caller's signal from the call's arguments
   * @throws TypeError when `fn` is not a function or `options` are invalid, or when called
   *   without its policy (`const wrap = policy.wrap; wrap(fn)`)
   * @example
   * ```ts
   * const getPrice = policy.wrap((req: Request, id: string) => fetchPrice(id, req.signal), {
   *   signal: (req) => req.signal,
   * });
   * ```
   */
  // First, a function resolving to `any` (`response.json()`): its wrapper resolves to `T` (`any`
  // stays `any` on an untyped policy). Its own signature, not a conditional type on `R`: one on
  // `Promise<U>` in generic code would stay unresolved, and assignable to no `U`.
  // Then two plain signatures, so that a generic function's type parameters carry over to its
  // wrapper: one for a function that declares no `this`, one for a function that declares it.
  wrap<A extends unknown[], R extends AnyOnly | PromiseLike<AnyOnly>>(
    fn: (this: void, ...args: A) => R,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<(unknown extends T ? Awaited<R> : T) | F>;
  wrap<A extends unknown[], R extends T | PromiseLike<T>>(
    fn: (this: void, ...args: A) => R,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<Awaited<R> | F>;
  wrap<This, A extends unknown[], R extends T | PromiseLike<T>>(
    fn: (this: This, ...args: A) => R,
    options?: WrapOptions<A, This>,
  ): (this: This, ...args: A) => Promise<Awaited<R> | F>;
  wrap<A extends unknown[], R extends T | PromiseLike<T>>(
    fn: (...args: A) => R,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<Awaited<R> | F> {
    if (!(this instanceof Policy)) throw unboundError('wrap', 'Policy', this);
    if (typeof fn !== 'function') {
      throw fnError(fn);
    }
    // The wrapper `usePolicy` makes, so that it stacks with the other wrappers as they do.
    return wrapWith(
      fn as (...args: unknown[]) => unknown,
      fn.name,
      policyExecutor(this, options, 'policy.wrap'),
      // `execute` takes the function's answer as it is.
      true,
    ) as (...args: A) => Promise<Awaited<R> | F>;
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes. A listener that throws, or
   * returns a promise that rejects (it may be `async`), never breaks a call, and events nobody
   * listens to cost nothing.
   */
  on<E extends PolicyEvent>(event: E, listener: PolicyListener<E>): () => void {
    if (!EventHub.isEvent(event)) {
      throw new TypeError(`\`event\` must be one of ${EVENTS.join(', ')}, got ${show(event)}`);
    }
    return this.parts.hub.on(event, listener);
  }

  /**
   * Counters since the policy was built and each stage's live state. A stage whose state cannot
   * be read now (a custom store that throws, as a bulkhead's `inUse` may while its connection is
   * down) is reported as last read, or, never read yet, by its `kind` and `name` alone: this
   * never throws, and reports no `undefined` or `NaN` for it.
   */
  metrics(): PolicyMetrics {
    const c = this.parts.counters;
    const last = this.lastStates;
    return {
      calls: c.calls,
      successes: c.successes,
      failures: c.failures,
      rejections: { rateLimit: c.rateLimit, bulkhead: c.bulkhead, circuitOpen: c.circuitOpen },
      retries: c.retries,
      timeouts: c.timeouts,
      fallbacks: c.fallbacks,
      stages: this.parts.steps.map((s, i) => {
        try {
          const state = s.state() as StageState;
          last[i] = { ...state };
          return state;
        } catch {
          // Copies: the state kept serves later snapshots, whatever a caller does to the ones it got.
          const known = last[i];
          return known === undefined ? { kind: s.kind, name: s.name } : { ...known };
        }
      }),
    };
  }

  /** One line per stage, outermost first. */
  describe(): string {
    return (
      this.parts.steps
        .map((s, i) => {
          const detail = s.describe();
          return `${i + 1}. ${s.name === s.kind ? s.kind : `${s.kind} "${s.name}"`}${detail ? `: ${detail}` : ''}`;
        })
        .join('\n') || '(no stages)'
    );
  }

  /**
   * The policy's settings as plain JSON data: its `name` and `stages` (`{ kind, name }` of each,
   * outermost first), so that `JSON.stringify(policy)`, or a JSON logger given `{ policy }`,
   * writes `{"name":"pricing","stages":[{"kind":"retry","name":"retry"}, ...]}`. Node's
   * `console.log` and `util.inspect` show the same, as `Policy { name, stages }`. Live state is in {@link Policy.metrics}, each
   * stage's settings in words in {@link Policy.describe}.
   */
  toJSON(): { name: string; stages: readonly StageInfo[] } {
    return { name: this.name, stages: this.stages };
  }

  /** Ends an execution before it starts: counted as a failure, with its `failure` event. */
  private refuse(error: unknown): Promise<never> {
    const { counters, hub } = this.parts;
    counters.failures++;
    // Every execution counted ends with a `success` or `failure` event.
    if (hub.watchesCalls) hub.emit('failure', { policy: this.name, error, durationMs: 0 });
    return rejectedSoon(error);
  }

  /** The execution is over (or its caller gave up): settle the promise `execute` returned. */
  private settleRoot(root: RootContext, ok: boolean, value: unknown): void {
    if (root.settled) return;
    root.settled = true;
    // Failed while its work is still awaited (the caller gave up, a custom stage answered): the
    // policy waits no more, and their attempts end now.
    if (!ok && root.timedCalls !== undefined) endTimedCalls(root, value);
    // A deadline on the root still running keeps listening: the caller's abort ends it (and
    // aborts its signal); the root stops listening when it ends.
    if (root.deadlineOwner === undefined || root.deadlineDone === true) {
      if (root.callerSignal !== undefined) unlistenAbort(root.callerSignal, root);
    }
    const { counters, hub, clock } = this.parts;
    if (ok) counters.successes++;
    else counters.failures++;
    if (hub.watchesCalls) this.emitEnd(root, ok, value, hub, clock);
    if (root.deferred === true) {
      if (ok) root.resolve(value);
      // Decided before the caller has its promise: rejected once it has attached its handler.
      else if (root.inFirstTurn) rejectSoon(root.reject, value);
      else root.reject(value);
    } else {
      root.ok = ok;
      root.value = value;
    }
  }

  // The `success` or `failure` event of an execution that ended (out of `settleRoot`, which the
  // optimising compiler then inlines into the call path).
  private emitEnd(
    root: RootContext,
    ok: boolean,
    value: unknown,
    hub: EventHub,
    clock: Clock,
  ): void {
    const since = this.watching.since;
    reportEnd(hub, this.name, clock.now(), root.start, since, root.recovered, ok, value);
  }

  /** @internal See {@link whenDrained}. */
  private whenDrained(drained: () => void): void {
    const c = this.parts.counters;
    const idle = (): boolean => c.calls === c.successes + c.failures;
    if (idle()) {
      drained();
      return;
    }
    // Every way an execution settles goes through the outcome's `leave` or `settle` (one
    // function, looked up at each call): both go through one `watch` until the last call
    // settles, whatever the number of hooks waiting for it. A later hook joins the watch in place.
    const outcome = this.outcomeStep;
    const installed = (outcome.settle as Partial<DrainWatch>).drained;
    if (installed !== undefined) {
      installed.push(drained);
      return;
    }
    const settle = outcome.settle;
    const hooks = [drained];
    const host = this.fusedHost;
    // After each call settled (through the steps or the fused executor).
    const check = (): void => {
      if (!idle()) return;
      outcome.leave = outcome.settle = settle;
      host.afterSettle = undefined;
      // A hook that starts a call and waits for a drain again installs a watch of its own.
      for (const hook of hooks) hook();
    };
    const watch = (root: RootContext, ok: boolean, value: unknown): void => {
      settle(root, ok, value);
      check();
    };
    outcome.leave = outcome.settle = Object.assign(watch, { drained: hooks });
    host.afterSettle = check;
  }

  private watchBreakers(on: boolean): void {
    if (on && this.breakerSubscriptions.length === 0) {
      const { hub } = this.parts;
      for (const step of this.parts.steps) {
        if (step.watchState === undefined) continue;
        this.breakerSubscriptions.push(
          // A keyed stage's changes also name their key.
          step.watchState((change) => {
            const { from, to } = change;
            const key = (change as { readonly key?: string }).key;
            const stage = step.kind;
            hub.emit(
              'circuit-state',
              key === undefined
                ? { policy: this.name, stage, from, to }
                : { policy: this.name, stage, from, to, key },
            );
          }),
        );
      }
    } else if (!on) {
      for (const unsubscribe of this.breakerSubscriptions.splice(0)) unsubscribe();
    }
  }
}

// The entry point of a refusal's stack (see `refusalFrom`): `execute` itself, or the wrapper that
// called it, which sets this just before its call and `execute` reads and clears at once.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a wrapper is any function
let wrapperEntry: Function | undefined;

// The same for a registry's handle, whose caller's thunk is its own (so it may take the context,
// where a wrapper's never does): see `executeThrough`.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a stack frame marker
let handleEntry: Function | undefined;

/**
 * @internal `policy.execute(fn, options)` for a handle standing for `policy` (a registry's),
 * whose method `entry` the caller called: a refusal's stack starts at that caller, unless a
 * wrapper called the handle (its caller's frame is the start then).
 */
export function executeThrough<R>(
  policy: Policy<unknown, unknown>,
  fn: Thunk<R>,
  options: ExecuteOptions | undefined,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a stack frame marker
  entry: Function,
): Promise<unknown> {
  if (wrapperEntry === undefined) handleEntry = entry;
  return policy.execute(fn, options);
}

/**
 * @internal Runs each call of a wrapper through `policy.execute` (`policy.wrap`, `usePolicy`,
 * named `what`), its `options` read at once (see {@link signalPicker}). The call's signal is the
 * one the `signal` picker returns (called with the call's `this` and arguments), or the one a
 * wrapper outside hands down (a time limiter's deadline), or, when there are both, one that
 * aborts with either, listening to them only until the call settles. A promise the picker answers
 * with fails the call with a TypeError naming `signal` (its rejection handled), where `execute`
 * would refuse it without looking at its outcome.
 */
export function policyExecutor(
  policy: Policy<unknown, unknown>,
  options: unknown,
  what: string,
): Executor {
  const pick = signalPicker(options, what);
  const prefix = `${what}: `;
  return (call, _fnName, args, work, outer, self, entry) => {
    const picked =
      (pick && syncAnswer(pick.apply(self, args), 'signal', 'an AbortSignal', prefix)) ?? outer;
    const thunk =
      work === undefined
        ? call
        : (ctx: { readonly signal: AbortSignal }): Promise<unknown> => {
            // The wrappers beneath see the policy's signal, as its stages do.
            work.signal = ctx.signal;
            return call();
          };
    if (picked === outer || outer === undefined || !isSignal(picked) || picked.aborted) {
      return run(policy, thunk, picked, entry);
    }
    if (outer.aborted) return run(policy, thunk, outer, entry);
    const either = new AbortController();
    const release = linkAbort(either, [picked, outer]);
    const answer = run(policy, thunk, either.signal, entry);
    answer.then(release, release);
    return answer;
  };
}

/** Runs a wrapper's call through `policy.execute`, its refusal's stack starting at `entry`. */
function run(
  policy: Policy<unknown, unknown>,
  thunk: Thunk<unknown>,
  signal: unknown,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a wrapper is any function
  entry: Function,
): Promise<unknown> {
  wrapperEntry = entry;
  return policy.execute(thunk, signal == null ? undefined : ({ signal } as ExecuteOptions));
}

/** The outcome's `settle` while hooks wait for the last call in flight to settle. */
interface DrainWatch {
  readonly drained: Array<() => void>;
}

interface ReadOptions {
  readonly signal: AbortSignal | undefined;
  readonly data: Map<string, unknown> | undefined;
}

/**
 * The clock time of an execution's start when something can see it (see `execute`), else NaN:
 * `atStart` when a stage reads it or hands the context on. (A wrapper's thunk takes no context:
 * it calls the wrapped function with the caller's arguments. Flags compared with `true`: see
 * `Invoker.enter`.)
 */
function startOf(
  atStart: boolean,
  parts: PolicyParts,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function
  fn: Function,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the entry
  wrapper: Function | undefined,
): number {
  return atStart === true || parts.hub.watchesCalls || (wrapper === undefined && declares(fn, 0))
    ? parts.clock.now()
    : NaN;
}

/**
 * The promise of an execution with no deferred and no reaction to its thunk's promise: settled
 * already in the caller's turn, or not yet.
 */
function answerOf(root: RootContext): Promise<unknown> {
  if (root.settled) return root.ok ? Promise.resolve(root.value) : rejectedSoon(root.value);
  return root.makeDeferred();
}

/** The keys `execute`'s options may have. */
const EXECUTE_OPTIONS: readonly string[] = ['signal', 'data'];

/**
 * `execute`'s options, checked and read once (a getter runs once): the signal and the data map,
 * or the option error that rejects the execution, worded as a wrapper's
 * (``execute: `options.signal` must be an AbortSignal, got "soon"``), naming `options`,
 * `options.signal`, `options.data`, or `options.<key>` for an unknown key when neither option
 * is set. Neither set, an AbortSignal given as the options (as a primitive takes it,
 * `execute(fn, signal)`) is refused with the fix in its message.
 */
function readOptions(options: unknown): ReadOptions | TypeError {
  try {
    if (typeof options !== 'object' || options === null) {
      return optionError('execute', 'options', 'an object', options);
    }
    const { signal, data } = options as { signal?: unknown; data?: unknown };
    // A misspelt key (`singal`) leaves both options unset, and would go unnoticed: the caller's
    // abort ignored. The keys are read only then, so a call that sets an option pays nothing.
    if (signal === undefined && data === undefined) {
      const stray =
        strayOptions(options, 'execute', '{ signal }') ??
        unknownOption(options, 'execute', EXECUTE_OPTIONS, 'options.');
      if (stray) return stray;
    }
    if (signal !== undefined && !isSignal(signal)) {
      return optionError('execute', 'options.signal', 'an AbortSignal', signal);
    }
    if (data !== undefined && (typeof data !== 'object' || data === null)) {
      return optionError('execute', 'options.data', 'an object or a Map', data);
    }
    return { signal, data: toDataMap(data as Record<string, unknown> | undefined) };
  } catch (error) {
    // A hostile object (a revoked Proxy, say) that throws wherever it is touched.
    return optionError(
      'execute',
      'options',
      'an object that can be read',
      options,
      `\`options\` could not be read: ${describeError(error, show)}`,
      { cause: error },
    );
  }
}
