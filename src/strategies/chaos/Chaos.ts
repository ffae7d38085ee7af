import type { Clock } from '../../internal/clock.js';
import type { SignalWork } from '../../internal/resolved.js';
import { fail, show, type Duration } from '../../internal/duration.js';
import { brandedInstance, carriesBrand } from '../../errors.js';
import { OptionTypeError } from '../../optionErrors.js';
import { NEVER_ABORTED, callAsync, raceAbort, sleep, refusedCall } from '../../internal/signals.js';
import { setLive, setReadonly } from '../../internal/readonly.js';
import {
  checkOption,
  clockOption,
  numberOption,
  optionsObject,
  positiveDuration,
  predicateOption,
  syncAnswer,
  syncFunctionOption,
  unboundError,
} from '../../internal/validate.js';

/** What {@link ChaosOptions.enabled} receives when it is a function: the call's context. */
export interface ChaosCall {
  /** The attempt number (1-based), from the innermost stage that numbers attempts. */
  readonly attempt: number;
  /** Data passed to `execute({ data })`. */
  readonly data: Map<string, unknown>;
  /** Name of the policy running the call ('' when the chaos runs standalone). */
  readonly policyName: string;
}

/** Injected failures: {@link ChaosOptions.fault}. */
export interface ChaosFault {
  /** Fraction of calls that fail, in [0, 1]. */
  readonly rate: number;
  /**
   * What they fail with: an `Error` (thrown as it is, the same object each time), a string (the
   * message of a new {@link InjectedFaultError}), or a function of the call returning what to
   * throw, called per injection (not an `async` one: what it returns is thrown as it is; a
   * promise it returns fails the call with a `TypeError` naming `fault.error`). Any other value
   * is refused at construction.
   * @defaultValue a new {@link InjectedFaultError} per injection
   */
  readonly error?: Error | string | ((call: ChaosCall) => unknown);
}

/** Injected latency: {@link ChaosOptions.latency}. */
export interface ChaosLatency {
  /** Fraction of calls delayed, in [0, 1]. */
  readonly rate: number;
  /** How long they wait before going on: a finite duration > 0. */
  readonly delay: Duration;
}

/**
 * What a chaos injecting results of type `R` adds to the results of a call: `R`, or nothing when
 * `R` is `any` (options typed `ChaosOptions` without a type argument state no type, and must not
 * turn the work's type into `any`).
 */
export type InjectedResult<R> = 0 extends 1 & R ? never : R;

/** Injected results: {@link ChaosOptions.result}. */
export interface ChaosResult<R = unknown> {
  /** Fraction of calls answered with `value` instead of running, in [0, 1]. */
  readonly rate: number;
  /** The value they return. */
  readonly value: R;
}

/**
 * Options of a {@link Chaos}: what to inject, how often, and when.
 *
 * @typeParam R - the type of an injected result
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ChaosOptions<R = any> {
  /** Fail a fraction of calls without running them. */
  readonly fault?: ChaosFault | undefined;
  /** Delay a fraction of calls before they run (the wait honours the call's signal). */
  readonly latency?: ChaosLatency | undefined;
  /** Answer a fraction of calls with a value without running them. */
  readonly result?: ChaosResult<R> | undefined;
  /**
   * Whether anything is injected: a boolean, or a function of the call deciding per call
   * (read before any draw; a disabled call costs this one check), answering at once: only `true`
   * switches a call on, and a promise fails the call with a `TypeError` naming `enabled`.
   * @defaultValue true
   */
  readonly enabled?: boolean | ((call: ChaosCall) => boolean) | undefined;
  /**
   * Seed of the generator that decides which calls are hit: an integer in [0, 2^32). With a seed,
   * the same sequence of calls gets the same injections on every run.
   * @defaultValue none (`Math.random`)
   */
  readonly seed?: number | undefined;
  /** Source of time for injected latency. @defaultValue {@link systemClock} */
  readonly clock?: Clock | undefined;
}

/** @internal Every option key the constructor accepts. */
export const CHAOS_OPTIONS: readonly string[] = Object.freeze([
  'fault',
  'latency',
  'result',
  'enabled',
  'seed',
  'clock',
]);

// The brand of an InjectedFaultError, in the global symbol registry (as the brands of bulwark's
// other errors), so that another copy of the package knows it.
const FAULT_BRAND: unique symbol = Symbol.for('bulwark.InjectedFaultError') as never;
let faultBranded = false;

