import { noop } from '../internal/signals.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerMetrics,
  type CircuitBreakerStore,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
  type CircuitState,
} from '../index.js';
import { RedisStore } from './core.js';
import type { RedisCommand } from './link.js';
import type { RedisStoreOptions, ResolvedStoreOptions } from './options.js';
import {
  BREAKER_CALL,
  BreakerCalls,
  breakerSignature,
  type BreakerShape,
} from './scripts/breaker.js';
import {
  ADMIT_CLOSED,
  REFUSE_ISOLATED,
  admissionOf,
  bucketsFor,
  metricsOf,
  probeLeaseMs,
} from '../strategies/circuit-breaker/admissions.js';

/** Options of a {@link RedisCircuitBreakerStore}: the common {@link RedisStoreOptions}. */
export type RedisCircuitBreakerStoreOptions = RedisStoreOptions;

/** An idle breaker's keys are kept at least this long (a count window has no time of its own). */
const MIN_IDLE_TTL_MS = 3_600_000;

const STATES: readonly CircuitState[] = Object.freeze(['closed', 'open', 'half-open', 'isolated']);

/** A store keeps the script calls of this many settings at most, for itself and its views. */
const MAX_SHAPES = 8;

// The script calls of a store and its per-key views (which share its options), by settings.
const CALLS = new WeakMap<ResolvedStoreOptions, Map<string, BreakerCalls>>();

/**
 * The script calls for `shape` that the store of `options` and its views share: the first
 * store with these settings makes them, the others (every new key) take them.
 */
function callsFor(options: ResolvedStoreOptions, shape: BreakerShape): BreakerCalls {
  let shapes = CALLS.get(options);
  if (shapes === undefined) {
    shapes = new Map();
    CALLS.set(options, shapes);
  }
  const signature = breakerSignature(shape);
  let calls = shapes.get(signature);
  if (calls === undefined) {
    // Settings that change (a reloaded policy) leave the oldest behind.
    if (shapes.size >= MAX_SHAPES) shapes.delete(shapes.keys().next().value as string);
    calls = new BreakerCalls(shape);
    shapes.set(signature, calls);
  }
  return calls;
}

/**
 * A circuit breaker's state machine in Redis, shared by every {@link CircuitBreaker} (in any
 * process) whose store has the same `prefix` and `key`: when the shared window trips, every
 * instance refuses calls until `recoveryTimeout` has passed (or the grown open time, with
 * `recoveryBackoff`: the hash keeps the current open duration, so every instance sees it); the HALF_OPEN probe budget
 * (`halfOpenMaxCalls`) holds across instances; `isolate()` holds everywhere until `reset()`.
 *
 * Each operation is one atomic Lua script (`EVALSHA`) on the Redis server's clock, applying the
 * same rules as {@link InMemoryCircuitBreakerStore}: consecutive mode, failure-rate and
 * slow-call-rate tripping over a COUNT window (the last `windowSize` outcomes) or a TIME window
 * (`windowDuration` in 10 to 60 buckets, each kept until its end is `windowDuration` old),
 * `minimumCalls`, slow HALF_OPEN probes, only probes
 * deciding HALF_OPEN, every outcome (a probe's, or a late one that arrives while OPEN,
 * HALF_OPEN or ISOLATED) counted in the shared window's metrics except that of a call admitted
 * before the circuit last closed that arrives while it is CLOSED, and a probe that has not reported after `max(recoveryTimeout, 10 s)` taken
 * as lost (a hung call, or its process died), its slot going to the next caller.
 *
 * With the breaker's `halfOpenWait`, a call waiting in HALF_OPEN for the verdict learns it from
 * the outcome of this breaker's own trial call when it runs one (until that call is taken as
 * lost); when the trial call runs in another process, the breaker asks Redis again (one
 * admission, for the first waiting call) every `halfOpenWait / 4`, between 10 ms and 250 ms,
 * until the circuit admits or refuses it or the wait runs out. When Redis cannot answer, every
 * waiting call gets the answer `onStoreError` gives at once (`'fail-closed'`:
 * `StoreUnavailableError`).
 *
 * A call through `execute` costs two round trips (admission, then the outcome); the outcome's
 * answer brings the window's counts too, which the breaker's `metrics` report (see
 * {@link RedisCircuitBreakerStore.snapshotKnown}). The keys expire
 * after an hour idle (or twice `recoveryTimeout`, or `windowDuration`, when longer), except
 * while isolated: isolation, and the window with it, lasts until `reset()`. `isolate()` and `reset()` always try Redis,
 * even in a back-off.
 *
 * When Redis cannot answer within `storeTimeout`, the call is decided as `onStoreError` says
 * (`'local'`: an in-process breaker with the same settings; `'fail-open'`: admitted, the circuit
 * reads closed; `'fail-closed'`: rejected with `StoreUnavailableError`), and calls skip Redis
 * for a short back-off before one call tries it again.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { CircuitBreaker } from 'bulwark';
 * import { RedisCircuitBreakerStore } from 'bulwark/redis';
 *
 * const client = await createClient({
 *   url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
 * }).connect();
 * const breaker = new CircuitBreaker({
 *   failureRateThreshold: 0.5,
 *   windowSize: 20,
 *   store: new RedisCircuitBreakerStore({ client, key: 'inventory' }),
 * });
 * const stock = await breaker.execute(() => inventory.count(sku));
 * ```
 */
