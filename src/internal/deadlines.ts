import type { Clock } from './clock.js';
import { afterTurn, noop } from './signals.js';
import { ownTimers } from './timerMode.js';

/**
 * How many times a {@link DeadlineQueue} may empty within one turn of the event loop before it
 * keeps its timer for the next call until the turn ends.
 */
const HOT_EMPTIES = 8;

/** Something with a deadline, kept in a {@link DeadlineQueue}. */
export interface DeadlineNode {
  /** Clock time at which `expire` runs. */
  dueAt: number;
  /** Links kept by the queue; `undefined` outside it. */
  prevDeadline: DeadlineNode | undefined;
  nextDeadline: DeadlineNode | undefined;
  /** Whether the node is in a queue. */
  queued: boolean;
  /**
   * Set while the node's expiry must run in the async context of its call (see
   * {@link inCallContext}); the queue then calls it, once, instead of `expire`.
   */
  wake?: ((expiry: Expiry) => void) | undefined;
  /**
   * Called once when the deadline passes while the node is still queued (or by its `wake`, a
   * microtask later).
   * @param now - the clock's time when the queue's timer fired (not when a `wake` runs this: a
   *   synchronous fake-timer tick may have moved the clock on since)
   */
  expire(now: number): void;
}

/** What the queue hands a node's `wake`: the node, and the clock's time when its timer fired. */
export interface Expiry {
  readonly node: DeadlineNode;
  readonly now: number;
}

// A shared executor hands over the resolver without allocating a closure per call.
let held: (expiry: Expiry) => void = noop;
const hold = (resolve: (expiry: Expiry) => void): void => {
  held = resolve;
};
const expire = (expiry: Expiry): void => expiry.node.expire(expiry.now);

/**
 * @internal Captures the current async context (an `AsyncLocalStorage` store, a trace) for an
 * expiry: answers a node's `wake`, which, called by the queue's timer with the node and the time
 * it fired, runs `node.expire(now)` in the context current here, one microtask later.
 *
 * The timer a {@link DeadlineQueue} shares is armed by whichever call queued the first node, so
 * what its callback runs synchronously inherits that call's context, not the expiring call's. A
 * promise reaction runs in the context where `then` was called: called here, in the call's own
 * context (its `execute`, or work already running in it), it carries that context to the expiry.
 * Portable (no `node:async_hooks`): it is what a host's async context follows anyway. Costs a
 * promise and a reaction, so steps ask for it only where something runs after the expiry.
 */
export function inCallContext(): (expiry: Expiry) => void {
  void new Promise(hold).then(expire);
  // Handed out and let go: kept here, it would keep the promise and the context it carries (the
  // call's store) reachable after the call ended, until the next capture.
  const resolve = held;
  held = noop;
  return resolve;
}

/**
 * Deadlines that all share one timeout, so they arrive in non-decreasing order: a doubly linked
 * FIFO list with O(1) add and remove, and at most one timer for the whole queue.
 *
 * A timer per call would cost a `setTimeout` and `clearTimeout` each time. Here the timer is armed
 * only when the queue has none pending; when it fires it expires what is due and re-arms for the
 * new head. Nodes removed early (the usual case: the call settled in time) are simply unlinked, so
 * concurrent traffic costs one timer per timeout period.
 *
 * A deadline keeps the process alive only while a call waits on it: the timer is cleared when the
 * queue empties, so a process whose calls have all settled exits at once and an idle queue holds
 * no timer. One exception keeps calls made one at a time cheap: when the queue empties more than
 * {@link HOT_EMPTIES} times within one turn of the event loop (a loop of calls awaited one after
 * another), the timer is kept for the next call instead of being cleared and set again each time
 * (a `setTimeout` and `clearTimeout` cost several times a whole call through a timeout stage), and
 * it is cleared when that turn ends. (Node's `Timeout#refresh` cannot stand in for this: a cleared
 * timer is destroyed and a refresh then schedules nothing.)
 *
 * The timer runs in the async context of the call that armed it: a node whose expiry runs code of
 * the call's own (the way out, events, a further attempt) defers it to that call's context through
 * {@link inCallContext}.
 */
export class DeadlineQueue {
  #head: DeadlineNode | undefined;
  /**
   * The last node, or undefined while the head is the only one: a node added to an empty queue
   * (each call made one at a time) is then written to the queue once, not twice. The queue lives
   * long and its nodes do not, and every such write takes the write barrier's slow path.
   */
  #tail: DeadlineNode | undefined;
  #timer: unknown;
  /** True while a timer is pending. */
  hasTimer = false;
  readonly #clock: Clock;
  readonly #onTimer = (): void => this.#fire();
  /** Times the queue emptied in this turn of the event loop (0 once the turn's sweep ran). */
  #empties = 0;
  readonly #sweep = (): void => {
    this.#empties = 0;
    if (this.#head === undefined) this.#clear();
  };

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Appends a node. Its deadline must not be earlier than the tail's; `now` is the clock's time. */
  add(node: DeadlineNode, now: number): void {
    node.queued = true;
    node.nextDeadline = undefined;
    const head = this.#head;
    if (head === undefined) {
      node.prevDeadline = undefined;
      this.#head = node;
    } else {
      const last = this.#tail ?? head;
      node.prevDeadline = last;
      last.nextDeadline = node;
      this.#tail = node;
    }
    // Flags compared with `true` and `false`: V8 keeps no type for a field holding a boolean, and
    // a plain test of one that is true goes through every falsy value first.
    if (this.hasTimer === false) this.#arm(node.dueAt - now);
  }

