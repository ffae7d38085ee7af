// The pipeline's execution contexts. They live here, not in pipeline/, because the TimeLimiter
// primitive hands its own context (with a lazy deadline signal) to the work it guards.
import type { ExecutionContext, Thunk } from '../pipeline/ExecutionContext.js';
import { systemClock, type Clock } from './clock.js';
import { inCallContext, type DeadlineNode, type DeadlineQueue } from './deadlines.js';
import { NEVER_ABORTED, noop } from './signals.js';
import { unlistenAbort } from './abortListeners.js';
import { INSPECT, inspectView, viewClass } from './inspect.js';
import { answeredWith } from './answers.js';

/**
 * @internal Base of the pipeline's contexts. `aborted` and `abortReason` answer without creating
 * a lazy signal, so stages can ask cheaply on their failure paths.
 *
 * A stage that hands inner stages a context of its own (retry, timeout, …) marks it with itself
 * as `owner`, so on the way out it can tell its own context from the one it received.
 */
export abstract class Context implements ExecutionContext {
  abstract readonly policyName: string;
  abstract readonly signal: AbortSignal;
  abstract readonly attempt: number;
  abstract readonly startedAt: number;
  abstract readonly data: Map<string, unknown>;
  abstract readonly deadline: number;
  abstract readonly remaining: number;
  /** @internal True once the caller or an enclosing timeout has aborted this context. */
  abstract readonly aborted: boolean;
  /** @internal The abort reason, when `aborted`. */
  abstract readonly abortReason: unknown;
  /** @internal The execution's root context. */
  abstract readonly root: RootContext;
  /** @internal The context this one was made from (undefined for the root). */
  abstract readonly parent: Context | undefined;
  /** @internal The stage that made this context. */
  abstract readonly owner: object | undefined;
  /**
   * @internal The CLOSED-period ticket of the circuit breaker step that passed this very context
   * inward, keeping no context of its own, until that step has the call's outcome; 0 when none
   * has. A field, not a context per call: the usual breaker pass allocates nothing.
   *
   * Declared here, set by each subclass (its first field, as before): a base class without
   * fields has a default constructor, which V8 skips, so making a root is one inline allocation
   * instead of a call of this constructor through the generic construct stub.
   */
  declare breakerTicket: number;
  /**
   * @internal True when the work under this context was called off rather than failed: the
   * caller aborted, or a hedge gave the attempt up because another one answered. An outcome then
   * says nothing of the dependency (a circuit breaker does not record it).
   */
  get cancelled(): boolean {
    return this.root.aborted;
  }
  /**
   * @internal What a context made from this one reads as its signal, deadline and remaining
   * time: this one's own, but for a root that carries the deadline of the timeout just inside it
   * (see {@link RootContext.deadlineOwner}), which no context made from the root is under.
   */
  get inheritedSignal(): AbortSignal {
    return this.signal;
  }
  get inheritedDeadline(): number {
    return this.deadline;
  }
  get inheritedRemaining(): number {
    return this.remaining;
  }

  /**
   * The documented fields as plain JSON data, so that `JSON.stringify(ctx)`, or a JSON logger
   * given `{ ctx }`, writes them rather than throwing on the internals' cycles: `data` as an
   * object of its entries, `signal` as `{ aborted }` (`deadline` and `remaining` are `null`
   * outside any timeout: JSON has no `Infinity`). A method of the class, not a field: a context
   * costs nothing more for it.
   */
  toJSON(): ContextJSON {
    return {
      policyName: this.policyName,
      attempt: this.attempt,
      startedAt: this.startedAt,
      deadline: this.deadline,
      remaining: this.remaining,
      data: this.dataIfMade === undefined ? {} : Object.fromEntries(this.dataIfMade),
      signal: { aborted: this.signalAborted },
    };
  }