/**
 * The error an injected fault fails with unless `fault.error` says otherwise.
 *
 * It extends `Error`, not `ResilienceError`, on purpose: an injected fault stands for the
 * dependency's own failure, so the stages around the chaos stage must take it as they would take
 * that failure. Predicates that tell bulwark's own refusals from the dependency's errors (a retry's
 * `retryOn: (e) => !isResilienceError(e)`, a breaker's `recordOn`, the `rejected` outcome of the
 * OpenTelemetry adapter) treat it as a failure of the dependency, which is what a chaos test
 * checks. Its `name` is `'InjectedFaultError'` and its `code` `'INJECTED_FAULT'`.
 */
export class InjectedFaultError extends Error {
  override readonly name = 'InjectedFaultError' as const;
  readonly code = 'INJECTED_FAULT' as const;
  /** @internal */
  declare readonly [FAULT_BRAND]: true;

  constructor(message = 'Fault injected by a chaos stage') {
    super(message);
    // On the prototype, once, as ResilienceError's brand.
    if (!faultBranded) {
      faultBranded = Reflect.defineProperty(InjectedFaultError.prototype, FAULT_BRAND, {
        value: true,
      });
    }
  }

  /**
   * `instanceof InjectedFaultError` also knows one made by another copy of the package (a second
   * version installed beside this one, or a browser bundle that gives `require` and `import` each
   * its own build). A subclass keeps the prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandedInstance(this, value, FAULT_BRAND, 'INJECTED_FAULT');
  }

  /** What `JSON.stringify` writes: `name`, `code`, `message` and any own fields; not the stack. */
  toJSON(): { name: string; code: 'INJECTED_FAULT'; message: string; [field: string]: unknown } {
    return { name: this.name, code: this.code, message: this.message, ...(this as object) };
  }
}

/**
 * True for an {@link InjectedFaultError}, from this or another copy of the package; false, never
 * a throw, for a value whose property reads throw.
 */
export function isInjectedFaultError(e: unknown): e is InjectedFaultError {
  return carriesBrand(e, FAULT_BRAND, 'INJECTED_FAULT');
}

/** @internal What one call gets: nothing, or an injection (latency first, then one outcome). */
export interface ChaosPlan {
  /** Milliseconds to wait before going on; 0 for none. */
  readonly delayMs: number;
  /** 'fault' or 'result' to answer without running the work; undefined to run it. */
  readonly outcome: 'fault' | 'result' | undefined;
}

const NOTHING: ChaosPlan = Object.freeze({ delayMs: 0, outcome: undefined });

/**
 * Injects faults for resilience testing: fails calls, delays them, or answers them with a value,
 * each at its own rate. Put it innermost in a policy (where the dependency would fail) to check
 * that the stages around it meet their guarantees, in a test or a staging environment.
 *
 * For each call it injects, independently, latency (the call waits, then goes on), and one
 * outcome: a fault (the call fails, the work is not called) or, when no fault hit, a result (the
 * call returns the value, the work is not called). With a `seed` the sequence of injections is
 * the same on every run. `enabled` switches it off (a disabled call costs one check), for all
 * calls or per call.
 *
 * @example
 * ```ts
 * const chaos = new Chaos({ fault: { rate: 0.3 }, latency: { rate: 0.1, delay: '1s' }, seed: 42 });
 * const price = await chaos.execute(() => fetchPrice(id)); // a Price
 * ```
 *
 * @typeParam R - the type of an injected result (inferred from `result.value`): `execute`
 *   answers with the work's type or this one. `never` without `result`, so that `execute` answers
 *   with the work's type alone.
 */
