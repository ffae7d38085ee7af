import type { StageDescriptor } from '../strategies/descriptor.js';
import type { Context } from '../internal/context.js';
import type { Inward, Outward, Step } from './engine.js';
import { UNLINKED, type StageEnv } from './env.js';
import type { EventHub, PolicyEventMap, RejectionReason } from './events.js';
import type { Counters } from './metrics.js';

/** The counter of `metrics().rejections` each refusal adds to. */
const COUNTERS = {
  'rate-limit': 'rateLimit',
  bulkhead: 'bulkhead',
  'circuit-open': 'circuitOpen',
} as const satisfies Record<RejectionReason, keyof Counters>;

/**
 * @internal Counts a refusal in `metrics().rejections` and reports it as a `rejected` event of a
 * stage of `kind`: the one account of a refusal, for built-in and custom stages alike.
 */
export function reportRefusal(
  env: StageEnv,
  kind: string,
  reason: RejectionReason,
  error: unknown,
): void {
  const { counters, hub, policy } = env;
  counters[COUNTERS[reason]]++;
  // Stryker disable next-line ConditionalExpression: a fast path; an event nobody listens to reaches nobody
  if (hub.has('rejected'))
    // The error is of the class `reason` names (the stage's own refusal, or a custom stage's
    // error of that code).
    hub.emit('rejected', { policy, stage: kind, reason, error } as PolicyEventMap['rejected']);
}

/**
 * @internal Counts a deadline that passed in `metrics().timeouts` and reports it as a `timeout`
 * event of a stage of `kind`.
 */
export function reportTimeout(env: StageEnv, kind: string, timeoutMs: number): void {
  const { counters, hub, policy } = env;
  counters.timeouts++;
  // Stryker disable next-line ConditionalExpression: a fast path; an event nobody listens to reaches nobody
  if (hub.has('timeout')) hub.emit('timeout', { policy, stage: kind, timeoutMs });
}

/**
 * @internal Counts a fallback that took over from `error` in `metrics().fallbacks` and reports it
 * as a `fallback` event of a stage of `kind`.
 */
export function reportFallback(env: StageEnv, kind: string, error: unknown): void {
  const { counters, hub, policy } = env;
  counters.fallbacks++;
  // Stryker disable next-line ConditionalExpression: a fast path; an event nobody listens to reaches nobody
  if (hub.has('fallback')) hub.emit('fallback', { policy, stage: kind, error });
}

/** @internal Reports a thunk call timed for `attempt` listeners, which ended `ok` or with `value`. */
export function reportAttempt(
  hub: EventHub,
  policy: string,
  attempt: number,
  durationMs: number,
  ok: boolean,
  value: unknown,
): void {
  hub.emit(
    'attempt',
    ok ? { policy, attempt, durationMs } : { policy, attempt, durationMs, error: value },
  );
}

/**
 * @internal Reports the `success` or `failure` event of an execution that ended `now`. A start
 * never read (NaN): the call began before anyone listened, and nothing asked for its start
 * since; it is timed from `since` (when listening began), a lower bound, and says so
 * (`partial`).
 */
export function reportEnd(
  hub: EventHub,
  policy: string,
  now: number,
  start: number,
  since: number,
  recovered: boolean,
  ok: boolean,
  value: unknown,
): void {
  const partial = start !== start;
  const durationMs = now - (partial ? since : start);
  const payload = ok
    ? { policy, durationMs, fallback: recovered }
    : { policy, error: value, durationMs };
  if (partial) (payload as { partial?: true }).partial = true;
  hub.emit(ok ? 'success' : 'failure', payload);
}

/**
 * @internal What every step shares (built-in, keyed or custom): its kind, its name (the kind's
 * when none is given) and its links, unlinked until `link` sets them.
 */
export abstract class LinkedStep implements Step {
  readonly kind: string;
  readonly name: string;
  inner: Inward = UNLINKED;
  outer: Outward = UNLINKED;
  abstract readonly settlesEarly: boolean;

  constructor(kind: string, name: string | undefined) {
    this.kind = kind;
    this.name = name ?? kind;
  }

  abstract enter(ctx: Context): void;
  abstract leave(ctx: Context, ok: boolean, value: unknown): void;
  abstract describe(): string;
  abstract state(): Record<string, unknown>;
}

/**
 * @internal What every built-in step shares: a {@link LinkedStep} with its policy's environment,
 * and a description and state read through its kind's descriptor.
 */
export abstract class BuiltinStep<P> extends LinkedStep {
  protected readonly env: StageEnv;
  private readonly descriptor: StageDescriptor<P>;
  protected readonly primitive: P;

  constructor(
    descriptor: StageDescriptor<P>,
    primitive: P,
    env: StageEnv,
    name: string | undefined,
  ) {
    super(descriptor.kind, name);
    this.descriptor = descriptor;
    this.primitive = primitive;
    this.env = env;
  }

  /**
   * Where the stack of a refusal made now should start: at the caller of `policy.execute` (or
   * of the wrapper it called) while the execution is still in the caller's turn; otherwise
   * nowhere in particular (`undefined`: the refusal keeps the stack it is made with).
   */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a stack frame marker
  protected refusalEntry(ctx: Context): Function | undefined {
    const root = ctx.root;
    return root.inFirstTurn ? (root.entry ?? this.env.entry) : undefined;
  }

  /** Counts a refusal of this kind and reports it as a `rejected` event. */
  protected rejected(error: unknown): void {
    reportRefusal(this.env, this.kind, this.descriptor.rejection as RejectionReason, error);
  }

  describe(): string {
    return this.descriptor.describe(this.primitive);
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name, ...this.descriptor.state(this.primitive) };
  }
}