  /**
   * @internal `data` if its map exists, else undefined: what the views read, so that logging a
   * context makes no map it did not need (a root makes its own at first use).
   */
  get dataIfMade(): Map<string, unknown> | undefined {
    return this.data;
  }
  /**
   * @internal Whether `signal` is aborted, answered without making a lazy signal (a root's under
   * a deadline, made at first use).
   */
  get signalAborted(): boolean {
    return this.signal.aborted;
  }
  /** @internal `signal` if it exists, else undefined (see {@link Context.signalAborted}). */
  get signalMade(): AbortSignal | undefined {
    return this.signal;
  }
}

/** What {@link Context.toJSON} gives: an execution context's documented fields as JSON data. */
export interface ContextJSON {
  readonly policyName: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly deadline: number;
  readonly remaining: number;
  readonly data: Record<string, unknown>;
  readonly signal: { readonly aborted: boolean };
}

// The data a context whose map is not made yet shows: none (never written to).
const NO_DATA: ReadonlyMap<string, unknown> = /* @__PURE__ */ new Map();

/**
 * Node's `util.inspect` (and `console.log`) view of a context: `ExecutionContext { policyName,
 * attempt, startedAt, deadline, remaining, data, signal }`, the documented fields only (`data` as
 * its Map, `signal` as Node shows an AbortSignal), not the internals behind them. Like `toJSON`,
 * it makes neither a lazy data map nor a lazy signal: until made, they show as an empty Map and
 * as `AbortSignal { aborted }`.
 */
/** @internal How an execution context shows in Node's inspection. */
export const contextView = /* @__PURE__ */ inspectView('ExecutionContext', (ctx: Context) => {
  const data = ctx.dataIfMade;
  const signal = ctx.signalMade;
  return Object.assign(ctx.toJSON(), {
    data: data ?? NO_DATA,
    signal: signal ?? signalView(ctx.signalAborted),
  });
});

// How Node shows an AbortSignal, for a signal not made yet.
const SignalView = /* @__PURE__ */ viewClass('AbortSignal');
const signalView = (aborted: boolean): object => Object.assign(new SignalView(), { aborted });

/**
 * @internal Gives every context its Node inspect view: a method of the base class, set once, by
 * the first policy built (before any context reaches code of the user's). Not a class member: a
 * member under a computed key would keep the classes in bundles that never use them.
 */
export function inspectableContexts(): void {
  (Context.prototype as { [INSPECT]?: () => object })[INSPECT] ??= contextView;
}

/**
 * @internal The innermost timeout step of a policy, whose deadline the execution's root context
 * carries when the step is reached with the root itself (see {@link RootContext.deadlineOwner}).
 */
export interface RootDeadline {
  readonly queue: DeadlineQueue;
  readonly clock: Clock;
  readonly cooperative: boolean;
  /** The deadline passed: counts and reports it, and answers the error it fails the call with. */
  timedOut(): unknown;
  /** The deadline (or the caller's abort) came before the work settled: the way out begins. */
  expiredRoot(root: RootContext, error: unknown): void;
}

/** @internal Settles the promise `policy.execute` returned. */
export interface Settler {
  settle(root: RootContext, ok: boolean, value: unknown): void;
}

/**
 * @internal The context `policy.execute` creates: one allocation per call on the happy path. It
 * is also the deadline queue's entry of the innermost timeout when that step is reached with the
 * root (the usual case), so a timeout costs no context of its own: the work, the only one inside
 * that step, reads the deadline and its signal from the root, while contexts made from the root
 * (by steps outside it) read the caller's (see `inheritedSignal`).
 */
