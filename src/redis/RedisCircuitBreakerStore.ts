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
import type { RedisStoreOptions } from './options.js';
import { BREAKER, type BreakerOp, type BreakerSettings } from './scripts/breaker.js';
import {
  ADMIT_CLOSED,
  REFUSE_ISOLATED,
  admissionOf,
  bucketsFor,
  probeLeaseMs,
} from '../strategies/circuit-breaker/admissions.js';

/** Options of a {@link RedisCircuitBreakerStore}: the common {@link RedisStoreOptions}. */
export type RedisCircuitBreakerStoreOptions = RedisStoreOptions;

/** An idle breaker's keys are kept at least this long (a count window has no time of its own). */
const MIN_IDLE_TTL_MS = 3_600_000;

const STATES: readonly CircuitState[] = Object.freeze(['closed', 'open', 'half-open', 'isolated']);

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
 * A call through `execute` costs two round trips (admission, then the outcome). The keys expire
 * after an hour idle (or twice `recoveryTimeout`, or `windowDuration`, when longer), except
 * while isolated: isolation lasts until `reset()`. `isolate()` and `reset()` always try Redis,
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
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
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
  // The script's commands, made once the settings are known.
  #commands: Partial<Record<Exclude<BreakerOp, 'record'>, RedisCommand>> = {};
  // Record commands by outcome: (failure ? 1 : 0) + (slow ? 2 : 0) + (stale ? 8 : probe === false
  // ? 4 : 0).
  #recordCommands: readonly RedisCommand[] = [];
  readonly #acquireWithout = (): CircuitAdmission | Promise<CircuitAdmission> =>
    this.core.decide((local) => {
      this.#usedLocal = true;
      return local.acquire();
    }, ADMIT_CLOSED);
  // A state from Redis, whose answer ends the local breaker's outage.
  readonly #toState = (reply: unknown): CircuitState => {
    this.#backOnRedis();
    return toState(reply);
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
    const timed = config.windowType === 'time';
    const idleTtl = Math.ceil(
      Math.max(
        MIN_IDLE_TTL_MS,
        2 * config.maxRecoveryTimeoutMs,
        timed ? 2 * config.windowDurationMs : 0,
      ),
    );
    // What the script reads, and nothing more: the clock and the window type stay here.
    const settings: BreakerSettings = {
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
      stateKey: this.redisKey,
      windowKey: `${this.redisKey}:w`,
      timed,
      // The same buckets as the in-memory TIME window.
      buckets: bucketsFor(config.windowDurationMs),
      idleTtlMs: idleTtl,
      probeLeaseMs: probeLeaseMs(config.recoveryTimeoutMs),
    };
    const command = (
      op: BreakerOp,
      failure = false,
      slow = false,
      probe = true,
      stale = false,
    ): RedisCommand => BREAKER.command({ ...settings, op, failure, slow, probe, stale });
    this.#commands = Object.freeze({
      acquire: command('acquire'),
      release: command('release'),
      state: command('state'),
      snapshot: command('snapshot'),
      isolate: command('isolate'),
      reset: command('reset'),
    });
    this.#recordCommands = Object.freeze([
      command('record', false, false),
      command('record', true, false),
      command('record', false, true),
      command('record', true, true),
      command('record', false, false, false),
      command('record', true, false, false),
      command('record', false, true, false),
      command('record', true, true, false),
      command('record', false, false, false, true),
      command('record', true, false, false, true),
      command('record', false, true, false, true),
      command('record', true, true, false, true),
    ]);
  }

  acquire(): CircuitAdmission | Promise<CircuitAdmission> {
    const link = this.core.link;
    return link.attempt(
      this.#command('acquire'),
      (reply) => {
        const isolating = this.#unsent === 'isolate';
        this.#backOnRedis();
        const admission = toAdmission(reply);
        if (!isolating || !admission.admitted) return admission;
        // Redis decided before the isolation sent just now: refuse as it will.
        if (admission.probe) link.send(this.#command('release'));
        return REFUSE_ISOLATED;
      },
      this.#acquireWithout,
      (late) => {
        // A probe slot taken for a caller that was already answered otherwise goes back.
        if (toAdmission(late).probe) link.send(this.#command('release'));
      },
    );
  }

  record(outcome: CircuitOutcome): CircuitState | Promise<CircuitState> {
    const index =
      (outcome.failure ? 1 : 0) +
      (outcome.slow ? 2 : 0) +
      (outcome.stale === true ? 8 : outcome.probe === false ? 4 : 0);
    const core = this.core;
    return core.link.attempt(this.#recordCommands[index] as RedisCommand, this.#toState, () =>
      core.decide((local) => {
        this.#usedLocal = true;
        return local.record(outcome);
      }, 'closed'),
    );
  }

  release(): void | Promise<void> {
    const core = this.core;
    return core.link.attempt(
      this.#command('release'),
      () => this.#backOnRedis(),
      () => core.local?.release(),
    );
  }

  state(): CircuitState | Promise<CircuitState> {
    const core = this.core;
    return core.link.attempt(this.#command('state'), this.#toState, () =>
      core.decide((local) => local.state(), 'closed'),
    );
  }

  snapshot(): CircuitBreakerMetrics | Promise<CircuitBreakerMetrics> {
    const core = this.core;
    return core.link.attempt(
      this.#command('snapshot'),
      (reply) => {
        this.#backOnRedis();
        const [state, calls, failures, slow, open] = reply as unknown[];
        const n = Number(calls);
        const f = Number(failures);
        const s = Number(slow);
        const metrics: CircuitBreakerMetrics = {
          state: toState(state),
          failureRate: n === 0 ? 0 : f / n,
          slowCallRate: n === 0 ? 0 : s / n,
          bufferedCalls: n,
          failedCalls: f,
          slowCalls: s,
        };
        return this.#growing ? { ...metrics, openDurationMs: Number(open) } : metrics;
      },
      () => core.decide((local) => local.snapshot(), closedSnapshot()),
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

  #administer(op: 'isolate' | 'reset'): Promise<void> {
    const core = this.core;
    // The latest wins: an earlier one still unsent is dropped.
    this.#unsent = undefined;
    const seq = ++this.#administered;
    return core.link.run(this.#command(op)).then(
      () => undefined,
      () => {
        // Unless another came since, sent again once Redis answers.
        if (seq === this.#administered) this.#unsent = op;
        // Done locally already: only 'fail-closed' reports the failure.
        return core.decide(noop, undefined);
      },
    );
  }

  #command(op: Exclude<BreakerOp, 'record'>): RedisCommand {
    const command = this.#commands[op];
    if (command === undefined) {
      throw new Error('RedisCircuitBreakerStore used before configure()');
    }
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
      this.core.link.run(this.#command(unsent)).then(noop, () => {
        if (seq === this.#administered) this.#unsent = unsent;
      });
    }
  }
}

// What 'fail-open' reads while Redis is away.
function closedSnapshot(): CircuitBreakerMetrics {
  return {
    state: 'closed',
    failureRate: 0,
    slowCallRate: 0,
    bufferedCalls: 0,
    failedCalls: 0,
    slowCalls: 0,
  };
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