export class RedisCircuitBreakerStore
  extends RedisStore<InMemoryCircuitBreakerStore, RedisCircuitBreakerStore>
  implements CircuitBreakerStore
{
  // Whether the local breaker decided anything since Redis last answered.
  #usedLocal = false;
  // An isolate() or reset() that could not reach Redis: sent once Redis answers again.
  #unsent: 'isolate' | 'reset' | undefined = undefined;
  // Counts isolate() and reset() calls: only the latest is sent again.
  #administered = 0;
  // Whether the latest of isolate() and reset() was isolate(): the local breaker stays isolated
  // until reset(), through every outage.
  #isolated = false;
  // Whether open periods grow: only then does a snapshot report the open duration.
  #growing = false;
  // The open time after a reset.
  #recoveryMs = 0;
  // The script calls of the breaker's settings, shared with every store of the same options
  // and settings (the per-key views of one store), once configured.
  #calls: BreakerCalls | undefined = undefined;
  // The state hash and the window.
  #keys: readonly string[] = [];
  // The commands on this store's keys, each made on its first use (indexed as BREAKER_CALL).
  readonly #commands: (RedisCommand | undefined)[] = [];
  readonly #acquireWithout = (): CircuitAdmission | Promise<CircuitAdmission> =>
    this.core.decide((local) => {
      this.#usedLocal = true;
      return local.acquire();
    }, ADMIT_CLOSED);
  // The window's totals as of the last answer that carried them (see snapshotKnown): NaN calls
  // before any.
  #knownCalls = NaN;
  #knownFailed = 0;
  #knownSlow = 0;
  #knownOpenMs = 0;
  #knownState: CircuitState = 'closed';
  // reset() commands not answered yet: the answers that come before theirs describe the window
  // a reset empties (one client answers in order).
  #resetting = 0;
  // A state from Redis, whose answer ends the local breaker's outage.
  readonly #toState = (reply: unknown): CircuitState => {
    this.#backOnRedis();
    return toState(reply);
  };
  // A record's answer: the state, and the window's totals after the outcome.
  readonly #recorded = (reply: unknown): CircuitState => {
    this.#backOnRedis();
    return this.#learn(reply);
  };
  readonly #resetAnswered = (): void => {
    this.#resetting--;
  };

  /**
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: RedisCircuitBreakerStoreOptions) {
    super(options, 'RedisCircuitBreakerStore', 'cb');
  }

  /** @throws Error when the store already serves another breaker */
  configure(config: CircuitBreakerStoreConfig): void {
    this.core.configure(config.clock, 'CircuitBreaker', InMemoryCircuitBreakerStore, () => config);
    this.#growing = config.recoveryBackoff > 1;
    this.#recoveryMs = config.recoveryTimeoutMs;
    const timed = config.windowType === 'time';
    const idleTtl = Math.ceil(
      Math.max(
        MIN_IDLE_TTL_MS,
        2 * config.maxRecoveryTimeoutMs,
        timed ? 2 * config.windowDurationMs : 0,
      ),
    );
    // What the script reads, and nothing more: the clock and the window type stay here.
    const shape: BreakerShape = {
      failureThreshold: config.failureThreshold,
      recoveryTimeoutMs: config.recoveryTimeoutMs,
      recoveryBackoff: config.recoveryBackoff,
      maxRecoveryTimeoutMs: config.maxRecoveryTimeoutMs,
      failureRateThreshold: config.failureRateThreshold,
      slowCallRateThreshold: config.slowCallRateThreshold,
      windowSize: config.windowSize,
      windowDurationMs: config.windowDurationMs,
      minimumCalls: config.minimumCalls,
      halfOpenMaxCalls: config.halfOpenMaxCalls,
      timed,
      // The same buckets as the in-memory TIME window.
      buckets: bucketsFor(config.windowDurationMs),
      idleTtlMs: idleTtl,
      probeLeaseMs: probeLeaseMs(config.recoveryTimeoutMs),
    };
    // Nothing per call yet: a breaker on a new key makes only the commands it sends.
    this.#keys = Object.freeze([this.redisKey, `${this.redisKey}:w`]);
    this.#calls = callsFor(this.core.options, shape);
  }

  acquire(): CircuitAdmission | Promise<CircuitAdmission> {
    const link = this.core.link;
    return link.attempt(
      this.#command(BREAKER_CALL.acquire),
      (reply) => {
        const isolating = this.#unsent === 'isolate';
        this.#backOnRedis();
        const admission = toAdmission(reply);
        if (!isolating || !admission.admitted) return admission;
        // Redis decided before the isolation sent just now: refuse as it will.
        if (admission.probe) link.send(this.#command(BREAKER_CALL.release));
        return REFUSE_ISOLATED;
      },
      this.#acquireWithout,
      (late) => {
        // A probe slot taken for a caller that was already answered otherwise goes back.
        if (toAdmission(late).probe) link.send(this.#command(BREAKER_CALL.release));
      },
    );
  }

  record(outcome: CircuitOutcome): CircuitState | Promise<CircuitState> {
    const index =
      (outcome.failure ? 1 : 0) +
      (outcome.slow ? 2 : 0) +
      (outcome.stale === true ? 8 : outcome.probe === false ? 4 : 0);
    const core = this.core;
    return core.link.attempt(this.#command(index), this.#recorded, () =>
      core.decide((local) => {
        this.#usedLocal = true;
        return local.record(outcome);
      }, 'closed'),
    );
  }

  release(): void | Promise<void> {
    const core = this.core;
    return core.link.attempt(
      this.#command(BREAKER_CALL.release),
      () => this.#backOnRedis(),
      () => core.local?.release(),
    );
  }

  state(): CircuitState | Promise<CircuitState> {
    const core = this.core;
    return core.link.attempt(this.#command(BREAKER_CALL.state), this.#toState, () =>
      core.decide((local) => local.state(), 'closed'),
    );
  }

  snapshot(): CircuitBreakerMetrics | Promise<CircuitBreakerMetrics> {
    const core = this.core;
    return core.link.attempt(
      this.#command(BREAKER_CALL.snapshot),
      (reply) => {
        this.#backOnRedis();
        const [, calls, failures, slow, open] = reply as unknown[];
        return this.#metrics(
          this.#learn(reply),
          Number(calls),
          Number(failures),
          Number(slow),
          Number(open),
        );
      },
      () => core.decide((local) => local.snapshot(), metricsOf('closed', 0, 0, 0)),
    );
  }

  /**
   * The counts over the shared window as of the last answer Redis gave this store that carried
   * them (every recorded outcome's, and every `snapshot`'s), without a round trip; `undefined`
   * before the first. A `reset()` empties them at once, and the answers to what this store asked
   * before it no longer count. Outcomes that have left a TIME window since, or that other
   * processes recorded, show from the next answer on. The breaker's `metrics` reads it.
   */
  snapshotKnown(): CircuitBreakerMetrics | undefined {
    const calls = this.#knownCalls;
    if (Number.isNaN(calls)) return undefined;
    return this.#metrics(
      this.#knownState,
      calls,
      this.#knownFailed,
      this.#knownSlow,
      this.#knownOpenMs,
    );
  }

  /**
   * Isolates the shared circuit (until `reset()`, with no expiry), and with `'local'` the
   * fallback breaker too (through every outage, until `reset()`). Tries Redis even during a
   * back-off; when Redis cannot answer, the
   * store isolates the shared circuit as soon as one of its calls reaches Redis again (unless
   * `reset()` came since).
   */
  isolate(): Promise<void> {
    this.#isolated = true;
    this.core.local?.isolate();
    return this.#administer('isolate');
  }

  /**
   * Closes the shared circuit and clears its window (deleting its keys), and with `'local'` the
   * fallback breaker too. Tries Redis even during a back-off; when Redis cannot answer, the
   * store resets the shared circuit as soon as one of its calls reaches Redis again (unless
   * `isolate()` came since).
   */
  reset(): Promise<void> {
    this.#isolated = false;
    this.core.local?.reset();
    return this.#administer('reset');
  }

  // The state of a record's or a snapshot's answer; its window totals become the known ones
  // unless a reset() is on its way (the answer is about the window that reset empties).
  #learn(reply: unknown): CircuitState {
    const [st, n, f, s, od] = reply as unknown[];
    const state = toState(st);
    if (this.#resetting === 0) {
      this.#knownState = state;
      this.#knownCalls = Number(n);
      this.#knownFailed = Number(f);
      this.#knownSlow = Number(s);
      this.#knownOpenMs = Number(od);
    }
    return state;
  }

  #metrics(
    state: CircuitState,
    n: number,
    f: number,
    s: number,
    openMs: number,
  ): CircuitBreakerMetrics {
    return metricsOf(state, n, f, s, this.#growing ? openMs : undefined);
  }

  // Sends `op` to Redis; a reset empties the known totals at once.
  #send(op: 'isolate' | 'reset'): Promise<unknown> {
    const sent = this.core.link.run(this.#command(BREAKER_CALL[op]));
    if (op === 'reset') {
      this.#knownState = 'closed';
      this.#knownCalls = this.#knownFailed = this.#knownSlow = 0;
      this.#knownOpenMs = this.#recoveryMs;
      this.#resetting++;
      sent.then(this.#resetAnswered, this.#resetAnswered);
    }
    return sent;
  }

  #administer(op: 'isolate' | 'reset'): Promise<void> {
    const core = this.core;
    // The latest wins: an earlier one still unsent is dropped.
    this.#unsent = undefined;
    const seq = ++this.#administered;
    return this.#send(op).then(
      () => undefined,
      () => {
        // Unless another came since, sent again once Redis answers.
        if (seq === this.#administered) this.#unsent = op;
        // Done locally already: only 'fail-closed' reports the failure.
        return core.decide(noop, undefined);
      },
    );
  }

  /** The command of call `index` (see {@link BREAKER_CALL}) on this store's keys. */
  #command(index: number): RedisCommand {
    const made = this.#commands[index];
    if (made !== undefined) return made;
    const calls = this.#calls;
    if (calls === undefined) {
      throw new Error('RedisCircuitBreakerStore used before configure()');
    }
    const command = calls.command(this.#keys, index);
    this.#commands[index] = command;
    return command;
  }

  #backOnRedis(): void {
    // The next outage starts from a clean local breaker, not from one that stopped long ago,
    // but still isolated when isolate() was the latest (sent or not): only reset() ends that.
    const local = this.core.local;
    if (this.#usedLocal && local !== undefined) {
      this.#usedLocal = false;
      local.reset();
      if (this.#isolated) local.isolate();
    }
    const unsent = this.#unsent;
    if (unsent !== undefined) {
      // The local breaker holds it already: redo it in Redis alone.
      this.#unsent = undefined;
      const seq = this.#administered;
      this.#send(unsent).then(noop, () => {
        if (seq === this.#administered) this.#unsent = unsent;
      });
    }
  }
}

function toState(reply: unknown): CircuitState {
  const state = String(reply) as CircuitState;
  if (!STATES.includes(state)) throw new TypeError(`Unexpected circuit state from Redis: ${state}`);
  return state;
}

function toAdmission(reply: unknown): CircuitAdmission {
  const [admitted, state, probe, retryAfter] = reply as [unknown, unknown, unknown, unknown];
  return admissionOf(Number(admitted) === 1, toState(state), Number(probe), Number(retryAfter));
}
