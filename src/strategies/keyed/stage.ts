import { DerivedContext, type Context } from '../../internal/context.js';
import type { Outward, Step } from '../../pipeline/engine.js';
import type { StageEnv } from '../../pipeline/env.js';
import { LinkedStep } from '../../pipeline/step.js';
import { syncAnswer } from '../../internal/validate.js';
import type { CircuitStateChange } from '../circuit-breaker/CircuitBreaker.js';
import type { StageDescriptor } from '../descriptor.js';
import type { Keyed, KeyedEntry } from './Keyed.js';

/** @internal How a keyed stage finds the key of a call. */
export type KeyOf = (ctx: Context) => string;

/** A state change of one key's primitive, with its key. */
interface KeyedStateChange extends CircuitStateChange {
  readonly key: string;
}

/** How many keys that refuse calls a keyed stage's state lists. */
const MAX_LISTED_KEYS = 20;

/**
 * @internal The context a keyed stage hands the step of a call's key: it names the key's entry
 * and step, so that the outcome goes back through that step and the entry is released once.
 */
class KeyContext extends DerivedContext {
  readonly entry: KeyedEntry<unknown>;
  readonly step: Step;

  constructor(parent: Context, owner: object, entry: KeyedEntry<unknown>, step: Step) {
    super(parent, owner);
    this.entry = entry;
    this.step = step;
  }
}

/**
 * @internal A stage that keeps one primitive per key (in a {@link Keyed} holder) and runs each
 * call through its key's primitive with the kind's own step, made once per primitive for this
 * policy and linked between this stage's neighbours. The key's step answers refusals and
 * outcomes exactly as the kind's stage does; this stage only picks it and gives the outcome back
 * to it.
 */