export class RootContext extends Context implements DeadlineNode {
  override breakerTicket = 0;
  readonly policyName: string;
  /**
   * @internal The clock time `startedAt` answers: read at `execute` when something can see the
   * start, else NaN until `startedAt` is first read (see {@link RootContext.startedAt}).
   */
  start: number;
  /** @internal The clock `startedAt` reads when `execute` did not. */
  readonly clock: Clock;
  /** @internal The user's thunk. */
  readonly fn: Thunk<unknown>;
  /** @internal The caller's signal, if any. */
  readonly callerSignal: AbortSignal | undefined;
  /**
   * @internal The wrapper the caller called, when it did not call `policy.execute` itself: a
   * refusal made in the caller's turn starts its stack at the frame that called it.
   */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the entry
  entry: Function | undefined = undefined;
  /** @internal Set when a fallback stage supplied a value during this execution. */
  recovered = false;
  /**
   * @internal True while `execute` is still running synchronously. Stages reached in that turn
   * may use `startedAt` as the current time instead of reading the clock again.
   */
  inFirstTurn = false;
  /** @internal Backs `settled`. */
  done = false;
  /**
   * @internal Holders of a resource (a bulkhead slot) kept for this execution, told when the
   * caller is answered while they still hold it: the first in `holder`, any others in `holders`.
   */
  holder: Holder | undefined = undefined;
  holders: Holder[] | undefined = undefined;
  /**
   * @internal True once a step asked the invoker to count the thunk calls in flight in each
   * {@link SlotContext} of the execution (a step inside it may answer before the work settles).
   */
  tracked = false;
  /**
   * @internal The bulkhead step whose pass holds the slot recorded on this root (the `slot…`
   * fields): the first pass reached with the root context itself keeps its slot here instead of
   * in a {@link SlotContext}, so the common case allocates nothing for it. Cleared when the slot
   * is given back.
   */
  slotOwner: SlotOwner | undefined = undefined;
  /** @internal The store's ticket of the slot recorded on the root. */
  slotTicket: unknown = undefined;
  /** @internal Whether thunk calls under the root's slot are counted in `slotRunning`. */
  slotTracked = false;
  /** @internal Thunk calls in flight under the root's slot (counted while `slotTracked`). */
  slotRunning = 0;
  /** @internal The root's slot pass has answered while its work still runs. */
  slotLeft = false;
  /** @internal The outcome, once settled (kept for a result promise made afterwards). */
  ok = false;
  value: unknown = undefined;
  /**
   * @internal Whether the execution's promise has been made as a deferred (settled through
   * `resolve`/`reject`). Until then, the promise may instead be the thunk's reaction itself.
   */
  deferred = false;
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;
  /** @internal The thunk's reaction, when it serves as the execution's promise. */
  result: Promise<unknown> | undefined = undefined;
  /** @internal Told when the caller's signal aborts (this object is the listener). */
  settler: Settler | undefined = undefined;
  /**
   * @internal The timeout step whose deadline this root carries: the first reached with the root
   * context, when nothing but the work runs inside it. Set once, kept after the deadline is over
   * (the work may read its signal late). The `dueAt`… fields are its queue entry.
   */
  deadlineOwner: RootDeadline | undefined = undefined;
  dueAt = 0;
  prevDeadline: DeadlineNode | undefined = undefined;
  nextDeadline: DeadlineNode | undefined = undefined;
  queued = false;
  /** @internal The deadline is over: the work settled, or the deadline or the caller's abort came. */
  deadlineDone = false;
  /** @internal The timeout error, once the deadline passed. */
  deadlineError: unknown = undefined;
  /** @internal Behind the deadline's signal, made when it is first read. */
  controller: AbortController | undefined = undefined;
  /** @internal Set when the expiry must run in the call's async context (see `startDeadline`). */
  wake: DeadlineNode['wake'] = undefined;
  /**
   * @internal The thunk calls of this execution timed for `attempt` listeners and still awaited
   * (see {@link TimedCall}): the first of a list linked through the calls. Set only while someone
   * listens for attempts.
   */
  timedCalls: TimedCall | undefined = undefined;
  #map: Map<string, unknown> | undefined;

  /**
   * @param startedAt - the clock time at `execute`, or NaN to read `clock` when `startedAt` is
   *   first asked for
   */
  constructor(
    policyName: string,
    startedAt: number,
    fn: Thunk<unknown>,
    callerSignal: AbortSignal | undefined,
    data: Map<string, unknown> | undefined,
    clock: Clock = systemClock,
  ) {
    super();
    this.policyName = policyName;
    this.start = startedAt;
    this.fn = fn;
    this.callerSignal = callerSignal;
    this.#map = data;
    this.clock = clock;
  }

