// The policy a registry hands out for a configured name: a stable handle in front of the policy
// compiled from the current configuration. `registry.reload` swaps what is behind it; a call
// runs wholly through the compiled policy that was current when it started.
import type { ExecuteOptions } from '../pipeline/Policy.js';
import { executeThrough, inspectable, Policy, whenDrained } from '../pipeline/Policy.js';
import type { PolicyEvent, PolicyListener } from '../pipeline/events.js';
import type { PolicyMetrics } from '../pipeline/metrics.js';
import type { StageInfo } from '../pipeline/Stage.js';
import type { Thunk } from '../pipeline/ExecutionContext.js';
import type { Resolved } from '../internal/resolved.js';
import { isRecord } from '../internal/snapshot.js';

type AnyPolicy = Policy<unknown, unknown>;
type Listener = (payload: never) => unknown;

/** A subscription made on the handle: kept on every compiled policy that may still emit. */
interface Subscription {
  readonly event: PolicyEvent;
  readonly listener: Listener;
  readonly offs: Map<AnyPolicy, () => void>;
}

// Events of the calls themselves: a compiled policy that was swapped out still emits them for the
// calls it runs. The one that is not (`circuit-state`) comes from primitives, which the current
// policy reports (a breaker kept across a reload is in both: it must be reported once).
const isCallEvent = (event: PolicyEvent): boolean => event !== 'circuit-state';

/**
 * @internal The compiled policies behind one handle: the current one, those swapped out that
 * still run calls, and the counters of those that have finished.
 */
export class Generations {
  current: AnyPolicy;
  readonly #draining = new Set<AnyPolicy>();
  #subscriptions: readonly Subscription[] = [];
  // Counters of the compiled policies swapped out whose calls have all settled.
  #settled: Record<string, unknown> | undefined;

  constructor(current: AnyPolicy) {
    this.current = current;
  }

  /** Calls that start from now on run through `next`; calls in flight finish where they are. */
  swap(next: AnyPolicy): void {
    const old = this.current;
    if (next === old) return;
    this.current = next;
    for (const s of this.#subscriptions) {
      this.#subscribe(s, next);
      if (!isCallEvent(s.event)) s.offs.get(old)?.();
    }
    this.#draining.add(old);
    // Once the old policy's last call has settled, its counters are folded in.
    whenDrained(old, () => this.#retire(old));
  }

  on(event: PolicyEvent, listener: Listener): () => void {
    const subscription: Subscription = { event, listener, offs: new Map() };
    // The current policy checks the arguments (and throws its TypeError) first.
    this.#subscribe(subscription, this.current);
    if (isCallEvent(event)) {
      for (const policy of this.#draining) this.#subscribe(subscription, policy);
    }
    this.#subscriptions = [...this.#subscriptions, subscription];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      for (const off of subscription.offs.values()) off();
      subscription.offs.clear();
      this.#subscriptions = this.#subscriptions.filter((s) => s !== subscription);
    };
  }

  /**
   * The counters of every compiled policy this handle has had, added up (each call counted once,
   * by the policy it ran through), and the stages of the current one.
   */
  metrics(): PolicyMetrics {
    const current = this.current.metrics();
    let total = { ...current } as unknown as Record<string, unknown>;
    if (this.#settled !== undefined) total = add(total, this.#settled);
    for (const policy of this.#draining) {
      total = add(total, policy.metrics() as unknown as Record<string, unknown>);
    }
    return { ...total, stages: current.stages } as unknown as PolicyMetrics;
  }

  #subscribe(s: Subscription, policy: AnyPolicy): void {
    if (!s.offs.has(policy)) {
      s.offs.set(policy, policy.on(s.event, s.listener as PolicyListener<PolicyEvent>));
    }
  }

  #retire(old: AnyPolicy): void {
    if (!this.#draining.delete(old)) return;
    for (const s of this.#subscriptions) {
      s.offs.get(old)?.();
      s.offs.delete(old);
    }
    const { stages: _stages, ...counters } = old.metrics();
    this.#settled = this.#settled === undefined ? counters : add(counters, this.#settled);
  }
}

/** `a + b` for every number, also one level down (`rejections`); other values from `a`. */
function add(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const sum: Record<string, unknown> = { ...a };
  for (const key of Object.keys(a)) {
    const x = a[key];
    const y = b[key];
    if (typeof x === 'number' && typeof y === 'number') sum[key] = x + y;
    else if (isRecord(x) && isRecord(y)) sum[key] = add(x, y);
  }
  return sum;
}

// Where a handle keeps its generations: a symbol-keyed, non-enumerable own property (read on
// every call, so not a WeakMap lookup).
const GENERATIONS: unique symbol = /* @__PURE__ */ Symbol('generations');

/**
 * @internal A {@link Policy} that forwards to the current compiled policy of `generations`.
 * It has no pipeline of its own: instances are made by {@link handleFor}, never by `new`.
 */
class ReloadablePolicy<T = unknown, F = never> extends Policy<T, F> {
  // Never called (see handleFor); present because a subclass must call its base's constructor.
  private constructor() {
    super(undefined as never);
  }

  override execute<R extends T = T, Fn extends Thunk<R> = Thunk<R>>(
    fn: Fn,
    options?: ExecuteOptions,
  ): Promise<Resolved<ReturnType<Fn>, R> | F> {
    // Called without its handle: the base's rejection (see there).
    if (!(this instanceof ReloadablePolicy)) return super.execute(fn, options);
    // A refusal's stack starts at the handle's caller, not here.
    return executeThrough(
      generations(this).current,
      fn,
      options,
      // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
      ReloadablePolicy.prototype.execute,
    ) as Promise<Resolved<ReturnType<Fn>, R> | F>;
  }

  override on<E extends PolicyEvent>(event: E, listener: PolicyListener<E>): () => void {
    return generations(this).on(event, listener);
  }

  override metrics(): PolicyMetrics {
    return generations(this).metrics();
  }

  override describe(): string {
    return generations(this).current.describe();
  }
}

function generations(handle: object): Generations {
  return (handle as { [GENERATIONS]: Generations })[GENERATIONS];
}

/**
 * @internal A stable policy object for a configured name: `instanceof Policy`, with the name,
 * `stages`, `execute`, `wrap`, `on`, `metrics` and `describe` of whatever compiled policy is
 * current in `generations`.
 */
export function handleFor(name: string, generations: Generations): Policy<unknown, unknown> {
  const handle = Object.create(ReloadablePolicy.prototype) as ReloadablePolicy<unknown, unknown>;
  Object.defineProperties(handle, {
    name: { value: name, enumerable: true },
    stages: {
      get: (): readonly StageInfo[] => generations.current.stages,
      enumerable: true,
    },
    [GENERATIONS]: { value: generations },
  });
  inspectable(handle);
  Object.freeze(handle);
  return handle;
}
