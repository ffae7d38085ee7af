import { noop } from '../internal/signals.js';
import { Context, DerivedContext } from '../internal/context.js';
import { whenSettled } from '../internal/signals.js';
import type { ExecutionContext } from './ExecutionContext.js';
import type { Stage } from './Stage.js';
import { LinkedStep } from './step.js';

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

  constructor(stage: Stage) {
    super(stage.kind, typeof stage.name === 'string' && stage.name !== '' ? stage.name : undefined);
    this.stage = stage;
  }

  enter(ctx: Context): void {
    const next = (given: ExecutionContext): Promise<unknown> => {
      const inner = given instanceof Context ? given : new AdoptedContext(given, ctx, this);
      const boundary = new BoundaryContext(inner, this);
      const result = new Promise<unknown>((resolve, reject) => {
        boundary.resolve = resolve;
        boundary.reject = reject;
      });
      this.inner.enter(boundary);
      return result;
    };
    let returned: unknown;
    try {
      returned = this.stage.execute(ctx, next);
    } catch (error) {
      this.outer.leave(ctx, false, error);
      return;
    }
    whenSettled(returned, (ok, value) => this.outer.leave(ctx, ok, value));
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    const boundary = ctx as BoundaryContext;
    if (ok) boundary.resolve(value);
    else boundary.reject(value);
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
 * read from that context, as if the stage had passed it unchanged.
 */
class AdoptedContext extends DerivedContext {
  private readonly given: Partial<ExecutionContext>;

  constructor(given: ExecutionContext, origin: Context, owner: object) {
    super(origin, owner);
    this.given = given;
  }
  override get policyName(): string {
    return this.given.policyName ?? super.policyName;
  }
  override get signal(): AbortSignal {
    return this.given.signal ?? super.signal;
  }
  override get attempt(): number {
    return this.given.attempt ?? super.attempt;
  }
  override get startedAt(): number {
    return this.given.startedAt ?? super.startedAt;
  }
  override get data(): Map<string, unknown> {
    return this.given.data ?? super.data;
  }
  override get dataIfMade(): Map<string, unknown> | undefined {
    return this.given.data ?? super.dataIfMade;
  }
  override get deadline(): number {
    return this.given.deadline ?? super.deadline;
  }
  override get remaining(): number {
    return this.given.remaining ?? super.remaining;
  }
  override get aborted(): boolean {
    const signal = this.given.signal;
    return signal == null ? super.aborted : signal.aborted;
  }
  override get abortReason(): unknown {
    const signal = this.given.signal;
    return signal == null ? super.abortReason : (signal.reason as unknown);
  }
}