  /**
   * The clock time at `execute` when anything could see it then (R-POL-7: a thunk that declares
   * a parameter, a stage that measures time from the start or gives the context to code of the
   * user's, a listener of durations); otherwise read here, once, at first use.
   */
  get startedAt(): number {
    const start = this.start;
    // NaN (not read yet) is the one value unequal to itself.
    return start === start ? start : (this.start = this.clock.now());
  }

  /** @internal True once the execution's outcome is known (the caller has been answered). */
  get settled(): boolean {
    return this.done;
  }
  set settled(value: boolean) {
    this.done = value;
    if (value && this.holder !== undefined) this.#answered();
  }

  /** @internal Registers a holder, told by `answered` if the caller is answered first. */
  hold(holder: Holder): void {
    if (this.holder === undefined) this.holder = holder;
    else (this.holders ??= []).push(holder);
    if (this.done) holder.answered(this);
  }

  /** @internal Removes a holder registered by `hold`. */
  unhold(holder: Holder): void {
    const holders = this.holders;
    if (this.holder === holder) {
      this.holder = holders === undefined || holders.length === 0 ? undefined : holders.pop();
    } else if (holders !== undefined) {
      const i = holders.lastIndexOf(holder);
      if (i !== -1) holders.splice(i, 1);
    }
  }

  /** @internal Records the slot a pass of `owner` took on this root (see `slotOwner`). */
  takeSlot(owner: SlotOwner, ticket: unknown, tracked: boolean): void {
    this.slotOwner = owner;
    this.slotTicket = ticket;
    this.slotTracked = tracked;
    this.slotRunning = 0;
    this.slotLeft = false;
  }

  /** @internal The slot recorded on this root has been given back (or handed on). */
  freeSlot(): void {
    this.slotOwner = undefined;
    this.slotTicket = undefined;
    this.slotTracked = false;
    this.slotLeft = false;
  }

