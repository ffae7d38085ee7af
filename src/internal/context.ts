// The pipeline's execution contexts. They live here, not in pipeline/, because the TimeLimiter
// primitive hands its own context (with a lazy deadline signal) to the work it guards.
import type { ExecutionContext, Thunk } from '../pipeline/ExecutionContext.js';
import { NEVER_ABORTED } from './signals.js';

/**
 * @internal Base of the pipeline's contexts. `aborted` and `abortReason` answer without creating
 * a lazy signal, so stages can ask cheaply on their failure paths.
 */
export abstract class Context implements ExecutionContext {
  abstract readonly policyName: string;
  abstract readonly signal: AbortSignal;
  abstract readonly attempt: number;
  abstract readonly startedAt: number;
  abstract readonly data: Map<string, unknown>;
  /** @internal True once the caller or an enclosing timeout has aborted this context. */
  abstract readonly aborted: boolean;
  /** @internal The abort reason, when `aborted`. */
  abstract readonly abortReason: unknown;
  /** @internal The execution's root context. */
  abstract readonly root: RootContext;

  /** @internal A context for attempt `n` that shares everything else with this one. */
  withAttempt(n: number): Context {
    return new AttemptContext(this, n);
  }
}

/** @internal The context `policy.execute` creates: one allocation per call on the happy path. */
export class RootContext extends Context {
  readonly policyName: string;
  readonly startedAt: number;
  /** @internal The user's thunk. */
  readonly fn: Thunk<unknown>;
  /** @internal The caller's signal, if any. */
  readonly callerSignal: AbortSignal | undefined;
  /** @internal Set when a fallback stage supplied a value during this execution. */
  recovered = false;
  private map: Map<string, unknown> | undefined;

  constructor(
    policyName: string,
    startedAt: number,
    fn: Thunk<unknown>,
    callerSignal: AbortSignal | undefined,
    data: Map<string, unknown> | undefined,
  ) {
    super();
    this.policyName = policyName;
    this.startedAt = startedAt;
    this.fn = fn;
    this.callerSignal = callerSignal;
    this.map = data;
  }

  get attempt(): number {
    return 1;
  }

  get signal(): AbortSignal {
    return this.callerSignal ?? NEVER_ABORTED;
  }

  get data(): Map<string, unknown> {
    return (this.map ??= new Map());
  }

  get aborted(): boolean {
    return this.callerSignal !== undefined && this.callerSignal.aborted;
  }

  get abortReason(): unknown {
    return this.callerSignal?.reason;
  }

  get root(): RootContext {
    return this;
  }
}

/** @internal A context that differs from its parent only in `attempt`. */
class AttemptContext extends Context {
  readonly attempt: number;
  private readonly parent: Context;

  constructor(parent: Context, attempt: number) {
    super();
    this.parent = parent;
    this.attempt = attempt;
  }

  get policyName(): string {
    return this.parent.policyName;
  }
  get startedAt(): number {
    return this.parent.startedAt;
  }
  get signal(): AbortSignal {
    return this.parent.signal;
  }
  get data(): Map<string, unknown> {
    return this.parent.data;
  }
  get aborted(): boolean {
    return this.parent.aborted;
  }
  get abortReason(): unknown {
    return this.parent.abortReason;
  }
  get root(): RootContext {
    return this.parent.root;
  }
}
