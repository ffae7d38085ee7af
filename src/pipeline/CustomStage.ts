import {
  Context,
  DerivedContext,
  deferTo,
  endTimedCalls,
  type RootContext,
} from '../internal/context.js';
import { noop, whenSettled } from '../internal/signals.js';
import { isResilienceError, type OperationTimeoutError } from '../errors.js';
import type { StageEnv } from './env.js';
import type { ExecutionContext } from './ExecutionContext.js';
import type { Stage } from './Stage.js';
import { LinkedStep, reportRefusal, reportTimeout } from './step.js';

/**
 * bulwark's errors that came out of a custom stage's `next` (from a stage inside it or from the
 * work), with the execution they came out in: reported where they were raised (or the work's
 * own), they are not the stage's own when it passes them on. Written on the error path only.
 */
const passedOut = new WeakMap<object, RootContext>();

/**
 * @internal Runs a user's {@link Stage} inside the pipeline. The stage's `next` starts the steps
 * inside it and returns a promise of their outcome; the promise the stage returns continues the
 * way out. `next` may be called any number of times, with any context-shaped object: what the
 * object lacks is read from the context the stage received (see {@link AdoptedContext}).
 */
export class CustomStage extends LinkedStep {
  readonly settlesEarly = true;
  // The stage has the context and may read `startedAt` at any time.
  readonly needsClock = true;
  private readonly stage: Stage;
  private readonly env: StageEnv;

  constructor(stage: Stage, env: StageEnv) {
    super(stage.kind, typeof stage.name === 'string' && stage.name !== '' ? stage.name : undefined);
    this.stage = stage;
    this.env = env;
  }

  enter(ctx: Context): void {
    const next = (given: ExecutionContext): Promise<unknown> => {
      const inner = given === ctx || given == null ? ctx : new AdoptedContext(given, ctx, this);
      const boundary = new BoundaryContext(inner, this);
      const result = deferTo(boundary);
      this.inner.enter(boundary);
      return result;
    };
    let returned: unknown;
    try {
      returned = this.stage.execute(ctx, next);
    } catch (error) {
      this.failed(ctx, error);
      return;
    }
    whenSettled(returned, (ok, value) => {
      if (ok) this.outer.leave(ctx, true, value);
      else this.failed(ctx, value);
    });
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const boundary = ctx as BoundaryContext;
    if (ok) boundary.resolve(value);
    else {
      // Only bulwark's errors (objects: a WeakMap takes no primitive) are looked up.
      if (isResilienceError(value)) passedOut.set(value, ctx.root);
      boundary.reject(value);
    }
  }

  /**
   * The stage failed the call. A refusal or a timeout it raised itself (not one that came out of
   * its `next`, which was reported where it was raised or is the work's own, and none once its
   * context aborted: the call was answered from outside first) counts and is reported as a
   * built-in stage's would be, under its kind.
   */
  private failed(ctx: Context, error: unknown): void {
    // Nothing once its context aborted: a deadline outside or the caller answered the call first.
    if (!ctx.aborted && isResilienceError(error) && passedOut.get(error) !== ctx.root) {
      try {
        this.report(error.code, error);
      } catch {
        // A branded error whose fields cannot be read (a hostile Proxy) is not reported.
      }
    }
    // Work still running under it is awaited no more: its attempts end now.
    if (ctx.root.timedCalls !== undefined) endTimedCalls(ctx, error);
    this.outer.leave(ctx, false, error);
  }

  private report(code: string, error: unknown): void {
    const { env, kind } = this;
    if (code === 'RATE_LIMITED') reportRefusal(env, kind, 'rate-limit', error);
    else if (code === 'BULKHEAD_FULL') reportRefusal(env, kind, 'bulkhead', error);
    else if (code === 'CIRCUIT_OPEN') reportRefusal(env, kind, 'circuit-open', error);
    else if (code === 'TIMEOUT')
      reportTimeout(env, kind, (error as OperationTimeoutError).timeoutMs);
  }

  /** The stage's own description; '' when it has none or its `describe` throws. */
  describe(): string {
    try {
      return this.stage.describe ? String(this.stage.describe()) : '';
    } catch {
      return '';
    }
  }

  /** The stage's own state (none when its `state` throws), with its kind and name. */
  state(): Record<string, unknown> {
    let extra: Record<string, unknown> | undefined;
    try {
      extra = this.stage.state?.();
    } catch {
      // Left out: see above.
    }
    return { ...extra, kind: this.kind, name: this.name };
  }
}

/** Where the steps inside a custom stage hand back their outcome. */
class BoundaryContext extends DerivedContext {
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
}

/**
 * A context a custom stage made itself, read through, with the execution's root kept: its parent
 * is the context the stage received. What the object does not give (undefined or null: a spread
 * `{ ...ctx }` or `Object.assign({}, ctx)` copies own fields only, not the context's getters) is
 * read from that context, as if the stage had passed it unchanged. Any object but the stage's own
 * context is adopted, an object deriving from it (`Object.create(ctx)`, a Proxy) too: such an
 * object lacks the context's private state, so the engine never uses it as a context itself.
 */
class AdoptedContext extends DerivedContext {
  private readonly given: Partial<ExecutionContext>;
  // For an object that inherits from a context (`Object.create(ctx)`, a Proxy of one): the
  // context the stage received, on which the context's getters run, since the object lacks the
  // context's private state; what it holds of its own is read as it is. Undefined for any other
  // object, whose fields are read as they are.
  private readonly receiver: Context | undefined;

  constructor(given: ExecutionContext, origin: Context, owner: object) {
    super(origin, owner);
    this.given = given;
    this.receiver = given instanceof Context ? origin : undefined;
  }
  // A field of the object given.
  private read<K extends keyof ExecutionContext>(key: K): ExecutionContext[K] | undefined {
    const receiver = this.receiver;
    return receiver === undefined ? this.given[key] : Reflect.get(this.given, key, receiver);
  }
  override get policyName(): string {
    return this.read('policyName') ?? super.policyName;
  }
  override get signal(): AbortSignal {
    return this.read('signal') ?? super.signal;
  }
  override get attempt(): number {
    return this.read('attempt') ?? super.attempt;
  }
  override get startedAt(): number {
    return this.read('startedAt') ?? super.startedAt;
  }
  override get data(): Map<string, unknown> {
    return this.read('data') ?? super.data;
  }
  override get dataIfMade(): Map<string, unknown> | undefined {
    return this.read('data') ?? super.dataIfMade;
  }
  override get deadline(): number {
    return this.read('deadline') ?? super.deadline;
  }
  override get remaining(): number {
    return this.read('remaining') ?? super.remaining;
  }
  override get aborted(): boolean {
    const signal = this.read('signal');
    return signal == null ? super.aborted : signal.aborted;
  }
  override get abortReason(): unknown {
    const signal = this.read('signal');
    return signal == null ? super.abortReason : (signal.reason as unknown);
  }
}