  #answered(): void {
    (this.holder as Holder).answered(this);
    const holders = this.holders;
    if (holders !== undefined) for (const holder of holders) holder.answered(this);
  }

  get attempt(): number {
    return 1;
  }
  get deadline(): number {
    return this.deadlineOwner === undefined ? Infinity : this.dueAt;
  }
  get remaining(): number {
    const owner = this.deadlineOwner;
    if (owner === undefined) return Infinity;
    const left = this.dueAt - owner.clock.now();
    return left > 0 ? left : 0;
  }
  get signal(): AbortSignal {
    if (this.deadlineOwner === undefined) return this.callerSignal ?? NEVER_ABORTED;
    if (this.controller === undefined) {
      // Aborted now if the deadline or the caller's abort came already; later, while the deadline
      // runs, by `expire` or by the caller's abort (`handleEvent`: the root listens already).
      const controller = (this.controller = new AbortController());
      if (this.aborted) controller.abort(this.abortReason);
      else if (this.deadlineError !== undefined) controller.abort(this.deadlineError);
    }
    return this.controller.signal;
  }
  override get inheritedSignal(): AbortSignal {
    return this.callerSignal ?? NEVER_ABORTED;
  }
  override get inheritedDeadline(): number {
    return Infinity;
  }
  override get inheritedRemaining(): number {
    return Infinity;
  }
  get data(): Map<string, unknown> {
    return (this.#map ??= new Map());
  }
  override get dataIfMade(): Map<string, unknown> | undefined {
    return this.#map;
  }
  override get signalMade(): AbortSignal | undefined {
    if (this.deadlineOwner === undefined) return this.callerSignal ?? NEVER_ABORTED;
    return this.controller?.signal;
  }
  override get signalAborted(): boolean {
    // As `signal` would be made now: aborted by the caller's abort or by the deadline's passing.
    const made = this.signalMade;
    return made !== undefined ? made.aborted : this.aborted || this.deadlineError !== undefined;
  }
  get aborted(): boolean {
    return this.callerSignal !== undefined && this.callerSignal.aborted;
  }
  get abortReason(): unknown {
    return this.callerSignal?.reason as unknown;
  }
  get root(): RootContext {
    return this;
  }
  get parent(): undefined {
    return undefined;
  }
  get owner(): undefined {
    return undefined;
  }

  /**
   * @internal Called from the thunk's reaction when it serves as the execution's promise: the
   * outcome if the way out has ended, else a deferred promise that the rest of the way settles.
   */
  take(): unknown {
    // Compared with `true`: see `Invoker.enter`.
    if (this.done === true) {
      if (this.ok === true) return this.value;
      throw this.value;
    }
    return this.makeDeferred();
  }

  /** @internal Makes the execution's promise a deferred that `settle` resolves. */
  makeDeferred(): Promise<unknown> {
    this.deferred = true;
    return deferTo(this);
  }

  /**
   * The caller's signal aborted: the execution rejects at once with its reason, and a deadline
   * the root carries ends (nobody waits for it any more), aborting its signal with that reason.
   */
  handleEvent(): void {
    const signal = this.callerSignal as AbortSignal;
    // The caller is answered with the reason now (a cooperative deadline's outside too).
    answeredWith(signal.reason);
    this.settler?.settle(this, false, signal.reason);
    const owner = this.deadlineOwner;
    if (owner === undefined || this.deadlineDone) return;
    this.#endDeadline(owner);
    const reason = signal.reason as unknown;
    this.controller?.abort(reason);
    owner.expiredRoot(this, reason);
  }

  /**
   * @internal Starts the deadline of `owner`'s timeout, due at `dueAt`, on this root. With
   * `capture`, its expiry will run in the async context current now (the call's).
   */
  startDeadline(owner: RootDeadline, dueAt: number, now: number, capture: boolean): void {
    this.deadlineOwner = owner;
    this.dueAt = dueAt;
    if (capture) this.wake = inCallContext();
    owner.queue.add(this, now);
  }

  /**
   * @internal The work settled. Returns false when the deadline (or the caller's abort) came
   * first: the outcome is then stale.
   */
  finishDeadline(): boolean {
    if (this.deadlineDone === true) return false;
    this.#endDeadline(this.deadlineOwner as RootDeadline);
    return true;
  }

  /**
   * The deadline passed while the work was still running (called by the queue, or by its `wake`
   * a microtask later, in the call's context). In cooperative mode the signal aborts and the way
   * out waits for the work's outcome.
   */
  expire(): void {
    // The work may have settled (or the caller aborted) between the timer and its `wake`.
    if (this.deadlineDone) return;
    const owner = this.deadlineOwner as RootDeadline;
    const cooperative = owner.cooperative;
    if (!cooperative) this.#endDeadline(owner);
    const error = (this.deadlineError = owner.timedOut());
    this.controller?.abort(error);
    if (!cooperative) owner.expiredRoot(this, error);
  }

  #endDeadline(owner: RootDeadline): void {
    this.deadlineDone = true;
    owner.queue.remove(this);
    // The caller's listener stays while the deadline runs (see `Policy.settle`).
    if (this.done && this.callerSignal !== undefined) unlistenAbort(this.callerSignal, this);
  }
}

/**
 * @internal A thunk call timed for `attempt` listeners, listed on its execution's root while the
 * policy awaits it. A step that stops waiting for the work under a context (a deadline that
 * passed, the caller's abort, a hedged attempt that lost) ends the calls under it with the error
 * that ended them ({@link endTimedCalls}); the work settling later is then not timed again.
 */
export interface TimedCall {
  /** The context the thunk was called with. */
  readonly ctx: Context;
  prevCall: TimedCall | undefined;
  nextCall: TimedCall | undefined;
  /** The policy stopped waiting for this call (already taken off the root's list). */
  end(error: unknown): void;
}