  /** Unlinks a node; a node no longer queued is left alone. */
  remove(node: DeadlineNode): void {
    if (node.queued === false) return;
    node.queued = false;
    const { prevDeadline: prev, nextDeadline: next } = node;
    if (prev === undefined) this.#head = next;
    else prev.nextDeadline = next;
    // The new last node: `prev`, which may be the head (then as good as undefined), or none.
    if (next === undefined) this.#tail = prev;
    else next.prevDeadline = prev;
    node.prevDeadline = node.nextDeadline = undefined;
    if (this.#head === undefined && this.hasTimer === true) {
      // The first emptying of a turn books the sweep that ends it; past HOT_EMPTIES in one turn
      // the timer waits for the next call (or that sweep) instead of being cleared now.
      if (this.#empties++ === 0) afterTurn(this.#sweep);
      if (this.#empties <= HOT_EMPTIES) this.#clear();
    }
  }

  #clear(): void {
    if (this.hasTimer === false) return;
    this.hasTimer = false;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Number of queued nodes. Walks the list: read by the specs only, which check that every
   * deadline leaves the queue once its call settles.
   */
  get size(): number {
    let n = 0;
    for (let node = this.#head; node !== undefined; node = node.nextDeadline) n++;
    return n;
  }

  #arm(delay: number): void {
    this.hasTimer = true;
    this.#timer = this.#clock.setTimeout(this.#onTimer, delay > 0 ? delay : 0);
  }

  #fire(): void {
    this.hasTimer = false;
    this.#timer = undefined;
    const now = this.#clock.now();
    let node = this.#head;
    while (node !== undefined && node.dueAt <= now) {
      this.remove(node);
      expireNode(node, now);
      node = this.#head;
    }
    // Host timers may fire a fraction of a millisecond before the clock reads the deadline;
    // re-arm at least 1 ms ahead so that case cannot spin.
    // (An `expire` may have queued a new node, arming a timer already.)
    if (node !== undefined && !this.hasTimer) this.#arm(Math.max(1, node.dueAt - now));
  }
}

/** Runs a node's expiry: its `wake` when it has one (once), else `expire`. */
function expireNode(node: DeadlineNode, now: number): void {
  const wake = node.wake;
  if (wake === undefined) node.expire(now);
  else {
    node.wake = undefined;
    wake({ node, now });
  }
}

/**
 * A {@link DeadlineQueue} whose every node arms a timer of its own when it is added, and clears it
 * when it is removed: used where a timer belongs to the request that set it (see
 * {@link ownTimers}), so that each call's deadline lives and fires with its own request, whatever
 * becomes of the others'. The node's timer is set and cleared by its own call (it is added when
 * the call starts, and removed when the work settles or the caller aborts), and it fires in that
 * call's async context. Nodes need no order here, and no list: the timers are kept by node.
 */
class OwnDeadlines extends DeadlineQueue {
  readonly #timers = new Map<DeadlineNode, unknown>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    super(clock);
    this.#clock = clock;
  }

  override add(node: DeadlineNode, now: number): void {
    node.queued = true;
    this.#arm(node, node.dueAt - now);
  }

  override remove(node: DeadlineNode): void {
    if (!node.queued) return;
    node.queued = false;
    const timer = this.#timers.get(node);
    this.#timers.delete(node);
    this.hasTimer = this.#timers.size > 0;
    this.#clock.clearTimeout(timer);
  }

  override get size(): number {
    return this.#timers.size;
  }

  #arm(node: DeadlineNode, delay: number): void {
    this.#timers.set(
      node,
      this.#clock.setTimeout(() => this.#fire(node), delay > 0 ? delay : 0),
    );
    this.hasTimer = true;
  }

  #fire(node: DeadlineNode): void {
    if (!node.queued) return;
    const now = this.#clock.now();
    // Early against the clock (see the shared timer's `#fire`): set again, at least 1 ms ahead.
    if (node.dueAt > now) return this.#arm(node, Math.max(1, node.dueAt - now));
    node.queued = false;
    this.#timers.delete(node);
    this.hasTimer = this.#timers.size > 0;
    expireNode(node, now);
  }
}

/**
 * A deadline queue for `clock`: one timer for the whole queue, or, where timers belong to the
 * request that set them ({@link ownTimers}, read when the structure is built), one per node.
 */
export function deadlineQueue(clock: Clock): DeadlineQueue {
  return ownTimers ? new OwnDeadlines(clock) : new DeadlineQueue(clock);
}