export class KeyedStage<P extends object> extends LinkedStep {
  // Stryker disable next-line BooleanLiteral: an eager policy settles the same, with more work
  readonly settlesEarly = false;
  // The key function has the context and may read `startedAt` (on a later attempt, say).
  readonly needsClock = true;
  readonly #descriptor: StageDescriptor<P>;
  readonly #keyed: Keyed<P>;
  readonly #keyOf: KeyOf;
  readonly #env: StageEnv;
  readonly #describe: () => string;
  /** Whether the holder measures idleness on the policy's clock (`startedAt` is then `now`). */
  readonly #sharesClock: boolean;
  /** This policy's step over each key's primitive. */
  #steps = new WeakMap<P, Step>();
  /** Where the key's step sends the outcome: out of this stage, releasing the key. */
  readonly #exit: Outward = {
    leave: (ctx: Context, ok: boolean, value: unknown): void => {
      const own = ctx as KeyContext;
      // A step leaves once per entry (see `Step.leave`): the key is released once.
      this.#keyed.releaseKey(own.entry as KeyedEntry<P>);
      this.outer.leave(own.parent, ok, value);
    },
  };
  /** State listeners (`circuit-state` events), and each key step's subscription. */
  readonly #watchers = new Set<(change: CircuitStateChange) => void>();
  readonly #subscriptions = new Map<P, () => void>();
  #unwatchDrops: (() => void) | undefined;

  constructor(
    descriptor: StageDescriptor<P>,
    keyed: Keyed<P>,
    keyOf: KeyOf,
    env: StageEnv,
    name: string | undefined,
    describe: () => string,
  ) {
    super(descriptor.kind, name);
    this.#descriptor = descriptor;
    this.#keyed = keyed;
    this.#keyOf = keyOf;
    this.#env = env;
    this.#describe = describe;
    this.#sharesClock = keyed.clock === env.clock;
  }

  enter(ctx: Context): void {
    let entry: KeyedEntry<P>;
    try {
      const root = ctx.root;
      const keyed = this.#keyed;
      const key = this.#keyOf(ctx);
      // In the execution's first turn, its start is the time now: no clock read. A promise is
      // refused here (its rejection handled); the holder checks any other key.
      entry = keyed.holdKey(
        typeof key == 'string' ? key : (syncAnswer(key, 'key', 'a string') as string),
        this.#sharesClock && root.inFirstTurn ? root.startedAt : keyed.clock.now(),
      );
    } catch (error) {
      // A key function (or the primitive's constructor) that throws, or a key that is not a
      // string, fails the call.
      this.outer.leave(ctx, false, error);
      return;
    }
    const step = this.#stepOf(entry);
    step.enter(new KeyContext(ctx, this, entry, step));
  }

  leave(ctx: Context, ok: boolean, value: unknown): void {
    // What the key's step passed inward: our context, or one that step made over it.
    // Every context a key's step passes inward descends from a KeyContext of this stage.
    let own = ctx;
    while (own.owner !== this) own = own.parent as Context;
    (own as KeyContext).step.leave(ctx, ok, value);
  }

  describe(): string {
    return this.#describe();
  }

  state(): Record<string, unknown> {
    return { kind: this.kind, name: this.name, ...keyedState(this.#descriptor, this.#keyed) };
  }

  watchState(listener: (change: CircuitStateChange) => void): () => void {
    this.#watchers.add(listener);
    if (this.#unwatchDrops === undefined) {
      this.#unwatchDrops = this.#keyed.onDrop((entry) => {
        this.#subscriptions.get(entry.value)?.();
        this.#subscriptions.delete(entry.value);
      });
      for (const entry of this.#keyed.keyedEntries()) this.#subscribe(entry, this.#stepOf(entry));
    }
    return () => {
      if (!this.#watchers.delete(listener) || this.#watchers.size > 0) return;
      // Stryker disable next-line OptionalChaining: set while anyone watches
      this.#unwatchDrops?.();
      this.#unwatchDrops = undefined;
      for (const unsubscribe of this.#subscriptions.values()) unsubscribe();
      this.#subscriptions.clear();
    };
  }

  #stepOf(entry: KeyedEntry<P>): Step {
    const primitive = entry.value;
    let step = this.#steps.get(primitive);
    // Stryker disable next-line ConditionalExpression: a step is a view of its primitive; a new one for each call behaves the same
    if (step === undefined) {
      step = this.#descriptor.step(primitive, keyEnv(this.#env, entry.key), this.name);
      step.inner = this.inner;
      step.outer = this.#exit;
      this.#steps.set(primitive, step);
      if (this.#unwatchDrops !== undefined) this.#subscribe(entry, step);
    }
    return step;
  }

  #subscribe(entry: KeyedEntry<P>, step: Step): void {
    const { key, value: primitive } = entry;
    if (step.watchState === undefined || this.#subscriptions.has(primitive)) return;
    this.#subscriptions.set(
      primitive,
      step.watchState(({ from, to }) => {
        const change: KeyedStateChange = { from, to, key };
        for (const watcher of this.#watchers) watcher(change);
      }),
    );
  }
}

/**
 * The environment of one key's step: the policy's, with `key` added to every event it emits. (The
 * hub's other members are read from the policy's hub itself.) Its state changes carry the key
 * too (see {@link KeyedStage.watchState}): every event of a keyed stage names its key.
 */
function keyEnv(env: StageEnv, key: string): StageEnv {
  const hub = env.hub;
  const keyHub = Object.create(hub) as typeof hub;
  keyHub.emit = (event, payload) => hub.emit(event, { ...payload, key });
  return { ...env, hub: keyHub };
}

/**
 * @internal A keyed holder's live state: `keys` held (more than `maxKeys` while instances in use
 * fill it), `busyKeys` (instances not at rest), `droppedBusy` (instances dropped while not at
 * rest to keep within `maxKeys`, since the holder was made), `refusingKeys` (how many refuse calls
 * now) and `refusing`, the first {@link MAX_LISTED_KEYS} of those, least recently used first,
 * each `{ key, ...its kind's state }`.
 */
export function keyedState<P>(
  descriptor: StageDescriptor<P>,
  keyed: Keyed<P>,
): Record<string, unknown> {
  let busy = 0;
  let refusing = 0;
  const listed: Array<Record<string, unknown>> = [];
  let keys = 0;
  for (const entry of keyed.keyedEntries()) {
    keys++;
    if (!keyed.idleEntries(entry)) busy++;
    let refuses = false;
    try {
      // Stryker disable next-line OptionalChaining: the TypeError of a missing check is caught below
      refuses = descriptor.refusing?.(entry.value) === true;
    } catch {
      // A primitive that cannot report (a hostile store) is left out of the list.
    }
    if (!refuses) continue;
    refusing++;
    if (listed.length < MAX_LISTED_KEYS) {
      listed.push({ key: entry.key, ...descriptor.state(entry.value) });
    }
  }
  return {
    keys,
    maxKeys: keyed.maxKeys,
    busyKeys: busy,
    droppedBusy: keyed.droppedBusy,
    refusingKeys: refusing,
    refusing: listed,
  };
}