/** @internal Lists a timed call on its root (see {@link TimedCall}). */
export function listTimedCall(call: TimedCall): void {
  const root = call.ctx.root;
  const first = root.timedCalls;
  call.nextCall = first;
  if (first !== undefined) first.prevCall = call;
  root.timedCalls = call;
}

/** @internal Takes a timed call off its root's list, if it is on it. */
export function unlistTimedCall(call: TimedCall): void {
  const { prevCall, nextCall } = call;
  const root = call.ctx.root;
  if (prevCall !== undefined) prevCall.nextCall = nextCall;
  else if (root.timedCalls === call) root.timedCalls = nextCall;
  else return;
  if (nextCall !== undefined) nextCall.prevCall = prevCall;
  call.prevCall = call.nextCall = undefined;
}

/**
 * @internal The policy stops waiting for the work under `within` (`within` itself or a context
 * made from it): each timed call there ends now, failed with `error`.
 */
export function endTimedCalls(within: Context, error: unknown): void {
  let call = within.root.timedCalls;
  while (call !== undefined) {
    const next = call.nextCall;
    if (isUnder(call.ctx, within)) {
      unlistTimedCall(call);
      call.end(error);
    }
    call = next;
  }
}

function isUnder(ctx: Context, within: Context): boolean {
  for (let c: Context | undefined = ctx; c !== undefined; c = c.parent) {
    if (c === within) return true;
  }
  return false;
}

/** @internal A context that reads everything from its parent unless a subclass says otherwise. */
export class DerivedContext extends Context {
  override breakerTicket = 0;
  readonly parent: Context;
  readonly owner: object;

  constructor(parent: Context, owner: object) {
    super();
    this.parent = parent;
    this.owner = owner;
  }
  get policyName(): string {
    return this.parent.policyName;
  }
  get attempt(): number {
    return this.parent.attempt;
  }
  get startedAt(): number {
    return this.parent.startedAt;
  }
  get deadline(): number {
    return this.parent.inheritedDeadline;
  }
  get remaining(): number {
    return this.parent.inheritedRemaining;
  }
  get signal(): AbortSignal {
    return this.parent.inheritedSignal;
  }
  get data(): Map<string, unknown> {
    return this.parent.data;
  }
  override get dataIfMade(): Map<string, unknown> | undefined {
    return this.parent.dataIfMade;
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
  override get cancelled(): boolean {
    return this.parent.cancelled;
  }
}

/**
 * @internal A context that differs from its parent only in `attempt`; it carries the retry's
 * state from one wait to the next.
 */
export class AttemptContext extends DerivedContext {
  readonly #attempt: number;
  readonly retryState: { prev: number };

  constructor(
    parent: Context,
    owner: object,
    attempt: number,
    retryState: { prev: number } = NO_STATE,
  ) {
    super(parent, owner);
    this.#attempt = attempt;
    this.retryState = retryState;
  }
  override get attempt(): number {
    return this.#attempt;
  }
}

// The state of a retry that has not waited yet (attempt 1 of an inner retry): read, never written.
const NO_STATE: { readonly prev: number } = /* @__PURE__ */ Object.freeze({ prev: 0 });

/** @internal Something an execution holds until its work settles (see `RootContext.hold`). */
export interface Holder {
  /** The caller was answered while this holder still holds its resource for `root`. */
  answered(root: RootContext): void;
}

/**
 * @internal The step that holds a slot (in a {@link SlotContext} or on the root), told when the
 * work of a pass that answered early has all settled, with the slot's ticket.
 */
export interface SlotOwner {
  drained(ticket: unknown): void;
}

/**
 * @internal Carries the bulkhead slot one pass through a bulkhead step holds, and, when a step
 * inside may answer before the work settles, how many thunk calls under it are still running.
 */
export class SlotContext extends DerivedContext {
  declare readonly owner: SlotOwner;
  /** The store's ticket for the slot. */
  readonly ticket: unknown;
  /** Thunk calls in flight under this context (counted once `root.tracked`). */
  running = 0;
  /** The outcome has gone out while work still ran: the slot is released when it drains. */
  left = false;

