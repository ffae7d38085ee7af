import type { Clock } from './clock.js';

/** Something with a deadline, kept in a {@link DeadlineQueue}. */
export interface DeadlineNode {
  /** Clock time at which `expire` runs. */
  deadline: number;
  /** Links kept by the queue; `undefined` outside it. */
  prevDeadline: DeadlineNode | undefined;
  nextDeadline: DeadlineNode | undefined;
  /** Whether the node is in a queue. */
  queued: boolean;
  /** Called once when the deadline passes while the node is still queued. */
  expire(): void;
}

/** A host timer handle that can stop (and resume) keeping the process alive: Node's `Timeout`. */
interface Refable {
  ref(): unknown;
  unref(): unknown;
}

function refable(handle: unknown): handle is Refable {
  return (
    typeof handle === 'object' &&
    handle !== null &&
    typeof (handle as Partial<Refable>).unref === 'function' &&
    typeof (handle as Partial<Refable>).ref === 'function'
  );
}

/**
 * Deadlines that all share one timeout, so they arrive in non-decreasing order: a doubly linked
 * FIFO list with O(1) add and remove, and at most one timer for the whole queue.
 *
 * A timer per call would cost a `setTimeout` and `clearTimeout` each time. Here the timer is armed
 * only when the queue has none pending; when it fires it expires what is due and re-arms for the
 * new head. Nodes removed early (the usual case: the call settled in time) are simply unlinked, so
 * steady traffic costs one timer per timeout period.
 *
 * A deadline keeps the process alive only while a call waits on it. When the queue empties, the
 * timer stops counting: a host timer that supports it is unref'd (a few nanoseconds, against a
 * few hundred for clearing it and setting a new one for the next call; it is ref'd again if a
 * call arrives before it fires, and when it fires on an empty queue it is not re-armed), any
 * other is cleared. So a process whose calls have all settled exits at once, and an idle queue
 * holds no timer.
 */
export class DeadlineQueue {
  private head: DeadlineNode | undefined;
  private tail: DeadlineNode | undefined;
  private timer: unknown;
  private armed = false;
  /** True while the pending timer is unref'd because the queue is empty. */
  private parked = false;
  private readonly clock: Clock;
  private readonly onTimer = (): void => this.fire();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Appends a node. Its deadline must not be earlier than the tail's; `now` is the clock's time. */
  add(node: DeadlineNode, now: number): void {
    node.queued = true;
    node.nextDeadline = undefined;
    node.prevDeadline = this.tail;
    if (this.tail === undefined) this.head = node;
    else this.tail.nextDeadline = node;
    this.tail = node;
    if (!this.armed) this.arm(node.deadline - now);
    else if (this.parked) {
      this.parked = false;
      (this.timer as Refable).ref();
    }
  }

  /** Unlinks a node; a node no longer queued is left alone. */
  remove(node: DeadlineNode): void {
    if (!node.queued) return;
    node.queued = false;
    const { prevDeadline: prev, nextDeadline: next } = node;
    if (prev === undefined) this.head = next;
    else prev.nextDeadline = next;
    if (next === undefined) this.tail = prev;
    else next.prevDeadline = prev;
    node.prevDeadline = node.nextDeadline = undefined;
    if (this.head === undefined && this.armed) this.park();
  }

  /** Number of queued nodes (walks the list; for tests and metrics only). */
  get size(): number {
    let n = 0;
    for (let node = this.head; node !== undefined; node = node.nextDeadline) n++;
    return n;
  }

  /** True while a timer is pending that keeps the process alive (one a queued call waits on). */
  get hasTimer(): boolean {
    return this.armed && !this.parked;
  }

  private arm(delay: number): void {
    this.armed = true;
    this.parked = false;
    this.timer = this.clock.setTimeout(this.onTimer, delay > 0 ? delay : 0);
  }

  /** The queue is empty: the pending timer no longer keeps the process alive. */
  private park(): void {
    const timer = this.timer;
    if (refable(timer)) {
      if (this.parked) return;
      this.parked = true;
      timer.unref();
    } else {
      this.armed = false;
      this.timer = undefined;
      this.clock.clearTimeout(timer);
    }
  }

  private fire(): void {
    this.armed = false;
    this.parked = false;
    this.timer = undefined;
    const now = this.clock.now();
    let node = this.head;
    while (node !== undefined && node.deadline <= now) {
      this.remove(node);
      node.expire();
      node = this.head;
    }
    // Host timers may fire a fraction of a millisecond before the clock reads the deadline;
    // re-arm at least 1 ms ahead so that case cannot spin.
    // (An `expire` may have queued a new node, arming a timer already.)
    if (node !== undefined && !this.armed) this.arm(Math.max(1, node.deadline - now));
  }
}