// `out`: a chaos injecting `R`s injects results of every wider type (`Chaos<never>` fits all work).
export class Chaos<out R = never> {
  readonly #clock: Clock;
  readonly #switchedOn: boolean;
  readonly #perCall: ((call: ChaosCall) => boolean) | undefined;
  /** Calls failed by an injected fault so far (counted after any latency, when injected). */
  declare readonly faults: number;
  /** Calls delayed by injected latency so far. */
  declare readonly delays: number;
  /** Calls answered with an injected result so far. */
  declare readonly results: number;
  readonly #error: unknown;
  readonly #value: R | undefined;
  readonly #random: () => number;
  #faults = 0;
  #delays = 0;
  #results = 0;
  // The live counters' getters: one function each for every instance (see `setLive`).
  static #faultsNow(this: Chaos<unknown>): number {
    return this.#faults;
  }
  static #delaysNow(this: Chaos<unknown>): number {
    return this.#delays;
  }
  static #resultsNow(this: Chaos<unknown>): number {
    return this.#results;
  }

  /** Fraction of calls failed (0 without `fault`). */
  declare readonly faultRate: number;
  /** Fraction of calls delayed (0 without `latency`). */
  declare readonly latencyRate: number;
  /** The injected latency, in ms (0 without `latency`). */
  declare readonly latencyMs: number;
  /** Fraction of calls answered with a value (0 without `result`). */
  declare readonly resultRate: number;
  /** The seed, if one was given. */
  declare readonly seed: number | undefined;
  /** @internal */
  get clock(): Clock {
    return this.#clock;
  }

  /** @internal False when injections are off for every call; true when on or decided per call. */
  get switchedOn(): boolean {
    return this.#switchedOn;
  }

  /** @internal The per-call switch, when `enabled` is a function. */
  get perCall(): ((call: ChaosCall) => boolean) | undefined {
    return this.#perCall;
  }

  constructor(options?: ChaosOptions<R>) {
    const o = optionsObject(options, 'Chaos', CHAOS_OPTIONS);
    const fault = part(o.fault, 'fault', ['rate', 'error']);
    const latency = part(o.latency, 'latency', ['rate', 'delay']);
    const result = part(o.result, 'result', ['rate', 'value']);
    const faultRate = rate(fault, 'fault');
    this.#error = fault === undefined || !('error' in fault) ? undefined : faultError(fault.error);
    const latencyRate = rate(latency, 'latency');
    const latencyMs =
      latency === undefined
        ? 0
        : positiveDuration(latency.delay ?? missing('latency.delay'), 'latency.delay', 0);
    const resultRate = rate(result, 'result');
    if (result !== undefined && !('value' in result)) missing('result.value');
    this.#value = result?.value as R | undefined;
    const enabled = o.enabled;
    if (enabled !== undefined && typeof enabled !== 'boolean' && typeof enabled !== 'function') {
      fail(TypeError, 'enabled', 'a boolean or a function', enabled);
    }
    this.#perCall =
      typeof enabled === 'function'
        ? predicateOption<(call: ChaosCall) => boolean>(enabled, 'enabled')
        : undefined;
    this.#switchedOn = enabled !== false;
    const seed = checkOption<number | undefined>(
      o.seed,
      'seed',
      (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff,
      'an integer in [0, 2^32)',
      undefined,
      true,
    );
    this.#random = seed === undefined ? mathRandom : seeded(seed);
    this.#clock = clockOption(o.clock);
    setReadonly<Chaos<R>>(this, { faultRate, latencyRate, latencyMs, resultRate, seed });
    setLive<Chaos<R>>(this, {
      faults: Chaos.#faultsNow,
      delays: Chaos.#delaysNow,
      results: Chaos.#resultsNow,
    });
  }

  /**
   * Runs `fn`, unless this call gets an injected fault or result; injected latency waits first.
   * `fn` receives the caller's signal (or one that never aborts).
   * @param signal - the caller's signal: an already-aborted one rejects without calling `fn`, and
   *   an abort during an injected wait or the work rejects at once with `signal.reason`
   */
  // The work's whole type (see `SignalWork`).
  execute<T = unknown, Fn extends SignalWork<T> = SignalWork<T>>(
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Awaited<ReturnType<Fn>> | InjectedResult<R>>;
  execute<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<T | InjectedResult<R>> {
    if (!(this instanceof Chaos)) return Promise.reject(unboundError('execute', 'Chaos', this));
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Switched off, a call costs this one check.
    if (!this.#switchedOn) return raceAbort(callAsync(fn, signal ?? NEVER_ABORTED), signal);
    return raceAbort(this.#injected(fn, signal), signal);
  }

  async #injected<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
  ): Promise<T | InjectedResult<R>> {
    const call: ChaosCall = { attempt: 1, data: new Map(), policyName: '' };
    const plan = this.enabledFor(call) ? this.planCall() : NOTHING;
    if (plan.delayMs > 0) await sleep(this.#clock, plan.delayMs, signal);
    if (plan.outcome === 'fault') throw this.faultFor(call);
    // An `any` result is typed as none (see `InjectedResult`): it stands for the work's.
    if (plan.outcome === 'result') return this.resultPlan() as InjectedResult<R>;
    return fn(signal ?? NEVER_ABORTED);
  }

  /**
   * @internal Whether this call may get injections (the per-call switch, if any). Asked only
   * when switched on.
   */
  enabledFor(call: ChaosCall): boolean {
    // Only true switches on; a promise (its rejection handled) throws a TypeError naming `enabled`.
    return this.#perCall === undefined || this.#perCall(call) === true;
  }

  /**
   * @internal Decides one call's injections: one draw per configured injection, in the order
   * latency, fault, result, so a seed gives the same plans in the same order.
   */
  planCall(): ChaosPlan {
    const random = this.#random;
    let delayMs = 0;
    let outcome: ChaosPlan['outcome'];
    if (this.latencyRate > 0 && random() < this.latencyRate) {
      delayMs = this.latencyMs;
      this.#delays++;
    }
    const faulted = this.faultRate > 0 && random() < this.faultRate;
    const resulted = this.resultRate > 0 && random() < this.resultRate;
    if (faulted) outcome = 'fault';
    else if (resulted) outcome = 'result';
    // Stryker disable next-line ConditionalExpression: the shared empty plan spares an allocation; a new one reads the same
    return delayMs === 0 && outcome === undefined ? NOTHING : { delayMs, outcome };
  }

  /**
   * @internal What an injected fault throws, counted as injected now (after any latency: a call
   * that ends during it gets none). A `fault.error` function's own throw is thrown, and so is the
   * TypeError for a promise it answered with.
   */
  faultFor(call: ChaosCall): unknown {
    this.#faults++;
    const error = this.#error;
    if (error === undefined) return new InjectedFaultError();
    if (typeof error === 'string') return new InjectedFaultError(error);
    if (typeof error === 'function') {
      // A promise (its rejection handled) throws a TypeError naming `fault.error`.
      return syncAnswer(
        (error as (call: ChaosCall) => unknown)(call),
        'fault.error',
        'what to throw',
      );
    }
    return error;
  }

  /** @internal The injected result, counted as injected now (as {@link Chaos.faultFor}). */
  resultPlan(): R {
    this.#results++;
    return this.#value as R;
  }

  /**
   * @internal Takes the place of `old` (a registry's reload changed its options): its counters
   * so far go on here. A copy, not a link: what `old` still injects (into calls in flight under
   * the old settings) counts on `old` only.
   */
  takeOver(old: Chaos<unknown>): void {
    this.#faults += old.#faults;
    this.#delays += old.#delays;
    this.#results += old.#results;
  }
}

const mathRandom = (): number => Math.random();

/** mulberry32: a small, fast 32-bit generator; plenty for choosing which calls are hit. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `fault`, `latency`, `result`: undefined or an object of the listed keys. */
function part(
  value: unknown,
  option: string,
  keys: readonly string[],
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(TypeError, option, `an object with ${keys.map((k) => `\`${k}\``).join(', ')}`, value);
  }
  const o = value as Record<string, unknown>;
  // Checked by their paths (`fault.rate`), so the error names the option as a caller wrote it.
  const path = (key: string): string => `${option}.${key}`;
  optionsObject(
    Object.fromEntries(Object.keys(o).map((key) => [path(key), o[key]])),
    'Chaos',
    keys.map(path),
  );
  return o;
}

/** The `rate` of a part: a number in [0, 1], required when the part is given. */
function rate(o: Record<string, unknown> | undefined, option: string): number {
  if (o === undefined) return 0;
  const name = `${option}.rate`;
  if (o.rate === undefined) missing(name);
  return numberOption(o.rate, name, (n) => n >= 0 && n <= 1, 'in [0, 1]', 0);
}

/**
 * Reads `fault.error` (given): an Error (of any realm), a string, or a function answering
 * synchronously. Anything else would be thrown as it is, which is never what was meant.
 */
function faultError(value: unknown): unknown {
  if (typeof value == 'string' || isError(value)) return value;
  if (typeof value == 'function') {
    return syncFunctionOption(value, 'fault.error', 'what to throw');
  }
  fail(TypeError, 'fault.error', 'an Error, a string or a function', value);
}

/** An Error, also one made in another realm (a `vm` context, an iframe); false if reads throw. */
function isError(value: unknown): boolean {
  if (value === null || typeof value != 'object') return false;
  try {
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
  } catch {
    return false;
  }
}

function missing(option: string): never {
  throw new OptionTypeError(option, 'a value', undefined, {
    message: `\`${option}\` is required, got ${show(undefined)}`,
  });
}