  constructor(parent: Context, owner: SlotOwner, ticket: unknown) {
    super(parent, owner);
    this.ticket = ticket;
  }
}

/**
 * @internal Counts a thunk call starting under `ctx` in every slot around it that counts its work:
 * each tracked {@link SlotContext} on the way up, and the slot recorded on the root until it is
 * given back (unless the call runs under another pass of the same step, in a context of its own).
 * Returns whether the root's slot counted it, for {@link untrackRunning}.
 */
export function trackRunning(ctx: Context): boolean {
  const root = ctx.root;
  if (root.tracked) {
    for (let c: Context | undefined = ctx; c !== undefined; c = c.parent) {
      if (c instanceof SlotContext) c.running++;
    }
  }
  // Work started after the pass answered is followed too, as in a SlotContext.
  if (!root.slotTracked) return false;
  if (root.tracked && underOwnSlot(ctx, root.slotOwner as SlotOwner)) return false;
  root.slotRunning++;
  return true;
}

/**
 * @internal A thunk call counted by {@link trackRunning} has settled: uncounts it, and tells each
 * slot's owner once the work of its answered pass has all settled.
 */
export function untrackRunning(ctx: Context, onRoot: boolean): void {
  const root = ctx.root;
  if (root.tracked) {
    for (let c: Context | undefined = ctx; c !== undefined; c = c.parent) {
      if (c instanceof SlotContext) {
        c.running--;
        if (c.running === 0 && c.left) {
          // Given back once: work started under the pass later runs without its slot.
          c.left = false;
          c.owner.drained(c.ticket);
        }
      }
    }
  }
  if (onRoot && --root.slotRunning === 0 && root.slotLeft) {
    const owner = root.slotOwner as SlotOwner;
    const ticket = root.slotTicket;
    root.freeSlot();
    owner.drained(ticket);
  }
}

function underOwnSlot(ctx: Context, owner: SlotOwner): boolean {
  for (let c: Context | undefined = ctx; c !== undefined; c = c.parent) {
    if (c instanceof SlotContext && c.owner === owner) return true;
  }
  return false;
}

/** @internal Carries what a circuit breaker step must remember of one call. */
export class TimingContext extends DerivedContext {
  /** Clock time the call started (NaN when calls are not timed). */
  readonly start: number;
  /** The breaker's admission ticket (which half-open period's probe slot the call holds). */
  readonly ticket: number;

  constructor(parent: Context, owner: object, start: number, ticket: number) {
    super(parent, owner);
    this.start = start;
    this.ticket = ticket;
  }
}

// The object the shared executor below hands resolve and reject to: set only while `deferTo`
// makes its promise.
let into: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | undefined;

// A shared executor hands over resolve/reject without allocating a closure per promise. It writes
// them straight to their holder, a young object like them: a module-level holder of its own would
// be an old object, and each write to it would take the write barrier's slow path.
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  const to = into as NonNullable<typeof into>;
  to.resolve = resolve;
  to.reject = reject;
}

/**
 * @internal Makes a promise whose resolve and reject go to `to`, with no closure per promise.
 */
export function deferTo(to: {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}): Promise<unknown> {
  into = to;
  const promise = new Promise<unknown>(capture);
  // Let go: kept, `to` would keep the promise (its outcome, its async context) alive.
  into = undefined;
  return promise;
}

/**
 * @internal `ctx` as code outside the timeout whose deadline a root context carries sees it (a
 * retry judging an attempt, a fallback's method): a root with such a deadline is read through a
 * context made from it, which the deadline does not bound (see `inheritedSignal`).
 */
export function outside(ctx: Context, owner: object): Context {
  return ctx === ctx.root && ctx.root.deadlineOwner !== undefined
    ? new DerivedContext(ctx, owner)
    : ctx;
}
