import { CircuitOpenError, resultTripped } from '../../errors.js';
import type { SignalWork, Resolved } from '../../internal/resolved.js';
import { RESOLVED, refusalFrom, rejectedSoon, stampStack } from '../../internal/refusal.js';
import type { Clock } from '../../internal/clock.js';
import { fail, type Duration } from '../../internal/duration.js';
import { storeGivesSnapshot, storeOption, storeTakesSnapshot } from '../../internal/store.js';
import {
  NEVER_ABORTED,
  abortable,
  noop,
  raceAbort,
  isThenable,
  refusedCall,
} from '../../internal/signals.js';
import { listenAbort, unlistenAbort } from '../../internal/abortListeners.js';
import { listen, notify } from '../../internal/listeners.js';
import type { ErrorFilter, ErrorMatcher } from '../../internal/validate.js';
import {
  unboundError,
  checkOption,
  clockOption,
  durationOption,
  errorFilterOption,
  predicateOption,
  integerOption,
  matchesAll,
  numberOption,
  oneOfOption,
  optionsObject,
  positiveDuration,
  show,
} from '../../internal/validate.js';
import type {
  CircuitAdmission,
  CircuitBreakerMetrics,
  CircuitBreakerStore,
  CircuitBreakerStoreConfig,
  CircuitOutcome,
  CircuitStoreState,
  CircuitWindowSnapshot,
} from './store.js';
import {
  field,
  isCount,
  isRecord,
  isSpan,
  readEnvelope,
  refuse,
  SNAPSHOT_VERSION,
  type Fields,
} from '../../internal/snapshot.js';
import { wallNow } from '../../internal/clock.js';
import { ownTimers } from '../../internal/timerMode.js';
import { inspectView, inspectableClass } from '../../internal/inspect.js';
import { grown, InMemoryCircuitBreakerStore } from './store.js';
import { ADMIT_CLOSED, REFUSE_ISOLATED, metricsOf, probeLeaseMs } from './admissions.js';
import type { CircuitState } from './CircuitState.js';

/**
 * Options of a {@link CircuitBreaker}. Every time is a {@link Duration}.
 *
 * @typeParam R - the result type `recordOnResult` inspects
 */
// `any` by default so that options written for one result type fit a breaker of any other.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface CircuitBreakerOptions<R = any> {
  /**
   * Consecutive recorded failures that trip the circuit, when `failureRateThreshold` is unset.
   * A success resets the count. Integer >= 1.
   * @defaultValue 5
   */
  readonly failureThreshold?: number | undefined;
  /**
   * How long the circuit stays OPEN before it reads HALF_OPEN and admits trial calls.
   * @defaultValue '30s'
   */
  readonly recoveryTimeout?: Duration | undefined;
  /**
   * Factor by which each re-open from HALF_OPEN (a failed trial call) multiplies the time the
   * circuit stays OPEN, up to `maxRecoveryTimeout`; closing the circuit (or `reset()`) brings it
   * back to `recoveryTimeout`. After k consecutive re-opens the circuit stays OPEN for
   * `min(recoveryTimeout * recoveryBackoff^k, maxRecoveryTimeout)`. A number >= 1. It has no
   * effect until `maxRecoveryTimeout` is above a `recoveryTimeout` > 0 (by default the cap is
   * `recoveryTimeout`, so a factor alone grows nothing): set both for open periods that grow.
   * @defaultValue 1 (every open period lasts `recoveryTimeout`)
   */
  readonly recoveryBackoff?: number | undefined;
  /**
   * The longest the circuit stays OPEN when `recoveryBackoff` makes open periods grow; a finite
   * duration >= `recoveryTimeout`.
   * @defaultValue `recoveryTimeout`
   */
  readonly maxRecoveryTimeout?: Duration | undefined;
  /**
   * Errors that count as failures: error classes (`instanceof`) or a predicate. Other errors
   * pass through and count as neither failure nor success.
   * @defaultValue every error
   */
  readonly recordOn?: ErrorFilter | undefined;
  /**
   * Counts a call that resolved as a failure when this returns true (for example an HTTP 503
   * response): it enters the window, may trip the circuit, and fails a HALF_OPEN trial call. The
   * caller still receives the result. A predicate that throws rejects the call with what it threw
   * (as Retry's `retryOnResult` does), and the call counts as a failure. Applies to `execute`,
   * policies and decorators; a call recorded by hand with `onSuccess` is judged by its caller.
   * @defaultValue none (every result is a success)
   */
  readonly recordOnResult?: ((result: R) => boolean) | undefined;
  /**
   * Trip on the failure rate over the window instead of on consecutive failures: a number in
   * (0, 1]. The rate is judged when a failure is recorded, once the window holds `minimumCalls`
   * outcomes.
   * @defaultValue none (consecutive mode)
   */
  readonly failureRateThreshold?: number | undefined;
  /**
   * Outcomes held by a `'count'` window. Integer >= 1. Ignored by a `'time'` window.
   * @defaultValue 10
   */
  readonly windowSize?: number | undefined;
  /**
   * `'count'`: the window is the last `windowSize` outcomes. `'time'`: the outcomes of the last
   * `windowDuration`, counted in buckets, not one by one.
   *
   * A TIME window has `n` buckets: `windowDuration` in seconds rounded up, but 10 at the least
   * and 60 at the most; each is `windowDuration / n` wide (1 s for windows of 10 s to 60 s,
   * 100 ms for a 1 s window, 5 s for a 5 min one). Buckets are aligned on the clock's time
   * (bucket `k` holds the outcomes recorded from `k * width` to just before `(k + 1) * width`;
   * the Redis store uses its server's clock), and a bucket stays in the window until its end is
   * `windowDuration` old: the window at time `now` is the bucket holding `now` and the `n` before
   * it. So an outcome recorded at `t` counts until `(floor(t / width) + 1) * width +
   * windowDuration`: for `windowDuration + width - (t % width)` ms. The error goes one way only:
   * an outcome never leaves the window before it is more than `windowDuration` old (every
   * outcome of the last `windowDuration` counts), and may stay up to one bucket longer; one
   * recorded at a bucket's start (`t` a multiple of the width) counts `windowDuration + width`.
   * With `windowDuration: '10s'`, failures at 900 ms and 10 000 ms are in the window together;
   * the first leaves it at 11 000 ms.
   * @defaultValue 'count'
   */
  readonly windowType?: 'count' | 'time' | undefined;
  /**
   * Length of a `'time'` window; > 0. Ignored by a `'count'` window. An outcome counts for more
   * than this long, and for at most this plus one bucket (see `windowType`).
   * @defaultValue '60s'
   */
  readonly windowDuration?: Duration | undefined;
  /**
   * Outcomes the window must hold before a failure or slow-call rate is judged. Integer >= 1,
   * and at most `windowSize` for a `'count'` window.
   * @defaultValue `windowSize` for a `'count'` window (a partial window is never judged); 10 for a `'time'` window
   */
  readonly minimumCalls?: number | undefined;
  /**
   * A call that takes at least this long counts as slow (whether it succeeds or fails); > 0.
   * Only when this is set does the breaker read the clock around calls.
   * @defaultValue none (no call is slow)
   */
  readonly slowCallDuration?: Duration | undefined;
  /**
   * Trip when the slow-call rate over the window reaches this number in (0, 1]. Judged when a
   * slow call is recorded, once the window holds `minimumCalls` outcomes. Needs
   * `slowCallDuration`.
   * @defaultValue none
   */
  readonly slowCallRateThreshold?: number | undefined;
  /**
   * Trial calls admitted in HALF_OPEN; this many successes close the circuit. An integer; any
   * finite number below 1 (`0`, `-3`, `0.5`) is taken as 1.
   * @defaultValue 1
   */
  readonly halfOpenMaxCalls?: number | undefined;
  /**
   * How long a call that arrives in HALF_OPEN while every trial slot is taken waits for the trial
   * calls' verdict instead of being refused at once; a finite duration >= 0. Such a call is
   * admitted, as a CLOSED call counted in the window, when the circuit closes (or as a trial
   * call, when one gives its slot back unrecorded or is taken as lost: waiting calls take such a
   * slot before calls arriving later, in arrival order); it is refused with {@link CircuitOpenError}
   * when the circuit re-opens (with the open time left as `retryAfterMs`) or is isolated, and
   * when the wait runs out (`state` `'half-open'`, `retryAfterMs` 0). The wait ends at the
   * deadline of a policy's timeout around the breaker, and at once when the caller's signal
   * aborts (rejecting with its reason). At most 1000 calls wait at once per breaker (per key
   * with `key`); a call beyond that is refused at once, as without the option. A waiting call
   * emits nothing; one refused in the end emits the policy's `rejected` event then. `beforeCall`
   * never waits. With a store shared between processes the verdict may come from another
   * process: waiting calls learn it from the outcome of this breaker's own trial call when it
   * holds one (until that one is taken as lost), and otherwise ask the store again every
   * `halfOpenWait / 4` (between 10 ms and 250 ms); a store that fails to answer (a shared store
   * down, under `onStoreError: 'fail-closed'`) fails every waiting call at once with its error.
   * @defaultValue 0 (refused at once)
   */
  readonly halfOpenWait?: Duration | undefined;
  /**
   * Source of time.
   * @defaultValue systemClock
   */
  readonly clock?: Clock | undefined;
  /**
   * Where the state machine lives. Give a shared store (such as `RedisCircuitBreakerStore` from
   * `bulwark/redis`) to share one circuit between processes.
   * @defaultValue a new {@link InMemoryCircuitBreakerStore}
   */
  readonly store?: CircuitBreakerStore | undefined;
  /**
   * A snapshot from {@link CircuitBreaker.toJSON} (as an object, e.g. `JSON.parse` of a saved
   * string) to start from instead of a closed circuit: its state, the consecutive failures, the
   * window and the open time, moved on by the wall-clock time elapsed since it was taken (an open
   * circuit that had 25 s left and was saved 5 s ago has 20 s left). A snapshot of another format,
   * version or window shape (`windowType`, `windowSize`, `windowDuration`), or one that is
   * corrupt, is refused here with a `TypeError` or `RangeError` naming `initialState`; nothing of
   * it is applied. Probes held in HALF_OPEN are not carried (the circuit is HALF_OPEN with every
   * trial slot free), an open time above `maxRecoveryTimeout` is cut to it, and the open time
   * later periods grow from is at least `recoveryTimeout`. A TIME window's saved buckets take
   * the same buckets when this breaker's clock lines its buckets up as the saver's did;
   * otherwise each goes into the first bucket that ends no earlier than it did, but none past
   * the current one. Only with the in-memory store (a shared store keeps its state itself).
   * Configuration may give it too (`initial-state`: the same JSON).
   * @defaultValue none (the circuit starts CLOSED and empty)
   */
  readonly initialState?: CircuitBreakerSnapshot | undefined;
}

/**
 * What {@link CircuitBreaker.toJSON} returns and `initialState` takes: plain JSON data. Times
 * are durations relative to `takenAt`, the wall-clock instant the snapshot was taken.
 */
export interface CircuitBreakerSnapshot {
  /** What it is a snapshot of. */
  readonly format: 'bulwark.circuit-breaker';
  /** The version of the format (1). A snapshot of another version is refused. */
  readonly version: number;
  /** Wall-clock time it was taken, in milliseconds since the epoch (the system's clock). */
  readonly takenAt: number;
  /** The state when taken (after any lazy OPEN -> HALF_OPEN move). */
  readonly state: CircuitState;
  /** The current open period's length while OPEN; otherwise the last one (`recoveryTimeout` after a close). */
  readonly openMs: number;
  /** While OPEN, how long it had been open; otherwise 0. */
  readonly openedAgoMs: number;
  /** The run of consecutive failures while CLOSED (consecutive mode). */
  readonly failures: number;
  /** The outcome window; its shape must match the breaker that restores it. */
  readonly window: CircuitWindowSnapshot;
}

/** A circuit breaker's move from one state to another, as passed to `onStateChange` listeners. */
export interface CircuitStateChange {
  /** The state it left. */
  readonly from: CircuitState;
  /** The state it entered. */
  readonly to: CircuitState;
}

/**
 * A listener for {@link CircuitBreaker.onStateChange}. What it returns is ignored: it may be
 * `async`, and a promise it returns that rejects is ignored as a throw is.
 */
export type CircuitStateListener = (change: CircuitStateChange) => unknown;

/** @internal Every option key the constructor accepts. */
export const CIRCUIT_BREAKER_OPTIONS: readonly string[] = Object.freeze([
  'failureThreshold',
  'recoveryTimeout',
  'recoveryBackoff',
  'maxRecoveryTimeout',
  'recordOn',
  'recordOnResult',
  'failureRateThreshold',
  'windowSize',
  'windowType',
  'windowDuration',
  'minimumCalls',
  'slowCallDuration',
  'slowCallRateThreshold',
  'halfOpenMaxCalls',
  'halfOpenWait',
  'clock',
  'store',
  'initialState',
]);

const STORE_METHODS = [
  'configure',
  'acquire',
  'record',
  'release',
  'state',
  'snapshot',
  'isolate',
  'reset',
];

/**
 * The duration given to `onSuccess` or `onFailure`: 0 when left out, else a finite number >= 0.
 * @throws TypeError for one that is not a number, RangeError for a negative, NaN or infinite one
 */
function measured(durationMs: unknown): number {
  return checkOption(durationMs, 'durationMs', isSpan, SPAN, 0, true);
}

/** @internal A `halfOpenMaxCalls` read as 1: any finite number below 1. */
export const readsAsOne = (n: unknown): boolean => typeof n == 'number' && n < 1 && n > -Infinity;

/** What `halfOpenMaxCalls` takes: an integer, or a number {@link readsAsOne}. */
const belowOneOrInteger = (n: unknown): boolean => Number.isInteger(n) || readsAsOne(n);

// The twelve possible outcomes, made once so recording one allocates nothing: index bit 0 is a
// failure, bit 1 a slow call, bit 2 a call known to hold no probe slot of the current HALF_OPEN
// period, and bit 3 instead a call admitted before the circuit last closed (which holds none).
const OUTCOMES: readonly CircuitOutcome[] = /* @__PURE__ */ outcomes();
const NO_PROBE = 4;
const STALE = 8;

function outcomes(): CircuitOutcome[] {
  const list: CircuitOutcome[] = [];
  for (let i = 0; i < 12; i++) {
    const failure = (i & 1) !== 0;
    const slow = (i & 2) !== 0;
    list.push(
      Object.freeze(
        i < 4
          ? { failure, slow }
          : i < 8
            ? { failure, slow, probe: false }
            : { failure, slow, probe: false, stale: true },
      ),
    );
  }
  return list;
}

// Tickets: a probe's is the number of its HALF_OPEN period (> 0); a call admitted CLOSED gets the
// name of its CLOSED period, `CLOSED_TICKETS - closes` (<= -2), so that its outcome after a later
// close is known stale with nothing counted; -1 is a call whose kind is not known (`beforeCall`
// with an asynchronous store, or an outcome reported without its ticket).
const UNKNOWN_TICKET = -1;
const CLOSED_TICKETS = -2;

/** At most this many calls wait in HALF_OPEN at once (`halfOpenWait`); more are refused at once. */
const MAX_HALF_OPEN_WAITING = 1000;

/** A call waiting in HALF_OPEN for the trial calls' verdict (`halfOpenWait`). */
interface Waiter {
  readonly resolve: (ticket: number) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  timer: unknown;
  /** `ASKING` and `ANSWERED` bits; 0 while it waits with no question out. */
  n: number;
  /** With timers of their own: clears them, in the waiting call's own context, once answered. */
  cleared?: () => void;
}

// A shared store's answer to a waiting call's admission is awaited; the call was answered
// (admitted, refused, timed out or aborted).
const ASKING = 1;
const ANSWERED = 2;

// `#recheckTimer` while a recheck is due and each waiting call keeps a timer of its own for it.
const OWN_RECHECK = true;

/**
 * A circuit breaker: stops calling a dependency that keeps failing, to give it room to recover.
 *
 * CLOSED admits every call and records outcomes in a window. It trips to OPEN after
 * `failureThreshold` consecutive failures, or, with `failureRateThreshold`, when the failure rate
 * over the window reaches it (judged when a failure is recorded, never on a window holding fewer
 * than `minimumCalls` outcomes), or when the slow-call rate reaches `slowCallRateThreshold`
 * (judged when a slow call is recorded). OPEN refuses calls with {@link CircuitOpenError} until
 * `recoveryTimeout` has passed; then the state reads HALF_OPEN (lazily, when it is next read or
 * a call arrives: the breaker has no timers). HALF_OPEN admits up to `halfOpenMaxCalls` trial
 * calls and refuses the rest at once (`retryAfterMs` 0), or, with `halfOpenWait`, lets them wait
 * that long for the verdict (the timers it then sets, one per waiting call and one for the moment
 * the trial calls would be taken as lost, end with the wait);
 * when that many have succeeded it closes
 * with an empty window, and any failure re-opens it for a new open period (`recoveryTimeout`,
 * or, with `recoveryBackoff`, the last open time multiplied, up to `maxRecoveryTimeout`, until a
 * close brings it back). A result that `recordOnResult` matches is a failure too. Only those
 * trial calls decide: the outcome of a call admitted before the circuit opened (or as a trial
 * call of an earlier HALF_OPEN period) that arrives during HALF_OPEN is ignored for the
 * transition. A trial call
 * that has not reported after `max(recoveryTimeout, 10 s)` is taken as lost, and its slot goes
 * to a new trial call. With
 * `slowCallRateThreshold`, trial calls that are slow also re-open it once their share of
 * `halfOpenMaxCalls` reaches the threshold. Outcomes that arrive while OPEN or ISOLATED move
 * nothing. Every recorded outcome still appears in `metrics`, whatever the state: trial calls'
 * and late ones are added to the window that tripped the circuit, and a close (or `reset()`)
 * starts an empty window about the calls admitted from then on: the outcome of a call admitted
 * before it (with a shared store: before a close this breaker has heard of) moves nothing, and
 * enters no window while the circuit is CLOSED; one that arrives while the circuit is OPEN,
 * HALF_OPEN or ISOLATED again is counted like any late one, in the window the next close
 * empties. A refusal while OPEN carries as its `cause` the failure that tripped the circuit,
 * when this breaker recorded it: the error, or for a result `recordOnResult` matched a
 * {@link RejectedResultError} holding that result.
 *
 * A call whose caller aborted records nothing, and an error `recordOn` does not match counts as
 * neither; both give back a HALF_OPEN trial slot.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, recoveryTimeout: '20s' });
 * breaker.onStateChange(({ from, to }) => log.warn(`inventory circuit ${from} -> ${to}`));
 *
 * try {
 *   const qty = await breaker.execute((signal) => inventory.count('ABC-123', { signal }));
 * } catch (error) {
 *   if (isCircuitOpenError(error)) serveDegraded(error.retryAfterMs);
 *   else throw error;
 * }
 * ```
 *
 * @typeParam R - the results its `recordOnResult` judges (inferred from the predicate's
 *   parameter; `any` without one): `execute`, a policy's `circuitBreaker(...)` and the
 *   `circuitBreaker` wrapper accept only work that resolves to an `R`
 */
// `in`: a breaker judging any `R` judges every narrower result.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as CircuitBreakerOptions
export class CircuitBreaker<in R = any> {
  readonly #clock: Clock;
  readonly #timesCalls: boolean;
  readonly #store: CircuitBreakerStore;
  readonly #recordOn: ErrorMatcher;
  readonly #recordOnResult: ((result: unknown) => boolean) | undefined;
  readonly #slowCallMs: number;
  readonly #config: CircuitBreakerStoreConfig;
  #lastState: CircuitState = 'closed';
  #listeners: readonly CircuitStateListener[] = [];
  // Only for stores that answer with promises: the state is then known as of their last answer.
  #remote: boolean;
  #openUntil = 0;
  /** When this breaker last saw its circuit become HALF_OPEN (see `'bulwark.atRest'`). */
  #halfOpenSince = 0;
  // Only for stores that answer with promises: the open time this breaker expects of the shared
  // circuit, by the growth rule, as learnt from the states it saw.
  #openMs = 0;
  #lastMetrics: CircuitBreakerMetrics | undefined;
  // Only for stores that answer with promises: counts this breaker's own isolate() and reset(),
  // so that an answer asked for before the last of them is not taken (`#unlessSuperseded`).
  #epoch = 0;
  // Numbers the HALF_OPEN periods, so that only a probe of the current one gives its slot back:
  // a call admitted before the circuit re-opened and half-opened again holds no slot of the new
  // period, and freeing one for it would admit more than `halfOpenMaxCalls` probes. Taking back
  // the slots of lost probes starts a new number too.
  #period = 0;
  // Closes this breaker has seen (from HALF_OPEN, or by reset()), and the HALF_OPEN period at the
  // last one: a call admitted before it reports about a window the close discarded, so its outcome
  // is recorded nowhere and moves nothing.
  #closes = 0;
  #closedPeriod = 0;
  // The failure that last tripped the circuit OPEN: the `cause` of the refusals that follow, as
  // Polly's BrokenCircuitException carries it, while the circuit stays OPEN (none after).
  #openCause: unknown = undefined;
  // Transitions waiting to reach the listeners: a listener that changes the state (reset() when
  // the circuit opens) must not have its change delivered before the one it is reacting to. Only
  // the first of them is being delivered when there are more.
  #pending: CircuitStateChange[] = [];
  // `halfOpenWait` in ms (0: no call waits), the calls waiting for the verdict (in arrival
  // order), whether a wake is due, and, for a shared store, how
  // many trial calls of the current HALF_OPEN period this breaker runs (their outcomes bring the
  // verdict, so no poll is needed meanwhile).
  readonly #waitMs: number;
  readonly #waiters = new Set<Waiter>();
  #waking = false;
  #ownProbes = 0;
  // When this breaker last saw a trial call admitted, and how long a trial call may go without
  // reporting before the store takes it as lost and gives its slot to a new one: calls waiting
  // then ask again at that moment (a synchronous store: the timer `#recheckTimer`, due at
  // `#recheckAt`; a shared one: the poll, on the same timer), so that they, not a call arriving
  // later, take the slot.
  #probeAt = -Infinity;
  readonly #leaseMs: number;
  #recheckTimer: unknown = undefined;
  #recheckAt = 0;
  // Where timers belong to a request (Cloudflare Workers: see `ownTimers`), each waiting call
  // arms the timers of its wait and of the recheck itself, in its own call, and clears them
  // there: a timer shared by all would die with the request that set it, and a request waiting
  // with no timer of its own would be cancelled as hung.
  readonly #own = ownTimers;
  readonly #wake = (): void => {
    // Already run by a call admitted before this microtask (see `#leaseDue`).
    if (!this.#waking) return;
    this.#waking = false;
    this.#wakeAll();
  };

  /** @internal The clock the breaker (and a stage around it) measures call durations with. */
  get clock(): Clock {
    return this.#clock;
  }

  /** @internal True when `slowCallDuration` is set: only then are call durations measured. */
  get timesCalls(): boolean {
    return this.#timesCalls;
  }

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: CircuitBreakerOptions<R>) {
    const o = optionsObject(options, 'CircuitBreaker', CIRCUIT_BREAKER_OPTIONS);
    const clock = clockOption(o.clock);
    const rate = (key: string): number | undefined =>
      numberOption(o[key], key, (n) => n > 0 && n <= 1, 'in (0, 1]', undefined);
    const failureThreshold = integerOption(o.failureThreshold, 'failureThreshold', 1, 5);
    const recoveryTimeoutMs = durationOption(o.recoveryTimeout, 'recoveryTimeout', 30_000);
    const recoveryBackoff = numberOption(
      o.recoveryBackoff,
      'recoveryBackoff',
      (n) => n >= 1,
      '>= 1',
      1,
    );
    const maxRecoveryTimeoutMs = durationOption(
      o.maxRecoveryTimeout,
      'maxRecoveryTimeout',
      recoveryTimeoutMs,
    );
    if (maxRecoveryTimeoutMs < recoveryTimeoutMs) {
      fail(
        RangeError,
        'maxRecoveryTimeout',
        `a duration >= \`recoveryTimeout\` (${recoveryTimeoutMs}ms)`,
        o.maxRecoveryTimeout,
      );
    }
    // A factor above 1 is valid on its own, but grows nothing until the cap is above a
    // `recoveryTimeout` > 0: until then the breaker runs as with 1 (no growth is kept or shown).
    const grows = recoveryTimeoutMs > 0 && maxRecoveryTimeoutMs > recoveryTimeoutMs;
    const failureRateThreshold = rate('failureRateThreshold');
    const windowType = oneOfOption(o.windowType, 'windowType', ['count', 'time'], 'count');
    const windowSize = integerOption(o.windowSize, 'windowSize', 1, 10);
    const windowDurationMs = positiveDuration(o.windowDuration, 'windowDuration', 60_000);
    const counted = windowType === 'count';
    const minimumCalls = integerOption(
      o.minimumCalls,
      'minimumCalls',
      1,
      counted ? windowSize : 10,
    );
    if (counted && minimumCalls > windowSize) {
      fail(
        RangeError,
        'minimumCalls',
        `an integer <= \`windowSize\` (${windowSize}) for a count window`,
        minimumCalls,
      );
    }
    const slowCallMs = positiveDuration(o.slowCallDuration, 'slowCallDuration', undefined);
    const slowCallRateThreshold = rate('slowCallRateThreshold');
    if (slowCallRateThreshold !== undefined && slowCallMs === undefined) {
      fail(
        TypeError,
        'slowCallRateThreshold',
        'set with `slowCallDuration`',
        slowCallRateThreshold,
        `\`slowCallRateThreshold\` needs \`slowCallDuration\`, which says what a slow call is, got ${show(slowCallRateThreshold)}`,
      );
    }
    // Any finite number below 1 is read as 1 (a fraction too), as the PyFly resilience guide
    // does; from 1 up, anything that is not an integer is still an error, as are NaN and
    // -Infinity.
    const half = checkOption(
      o.halfOpenMaxCalls,
      'halfOpenMaxCalls',
      belowOneOrInteger,
      'an integer',
      1,
      true,
    );
    this.#waitMs = durationOption(o.halfOpenWait, 'halfOpenWait', 0);
    this.#recordOn = errorFilterOption(o.recordOn, 'recordOn');
    this.#recordOnResult = predicateOption<(result: unknown) => boolean>(
      o.recordOnResult,
      'recordOnResult',
    );
    const store =
      storeOption<CircuitBreakerStore>(o.store, 'CircuitBreakerStore', STORE_METHODS, [
        'snapshotKnown',
      ]) ?? new InMemoryCircuitBreakerStore();
    const config: CircuitBreakerStoreConfig = Object.freeze({
      failureThreshold,
      recoveryTimeoutMs,
      recoveryBackoff: grows ? recoveryBackoff : 1,
      maxRecoveryTimeoutMs,
      failureRateThreshold,
      slowCallRateThreshold,
      windowType,
      windowSize,
      windowDurationMs,
      minimumCalls,
      halfOpenMaxCalls: Math.max(1, half),
      clock,
    });
    this.#clock = clock;
    this.#timesCalls = slowCallMs !== undefined;
    this.#slowCallMs = slowCallMs ?? Infinity;
    this.#config = config;
    this.#leaseMs = probeLeaseMs(recoveryTimeoutMs);
    this.#openMs = recoveryTimeoutMs;
    this.#store = store;
    // Checked in full before anything is applied: a bad snapshot leaves nothing behind.
    const initial =
      o.initialState === undefined ? undefined : readCircuitSnapshot(o.initialState, config);
    if (initial !== undefined) {
      storeTakesSnapshot(store, InMemoryCircuitBreakerStore, o.initialState);
    }
    store.configure(config);
    if (initial !== undefined) {
      (store as InMemoryCircuitBreakerStore).load(initial.saved, initial.elapsedMs);
    }
    const state = store.state();
    this.#remote = isThenable(state);
    // A circuit restored HALF_OPEN is in its first HALF_OPEN period (`#observe` numbers it): its
    // probes' tickets must not read as "no probe" (0).
    this.#took(state);
    inspectableClass(CircuitBreaker.prototype, breakerView);
  }

  /**
   * @internal What Node's inspect view shows (`console.log(breaker)`): the live state and counts
   * (`metrics`; with a store that answers asynchronously the last known ones, without asking it
   * again) and the settings in force, every time in ms, those not set left out.
   */
  get inspected(): object {
    const c = this.#config;
    const timed = c.windowType === 'time';
    const grows = c.recoveryBackoff > 1;
    const slowMs = this.#slowCallMs;
    return {
      ...(this.#remote ? this.#lastKnown() : this.metrics),
      failureThreshold: c.failureThreshold,
      ...(c.failureRateThreshold === undefined
        ? {}
        : { failureRateThreshold: c.failureRateThreshold }),
      ...(slowMs === Infinity ? {} : { slowCallDurationMs: slowMs }),
      ...(c.slowCallRateThreshold === undefined
        ? {}
        : { slowCallRateThreshold: c.slowCallRateThreshold }),
      windowType: c.windowType,
      ...(timed ? { windowDurationMs: c.windowDurationMs } : { windowSize: c.windowSize }),
      minimumCalls: c.minimumCalls,
      recoveryTimeoutMs: c.recoveryTimeoutMs,
      ...(grows
        ? { recoveryBackoff: c.recoveryBackoff, maxRecoveryTimeoutMs: c.maxRecoveryTimeoutMs }
        : {}),
      halfOpenMaxCalls: c.halfOpenMaxCalls,
      halfOpenWaitMs: this.#waitMs,
    };
  }

  /**
   * The current state. Reading it performs the lazy OPEN -> HALF_OPEN move once
   * `recoveryTimeout` has passed. With a store that answers asynchronously this is the last
   * known state, and reading it asks the store for a fresh one.
   */
  get state(): CircuitState {
    return this.#took(this.#store.state());
  }

  /**
   * @internal At rest for a `Keyed` holder, with no call waiting: CLOSED, or HALF_OPEN for at
   * least `idleMs` (the holder's `idleTimeout`) since this breaker saw it so (a circuit nobody
   * calls is seen HALF_OPEN when the holder first asks after its open time). Not OPEN, ISOLATED,
   * nor HALF_OPEN more recently: a new breaker would let every call through instead of its trial
   * calls, and forget an open time grown by `recoveryBackoff`. Probes of policy calls are counted
   * by the holder.
   */
  'bulwark.atRest'(idleMs = 0): boolean {
    const state = this.state;
    return (
      this.#waiters.size === 0 &&
      (state === 'closed' ||
        (state === 'half-open' && this.#clock.now() - this.#halfOpenSince >= idleMs))
    );
  }

  /**
   * @internal In use for a `Keyed` holder, which then never drops it: a call waits for the
   * verdict, or the circuit is ISOLATED (as last seen: the holder asks `'bulwark.atRest'` first).
   */
  'bulwark.inUse'(): boolean {
    return this.#waiters.size !== 0 || this.#lastState === 'isolated';
  }

  /**
   * The state and the counts over the current window (the last `windowSize` outcomes or the
   * last `windowDuration`), kept in consecutive mode too; rates are 0 when the window is empty.
   * Every recorded call counts, also a trial call and one that reports after the circuit opened
   * (which moves nothing); a close and `reset()` start an empty window, which the calls admitted
   * before them never enter while the circuit stays CLOSED (one that reports after a later trip
   * is counted as any late call).
   * With a store that answers asynchronously these are the last known figures (with `state`
   * as the breaker's `state` reads it), and reading them asks the store for fresh ones; a store
   * with `snapshotKnown` (`RedisCircuitBreakerStore`) also brings the counts with the answer to
   * every recorded outcome, so they follow the window across a trip as in memory.
   */
  get metrics(): CircuitBreakerMetrics {
    const snapshot = this.#store.snapshot();
    if (isThenable(snapshot)) {
      snapshot.then(
        this.#unlessSuperseded((m: CircuitBreakerMetrics) => {
          this.#lastMetrics = m;
          this.#learnState(m.state);
        }),
        noop,
      );
      return this.#lastKnown();
    }
    this.#observe(snapshot.state);
    return snapshot;
  }

  // With a store that answers asynchronously: the last metrics known, asking nothing.
  #lastKnown(): CircuitBreakerMetrics {
    const known = this.#store.snapshotKnown?.() ?? this.#lastMetrics;
    const state = this.#lastState;
    if (known === undefined) return metricsOf(state, 0, 0, 0);
    // The state as `state` reads it: the last this breaker knows, maybe newer than the counts.
    return known.state === state ? known : { ...known, state };
  }

  /**
   * A snapshot of the circuit as plain JSON data, for `initialState` of a breaker in another
   * process or a later invocation: the state, the consecutive failures, the window, and the open
   * time, with every time relative to `takenAt` (the wall-clock instant, from the system's clock). Probes
   * in flight are not part of it. `JSON.stringify(breaker)` calls it.
   *
   * @throws TypeError when the breaker has a shared store, any but the in-memory one (a shared
   * store keeps its state itself); an in-memory store passed as `store` gives snapshots
   * @example
   * ```ts
   * const saved = JSON.stringify(breaker);
   * // later, perhaps in another process:
   * const initialState = JSON.parse(saved) as CircuitBreakerSnapshot; // checked by the constructor
   * const restored = new CircuitBreaker({ recoveryTimeout: '30s', initialState });
   * ```
   */
  toJSON(): CircuitBreakerSnapshot {
    const store = this.#store;
    storeGivesSnapshot(store, InMemoryCircuitBreakerStore, 'CircuitBreaker');
    const saved = store.save();
    this.#observe(saved.state);
    return {
      format: 'bulwark.circuit-breaker',
      version: SNAPSHOT_VERSION,
      takenAt: wallNow(),
      ...saved,
    };
  }

  /**
   * Runs `fn` if the circuit admits the call, and records how it went. `fn` receives `signal`
   * (or a signal that never aborts). Errors from `fn` are rethrown unchanged.
   *
   * When `signal` aborts, the returned promise rejects at once with its reason; the call keeps
   * its HALF_OPEN trial slot until `fn` settles, and then records nothing.
   *
   * With `halfOpenWait`, a call that finds HALF_OPEN with every trial slot taken waits for the
   * verdict (see the option); its signal aborting ends the wait at once.
   *
   * @throws CircuitOpenError (as a rejection) when the circuit is OPEN, ISOLATED, or HALF_OPEN
   * with every trial slot taken (after `halfOpenWait`, when set)
   */
  // `T extends R`: `fn` resolves to the results `recordOnResult` judges.
  // The work's whole type (see `SignalWork`); `J`, the receiver's `R` read from `this` (or a
  // result type given as a type argument): the result names no `R` of the class's own, which
  // would make it no longer `in`. One signature, so that a union of these can be called.
  execute<J extends R = R, Fn extends SignalWork<J> = SignalWork<J>>(
    this: CircuitBreaker<J>,
    fn: Fn,
    signal?: AbortSignal,
  ): Promise<Resolved<ReturnType<Fn>, J>>;
  execute<T extends R>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (!(this instanceof CircuitBreaker))
      return Promise.reject(unboundError('execute', 'CircuitBreaker', this));
    const refused = refusedCall(fn, signal);
    if (refused !== undefined) return refused;
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    let ticket: number | Promise<number> | CircuitOpenError;
    try {
      ticket = this.tryAdmit();
    } catch (error) {
      // A custom store that throws: the caller gets a rejection, not a throw.
      return Promise.reject(error);
    }
    // A plain admission (CLOSED, or a trial slot, from a synchronous store) runs at once.
    if (typeof ticket === 'number') return raceAbort(this.#run(fn, signal, ticket), signal);
    let wait: Promise<number> | undefined;
    if (ticket instanceof CircuitOpenError) {
      wait = this.waitVerdict(ticket, signal);
      if (wait === undefined) {
        // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
        return rejectedSoon(stampStack(ticket, CircuitBreaker.prototype.execute));
      }
    }
    // A call admitted after its turn: run unless its caller gave up meanwhile.
    const run = (t: number): Promise<T> => {
      if (this.handBack(t, signal?.aborted === true)) throw (signal as AbortSignal).reason;
      return this.#run(fn, signal, t);
    };
    return raceAbort(
      wait !== undefined
        ? wait.then(run)
        : (ticket as Promise<number>).then(run, (error: unknown) => {
            const later = this.waitVerdict(error, signal);
            if (later === undefined) throw error;
            return later.then(run);
          }),
      signal,
    );
  }

  /**
   * @internal A ticket that came after the call's turn (a shared store's answer, or the verdict a
   * call waited for): when the caller gave up meanwhile (`gone`), gives it back, recording
   * nothing, and answers true; the call then ends with the abort's reason.
   */
  handBack(ticket: number, gone: boolean): boolean {
    if (gone) this.#release(ticket);
    return gone;
  }

  /**
   * @internal With `halfOpenWait`, turns the refusal of a call by a HALF_OPEN circuit whose trial
   * slots are all taken into a wait for the trial calls' verdict: a promise of the call's ticket
   * when the circuit admits it, rejecting with a {@link CircuitOpenError} when it refuses it or
   * the wait runs out, and with the signal's reason when `signal` aborts. The wait lasts
   * `halfOpenWait`, or `limitMs` when shorter. `undefined` when the call does not wait: another
   * refusal, no `halfOpenWait`, no time left, or too many waiting already.
   */
  waitVerdict(
    refusal: unknown,
    signal: AbortSignal | undefined,
    limitMs = Infinity,
  ): Promise<number> | undefined {
    const waitMs = Math.min(this.#waitMs, limitMs);
    if (
      !(waitMs > 0) ||
      !(refusal instanceof CircuitOpenError) ||
      refusal.state !== 'half-open' ||
      this.#waiters.size >= MAX_HALF_OPEN_WAITING
    ) {
      return undefined;
    }
    const listened = abortable(signal);
    if (listened?.aborted) return Promise.reject(listened.reason);
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal: listened,
        onAbort: () => this.#answer(waiter, false, (listened as AbortSignal).reason),
        timer: undefined,
        n: 0,
      };
      // A wait cut short by the deadline ends with the deadline's signal, which reports the
      // timeout; otherwise a timer ends it, rounded up so that it never fires before the wait is
      // over (timers truncate fractions).
      if (waitMs === this.#waitMs || listened === undefined) {
        waiter.timer = this.#clock.setTimeout(
          () => this.#answer(waiter, false, this.#refusal('half-open', 0, undefined)),
          Math.ceil(waitMs),
        );
      }
      if (listened !== undefined) listenAbort(listened, waiter.onAbort);
      this.#waiters.add(waiter);
      this.#recheckLater();
      if (this.#own) this.#ownRecheck(waiter);
    });
  }

  /**
   * With timers of their own: arms the waiting call's timer for the recheck (`#recheckAt`), in
   * its own call, set again for the next one as long as it waits; the first to fire for a given
   * moment runs the recheck. Its timers (this one and its wait's) are cleared in its own call,
   * once it is answered: another request's `clearTimeout` would take the handles for its own.
   */
  #ownRecheck(waiter: Waiter): void {
    let handle: unknown;
    const arm = (): void => {
      handle = this.#clock.setTimeout(
        fire,
        Math.max(0, Math.ceil(this.#recheckAt - this.#clock.now())),
      );
    };
    const fire = (): void => {
      handle = undefined;
      if (waiter.n & ANSWERED) return;
      if (this.#recheckTimer === undefined) this.#recheckLater();
      else if (this.#clock.now() >= this.#recheckAt) this.#recheck();
      if (!(waiter.n & ANSWERED)) arm();
    };
    arm();
    const clear = (): void => {
      if (handle !== undefined) this.#clock.clearTimeout(handle);
      if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
    };
    // (`resolve` and `reject` are the promise's own: a reaction on a promise made from them.)
    void new Promise<void>((resolve) => {
      waiter.cleared = resolve;
    }).then(clear);
  }

  /**
   * @internal Admits a call exactly: like `beforeCall`, but with a store that answers
   * asynchronously it returns a promise of the ticket (or a rejection with
   * {@link CircuitOpenError}) instead of deciding on the last known state. With the in-memory
   * store it answers synchronously and allocates nothing; a refusal is then returned, not
   * thrown, and without frames: the caller gives it its stack with `stampStack`, from the frame
   * that called bulwark.
   * @throws what a custom store throws
   */
  tryAdmit(): number | Promise<number> | CircuitOpenError {
    // Stryker disable next-line ConditionalExpression,LogicalOperator: a fast path; #leaseDue looks at both again
    if (this.#waking || this.#recheckTimer !== undefined) this.#leaseDue();
    const answer = this.#store.acquire();
    // The usual call: a CLOSED circuit that this breaker knew CLOSED admits it, without a probe.
    // Stryker disable next-line ConditionalExpression,LogicalOperator,BlockStatement: a fast path; the general one gives the same ticket
    if (answer === ADMIT_CLOSED && this.#lastState === 'closed') {
      return CLOSED_TICKETS - this.#closes;
    }
    const admission = this.#tookAdmission(answer);
    return isThenable(admission)
      ? admission.then((a) => {
          const ticket = this.#ticket(a, undefined);
          if (typeof ticket !== 'number') throw ticket;
          return ticket;
        })
      : this.#ticket(admission, null);
  }

  /**
   * Admits a call or throws: the first half of recording a call by hand, which must be followed
   * by `onSuccess` or `onFailure`. In HALF_OPEN an admitted call takes a trial slot.
   *
   * With a store that answers asynchronously this decides on the last known state: it throws
   * while that is OPEN or ISOLATED (and asks the store for a fresh state); otherwise it admits
   * the call at once and asks the store, whose answer, when it comes, only updates the last known
   * state. Use `execute` for an exact decision with such a store.
   *
   * @returns a ticket to pass to `onSuccess` and `onFailure` (and the internal `onCancel`), so
   * that only a call holding a trial slot of the current HALF_OPEN period gives one back or
   * decides HALF_OPEN, and a call admitted before the circuit last closed moves nothing
   * @throws CircuitOpenError when the circuit is OPEN, ISOLATED, or HALF_OPEN with every trial
   * slot taken
   */
  beforeCall(): number {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- a stack frame marker, never called
    const boundary = CircuitBreaker.prototype.beforeCall;
    const known = this.#known(boundary);
    if (known) {
      this.#learn(this.#store.state());
      throw known;
    }
    this.#leaseDue();
    const admission = this.#acquire();
    if (isThenable(admission)) {
      background(admission);
      return UNKNOWN_TICKET;
    }
    const ticket = this.#ticket(admission, boundary);
    if (typeof ticket !== 'number') throw ticket;
    return ticket;
  }

  /**
   * Records a successful call admitted by `beforeCall`.
   * @param durationMs - how long it took, a finite number >= 0 (default 0); with
   * `slowCallDuration` set, a call at least that long is slow
   * @param ticket - what `beforeCall` returned for this call; with it, the success of a call that
   * holds no trial slot of the current HALF_OPEN period does not count towards closing the
   * circuit. Without it, a success during HALF_OPEN is taken as a trial call's.
   * @throws TypeError for a `durationMs` that is not a number, RangeError for a negative, NaN or
   * infinite one (nothing is recorded)
   */
  onSuccess(durationMs?: number, ticket = UNKNOWN_TICKET): void {
    this.stepSucceeded(measured(durationMs), ticket);
  }

  /** @internal `onSuccess` for a policy's breaker step, which measures the duration itself. */
  stepSucceeded(durationMs = 0, ticket = UNKNOWN_TICKET): void {
    this.#dueMove();
    this.#record(false, durationMs >= this.#slowCallMs, ticket);
  }

  /**
   * Records a failed call admitted by `beforeCall`. An error that `recordOn` does not match is
   * not recorded (it only gives back a HALF_OPEN trial slot).
   * @throws what `recordOn` threw, or a TypeError naming it when it answered with a promise (the
   * error is recorded as a failure either way)
   * @throws TypeError for a `durationMs` that is not a number, RangeError for a negative, NaN or
   * infinite one (nothing is recorded)
   * @param durationMs - how long it took, a finite number >= 0 (default 0); with
   * `slowCallDuration` set, a call at least that long is slow
   * @param ticket - what `beforeCall` returned for this call; without it, an unrecorded error
   * gives back a trial slot whenever the circuit is HALF_OPEN, and a recorded one during
   * HALF_OPEN is taken as a trial call's
   */
  onFailure(error: unknown, durationMs?: number, ticket = UNKNOWN_TICKET): void {
    this.stepFailed(error, measured(durationMs), ticket);
  }

  /** @internal `onFailure` for a policy's breaker step, which measures the duration itself. */
  stepFailed(error: unknown, durationMs = 0, ticket = UNKNOWN_TICKET): void {
    this.#dueMove();
    this.#failed(error, durationMs, ticket);
  }

  /**
   * @internal Ends a call admitted by `beforeCall` whose caller aborted: records nothing, gives
   * back its HALF_OPEN trial slot if it holds one (see `ticket` in `onFailure`).
   */
  onCancel(ticket = UNKNOWN_TICKET): void {
    this.#release(ticket);
  }

  /**
   * Forces the circuit OPEN until {@link CircuitBreaker.reset}: `state` reads `'isolated'` and
   * every call is refused with `retryAfterMs` `Infinity`. An OPEN circuit whose open time has
   * passed moves to HALF_OPEN first, as a read of `state` would move it. With an asynchronous store the change
   * is sent in the background and this breaker reflects it at once; answers to what it asked the
   * store before (a state read, a record, an admission) no longer move its state.
   */
  isolate(): void {
    this.#dueMove();
    this.#epoch++;
    background(this.#store.isolate());
    this.#observe('isolated');
  }

  /**
   * Returns the circuit to CLOSED, clearing the window and every count (also ends isolation). An
   * OPEN circuit whose open time has passed moves to HALF_OPEN first, as a read of `state` would
   * move it.
   * With an asynchronous store the change is sent in the background and this breaker reflects
   * it at once; answers to what it asked the store before no longer move its state.
   */
  reset(): void {
    this.#dueMove();
    this.#epoch++;
    background(this.#store.reset());
    this.#lastMetrics = undefined;
    // A reset of a CLOSED circuit empties its window too: calls admitted before it move nothing.
    if (this.#lastState === 'closed') this.#newClosedPeriod();
    this.#observe('closed');
  }

  /**
   * Calls `listener({ from, to })` on every state change, including the lazy OPEN -> HALF_OPEN
   * move, `isolate()` and `reset()`. Every listener receives every change, in order: a change
   * made by a listener (say `reset()` when the circuit opens) reaches the listeners after the
   * one it reacts to has reached them all. A listener that throws, or returns a promise that
   * rejects, is ignored.
   * @returns a function that removes the listener
   */
  onStateChange(listener: CircuitStateListener): () => void {
    return listen(listener, (change) => (this.#listeners = change(this.#listeners)));
  }

  /**
   * A one-line summary of the settings, as `policy.describe()` shows it, e.g.
   * `opens after 5 consecutive failures, recovery 30000 ms, 1 half-open call, on all errors`.
   */
  describe(): string {
    const c = this.#config;
    const rate = c.failureRateThreshold;
    const slowRate = c.slowCallRateThreshold;
    const over = ` over ${c.windowType === 'count' ? `the last ${c.windowSize} calls` : `${c.windowDurationMs} ms`}`;
    let text =
      rate === undefined
        ? `opens after ${plural(c.failureThreshold, 'consecutive failure')}`
        : `opens at ${percent(rate)} failures${over}`;
    if (slowRate !== undefined) {
      text += `${rate === undefined ? ',' : ''} or ${percent(slowRate)} calls >= ${this.#slowCallMs} ms${over} (minimum ${c.minimumCalls} calls)`;
    } else if (rate !== undefined) text += ` (minimum ${c.minimumCalls} calls)`;
    const growth =
      c.recoveryBackoff > 1 ? ` x${c.recoveryBackoff} up to ${c.maxRecoveryTimeoutMs} ms` : '';
    return `${text}, recovery ${c.recoveryTimeoutMs} ms${growth}, ${plural(c.halfOpenMaxCalls, 'half-open call')}, on ${matchesAll(this.#recordOn) ? 'all' : 'matching'} errors${this.judgesResults ? ' and matching results' : ''}${this.#waitMs > 0 ? `, half-open wait ${this.#waitMs} ms` : ''}`;
  }

  async #run<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
    ticket: number,
  ): Promise<T> {
    const start = this.#timesCalls ? this.#clock.now() : 0;
    let failed = false;
    let result: unknown;
    try {
      result = await fn(signal ?? NEVER_ABORTED);
    } catch (error) {
      failed = true;
      result = error;
    }
    if (signal?.aborted) this.#release(ticket);
    else {
      const ms = this.#timesCalls ? this.#clock.now() - start : 0;
      if (failed) this.#failed(result, ms, ticket);
      // Throws what a throwing recordOnResult threw.
      else this.resultRule(result, ms, ticket);
    }
    if (failed) throw result;
    return result as T;
  }

  /**
   * @internal Judges a call's result by `recordOnResult` and records it: a success, or a failure
   * when the predicate says so. What the predicate throws is recorded as a failure and thrown.
   */
  resultRule(result: unknown, durationMs = 0, ticket = UNKNOWN_TICKET): void {
    const judge = this.#recordOnResult;
    let failed = false;
    if (judge !== undefined) {
      try {
        failed = judge(result);
      } catch (error) {
        this.#recordFailure(error, durationMs, ticket);
        throw error;
      }
    }
    const slow = durationMs >= this.#slowCallMs;
    // A trip by a failed result makes the refusals' cause from it then, not for every such result.
    if (failed) this.#record(true, slow, ticket, result, true);
    else this.#record(false, slow, ticket);
  }

  /**
   * @internal True when a fused policy may run this breaker: the in-memory store (synchronous
   * answers), no slow-call timing and no `halfOpenWait`.
   */
  get fusable(): boolean {
    return (
      Object.getPrototypeOf(this.#store) === InMemoryCircuitBreakerStore.prototype &&
      !this.#timesCalls &&
      this.#waitMs === 0
    );
  }

  /** @internal True when `recordOnResult` is set: results are judged. */
  get judgesResults(): boolean {
    return this.#recordOnResult !== undefined;
  }

  #failed(error: unknown, durationMs: number, ticket: number): void {
    let counts: boolean;
    try {
      counts = this.#recordOn(error);
    } catch (thrown) {
      // A recordOn predicate that throws (or answers with a promise) cannot say no: the error is
      // counted, and the call fails with what it threw, as with every other predicate.
      this.#recordFailure(error, durationMs, ticket);
      throw thrown;
    }
    if (counts) this.#recordFailure(error, durationMs, ticket);
    else this.#release(ticket);
  }

  // Records a failure; `error` becomes the cause of refusals if it trips.
  #recordFailure(error: unknown, durationMs: number, ticket: number): void {
    this.#record(true, durationMs >= this.#slowCallMs, ticket, error);
  }

  /**
   * Asks the store to admit a call: its answer as the circuit stands once the state it reports
   * is taken in (see `#current`), at once from a synchronous store, or as a promise from a shared
   * one.
   * @throws what a custom store throws
   */
  #acquire(): CircuitAdmission | Promise<CircuitAdmission> {
    return this.#tookAdmission(this.#store.acquire());
  }

  /** The store's answer to `acquire`, as `#acquire` gives it. */
  #tookAdmission(
    admission: CircuitAdmission | Promise<CircuitAdmission>,
  ): CircuitAdmission | Promise<CircuitAdmission> {
    if (!isThenable(admission)) {
      // Stryker disable next-line ConditionalExpression: a fast path; #observe ignores the state it already has
      if (admission.state !== this.#lastState) this.#observe(admission.state);
      return this.#current(admission);
    }
    this.#remote = true;
    const epoch = this.#epoch;
    return admission.then((a) => {
      // As `#unlessSuperseded`, without a second closure per call.
      if (epoch === this.#epoch) this.#learnAdmission(a);
      return this.#current(a);
    });
  }

  /**
   * With a shared store whose last known state is OPEN or ISOLATED, the refusal of a call (the
   * verdict is known: no need to ask the store for a refusal it would only confirm); else
   * undefined.
   */
  #known(
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the caller's entry point, any function
    boundary: Function | undefined,
  ): CircuitOpenError | undefined {
    const last = this.#lastState;
    return this.#remote && (last === 'open' || last === 'isolated')
      ? this.#refusal(
          last,
          last === 'open' ? Math.max(0, this.#openUntil - this.#clock.now()) : Infinity,
          boundary,
        )
      : undefined;
  }

  /**
   * `admission` as the circuit stands once the listeners told of its state have run: refused as
   * ISOLATED when one of them isolated the circuit (`isolate()` from `onStateChange`, on the
   * move to HALF_OPEN that this very call brought). A probe slot the store gave it needs no
   * giving back: isolation ends only with `reset()`, which clears them all.
   */
  #current(admission: CircuitAdmission): CircuitAdmission {
    return this.#lastState === 'isolated' ? REFUSE_ISOLATED : admission;
  }

  /** The admitted call's ticket, or the refusal (its stack as `refusalFrom` makes it). */
  #ticket(
    admission: CircuitAdmission,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the caller's entry point, any function
    boundary: Function | null | undefined,
  ): number | CircuitOpenError {
    if (!admission.admitted)
      return this.#refusal(admission.state, admission.retryAfterMs, boundary);
    if (!admission.probe) return CLOSED_TICKETS - this.#closes;
    // The store took back the slots of probes that never reported: they are lost, so their
    // tickets must no longer free a slot nor decide HALF_OPEN when they report after all.
    if (admission.reclaimed === true) this.#newPeriod();
    // Read only for calls waiting for the verdict: no clock read without `halfOpenWait`.
    if (this.#waitMs > 0) {
      this.#ownProbes++;
      this.#probeAt = this.#clock.now();
    }
    return this.#period;
  }

  #refusal(
    state: CircuitState,
    retryAfterMs: number,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the caller's entry point, any function
    boundary: Function | null | undefined,
  ): CircuitOpenError {
    const cause = state === 'open' ? this.#openCause : undefined;
    // An undefined cause gives the error no `cause` at all.
    return refusalFrom(
      () => new CircuitOpenError(state as Exclude<CircuitState, 'closed'>, retryAfterMs, { cause }),
      boundary,
    );
  }

  /**
   * True when the call `ticket` names may be a probe of the current HALF_OPEN period (`current`:
   * while it lasts), the only calls that decide HALF_OPEN or hold a trial slot; a call whose
   * ticket is not known (an asynchronous store, or no ticket given) may be one. A trial call of
   * this breaker's own that reports is no longer counted as running.
   */
  #probe(ticket: number, current = true): boolean {
    const probe = ticket === UNKNOWN_TICKET || (ticket > 0 && ticket === this.#period && current);
    if (ticket > 0 && probe && this.#ownProbes > 0) this.#ownProbes--;
    return probe;
  }

  /**
   * True when the call `ticket` names was admitted before the circuit last closed (a CLOSED call
   * of an earlier period, or a trial call of the HALF_OPEN period that closed or of one before):
   * it holds no trial slot and its outcome moves nothing; it is recorded only while the circuit
   * is not CLOSED, marked `stale`.
   */
  #stale(ticket: number): boolean {
    if (ticket > 0) return ticket <= this.#closedPeriod;
    return ticket !== UNKNOWN_TICKET && ticket !== CLOSED_TICKETS - this.#closes;
  }

  // Records an outcome; a failure's `cause` (the result itself when `ofResult`) is the cause of
  // the refusals if it trips the circuit.
  #record(
    failure: boolean,
    slow: boolean,
    ticket: number,
    cause?: unknown,
    ofResult?: boolean,
  ): void {
    let kind: number;
    if (this.#stale(ticket)) {
      // Admitted before the circuit last closed: while CLOSED it belongs to no window; while not,
      // it is counted as any outcome that reports then, and the next close empties that window.
      // The store drops it too if the circuit closed meanwhile (a shared store).
      if (this.#lastState === 'closed') return;
      kind = STALE;
      // Not the failure that trips: a stale outcome moves nothing.
      cause = undefined;
    } else kind = this.#probe(ticket) ? 0 : NO_PROBE;
    const outcome = OUTCOMES[(failure ? 1 : 0) | (slow ? 2 : 0) | kind] as CircuitOutcome;
    let state: CircuitState | Promise<CircuitState>;
    try {
      state = this.#store.record(outcome);
    } catch {
      // A custom store that throws: as when it rejects, the outcome is lost to the store, and
      // the call's own outcome stands.
      return;
    }
    // The usual outcome moves nothing: the state this breaker knew, as a string, not a promise.
    // Stryker disable next-line ConditionalExpression: a fast path; #took observes no change in the state it has
    if (state !== this.#lastState) this.#took(state, cause, ofResult);
  }

  #release(ticket: number): void {
    if (this.#stale(ticket)) return;
    if (this.#probe(ticket, this.#lastState === 'half-open')) {
      let released: void | Promise<void>;
      try {
        released = this.#store.release();
      } catch {
        // A custom store that throws: the slot is the store's to recover, and waiting calls ask
        // again, as when it rejects.
        if (this.#waiters.size !== 0) this.#scheduleWake();
        return;
      }
      if (this.#waiters.size === 0) background(released);
      // A slot given back unrecorded: the first waiting call may take it as a trial call.
      else if (isThenable(released)) released.then(this.#soon, this.#soon);
      else this.#scheduleWake();
    }
  }

  // Calls waiting for the verdict in HALF_OPEN (`halfOpenWait`): each asks the store again when
  // the circuit leaves HALF_OPEN or a trial slot is given back, in a later microtask (never
  // inside the call that brought the change), in arrival order.

  #scheduleWake(): void {
    if (this.#waking || this.#waiters.size === 0) return;
    this.#waking = true;
    void RESOLVED.then(this.#wake);
  }

  readonly #soon = (): void => this.#scheduleWake();

  #wakeAll(): void {
    for (const waiter of [...this.#waiters]) {
      const known = this.#known(undefined);
      // The verdict is known (re-opened or isolated, as `beforeCall` refuses it): the call is
      // refused.
      if (known) this.#answer(waiter, false, known);
      // A synchronous store that still refuses in HALF_OPEN refuses the others too.
      else if (!waiter.n && !this.#ask(waiter)) return;
    }
  }

  /**
   * Asks the store to admit a waiting call; false when it still refuses it in HALF_OPEN (the
   * call waits on), true when the call was answered or a shared store's answer is awaited.
   */
  #ask(waiter: Waiter): boolean {
    let admission: CircuitAdmission | Promise<CircuitAdmission>;
    try {
      admission = this.#acquire();
    } catch (error) {
      this.#storeFailed(waiter, error);
      return true;
    }
    if (!isThenable(admission)) return this.#decide(waiter, admission);
    waiter.n = ASKING;
    admission.then(
      (current) => {
        waiter.n &= ANSWERED;
        // Decided (closed, re-opened or isolated): the others ask too; a trial slot taken here
        // says nothing of the verdict, and the poll goes on.
        if (this.#decide(waiter, current) && current.state !== 'half-open') this.#scheduleWake();
      },
      (error: unknown) => {
        waiter.n &= ANSWERED;
        this.#storeFailed(waiter, error);
      },
    );
    return true;
  }

  /**
   * The store failed to answer a waiting call's admission (a shared store's outage, under
   * `onStoreError: 'fail-closed'`): the call fails with its error, and the other waiting calls
   * ask at once rather than one per poll, so that each hears of the outage now, not after the
   * wait (which would pass the outage off as a verdict still to come).
   */
  #storeFailed(waiter: Waiter, error: unknown): void {
    this.#answer(waiter, false, error);
    this.#scheduleWake();
  }

  /** Answers a waiting call by the store's admission; false when it still waits. */
  #decide(waiter: Waiter, admission: CircuitAdmission): boolean {
    if (!admission.admitted && admission.state === 'half-open') return false;
    const ticket = this.#ticket(admission, undefined);
    // Admitted for a call that stopped waiting meanwhile: a trial slot goes back.
    if (waiter.n & ANSWERED && typeof ticket === 'number') this.#release(ticket);
    else this.#answer(waiter, typeof ticket === 'number', ticket);
    return true;
  }

  /** Ends a call's wait: admitted with `value` as its ticket, or rejected with it. */
  #answer(waiter: Waiter, admitted: boolean, value: unknown): void {
    if (waiter.n & ANSWERED) return;
    waiter.n = ANSWERED;
    this.#waiters.delete(waiter);
    if (waiter.cleared !== undefined) waiter.cleared();
    else if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
    if (waiter.signal !== undefined) unlistenAbort(waiter.signal, waiter.onAbort);
    // The recheck timer ends with the last waiting call.
    if (this.#waiters.size === 0 && this.#recheckTimer !== undefined) {
      if (!this.#own) this.#clock.clearTimeout(this.#recheckTimer);
      this.#recheckTimer = undefined;
    }
    if (admitted) waiter.resolve(value as number);
    else waiter.reject(value);
  }

  /**
   * While calls wait, a timer to ask the store again. With a shared store, whose verdict may come
   * from another process: every `halfOpenWait / 4` (10 to 250 ms) for the first of them, unless
   * this breaker runs a trial call of its own, whose outcome brings the verdict. With a
   * synchronous store: at the moment the trial calls last admitted here are taken as lost, when
   * every waiting call asks again and the first of them take the slots the store takes back. A
   * call still refused then (the slots went to trial calls admitted later, through another
   * breaker on the same store) waits one more lease.
   */
  #recheckLater(): void {
    if (this.#recheckTimer !== undefined || this.#waiters.size === 0) return;
    const now = this.#clock.now();
    let wait = this.#remote
      ? Math.min(250, Math.max(10, this.#waitMs / 4))
      : this.#probeAt + this.#leaseMs - now;
    if (!(wait > 0)) wait = this.#leaseMs;
    this.#recheckAt = now + wait;
    // (With timers of their own, each waiting call's serves: see `#ownRecheck`.)
    this.#recheckTimer = this.#own
      ? OWN_RECHECK
      : this.#clock.setTimeout(this.#recheck, Math.ceil(wait));
  }

  readonly #recheck = (): void => {
    this.#recheckTimer = undefined;
    if (!this.#remote) this.#wakeAll();
    // This breaker's own trial call brings the verdict, unless it has gone so long without
    // reporting that the store takes it as lost and gives its slot to the next call.
    else if (this.#ownProbes === 0 || this.#clock.now() >= this.#probeAt + this.#leaseMs) {
      for (const waiter of this.#waiters) {
        if (!waiter.n) {
          this.#ask(waiter);
          break;
        }
      }
    }
    this.#recheckLater();
  };

  /**
   * A call arriving once a trial slot was given back unrecorded, before the waiting calls' wake
   * has run, or once the trial calls are lost, before the timer has fired (a late timer): the
   * waiting calls take the slots first, in arrival order.
   */
  #leaseDue(): void {
    if (this.#waking) this.#wake();
    if (!this.#remote && this.#recheckTimer !== undefined && this.#clock.now() >= this.#recheckAt) {
      if (!this.#own) this.#clock.clearTimeout(this.#recheckTimer);
      this.#recheck();
    }
  }

  // A state the store answered: observed now (a move to OPEN by `cause`, a result when
  // `ofResult`), or learnt when the promise settles.
  #took(
    state: CircuitState | Promise<CircuitState>,
    cause?: unknown,
    ofResult?: boolean,
  ): CircuitState {
    if (isThenable(state)) this.#learn(state);
    else this.#observe(state, cause, ofResult);
    // A listener told of the change may have moved the circuit again (isolate() from a listener).
    return this.#lastState;
  }

  /**
   * The lazy OPEN -> HALF_OPEN move, made now when it is due, before a change that starts from the
   * present state (`reset()`, `isolate()`, an outcome reported by hand): the listeners then see
   * `open > half-open` first whether or not anything read `state` before. With a store that
   * answers asynchronously the move is the store's, known only from its answers: nothing here.
   */
  #dueMove(): void {
    if (this.#lastState !== 'open' || this.#remote) return;
    let state: CircuitState | Promise<CircuitState>;
    try {
      state = this.#store.state();
    } catch {
      // A custom store that throws: the change goes on from the state last known.
      return;
    }
    this.#took(state);
  }

  // A state the store answered, learnt now or when the promise settles.
  #learn(state: CircuitState | PromiseLike<CircuitState>): void {
    if (isThenable(state)) {
      state.then(
        this.#unlessSuperseded((s: CircuitState) => this.#learnState(s)),
        noop,
      );
    } else this.#learnState(state);
  }

  /**
   * `take`, for a shared store's answer to what this breaker asks it now: run when the answer
   * comes, unless an `isolate()` or `reset()` of this breaker came first. Such an answer
   * describes the circuit before that change and arrives after it: it must not move the state
   * back (nor bring listeners a change that never was).
   */
  #unlessSuperseded<T>(take: (answer: T) => void): (answer: T) => void {
    const epoch = this.#epoch;
    return (answer) => {
      if (epoch === this.#epoch) take(answer);
    };
  }

  #learnAdmission(admission: CircuitAdmission): void {
    // The state first: hearing of OPEN assumes a whole open period, which the store's own time
    // left, when it gave one, then replaces.
    this.#learnState(admission.state);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: #openUntil is read only while the last known state is OPEN, and every move to OPEN sets it afresh
    if (!admission.admitted && admission.state === 'open') {
      this.#openUntil = this.#clock.now() + admission.retryAfterMs;
    }
  }

  #learnState(state: CircuitState): void {
    const last = this.#lastState;
    if (state === last) return;
    if (state === 'open') {
      // The same growth rule as the store's: a re-open from HALF_OPEN lasts longer, and a trip
      // from any other state (after a close) lasts recoveryTimeout.
      this.#openMs =
        last === 'half-open' ? grown(this.#openMs, this.#config) : this.#config.recoveryTimeoutMs;
      this.#openUntil = this.#clock.now() + this.#openMs;
    }
    this.#observe(state);
  }

  // A new HALF_OPEN period: the tickets of earlier probes no longer count as probes', and none of
  // this breaker's own trial calls runs in it yet.
  #newPeriod(): void {
    this.#halfOpenSince = this.#clock.now();
    this.#period++;
    this.#ownProbes = 0;
  }

  // A close (or reset()): calls admitted until now report about a window that is gone.
  #newClosedPeriod(): void {
    this.#closes++;
    this.#closedPeriod = this.#period;
  }

  #observe(to: CircuitState, cause?: unknown, ofResult = false): void {
    const from = this.#lastState;
    if (to === from) return;
    this.#lastState = to;
    if (to === 'closed') this.#newClosedPeriod();
    // The verdict of HALF_OPEN: calls waiting for it ask again.
    if (from === 'half-open' && this.#waiters.size !== 0) this.#scheduleWake();
    // Undefined unless a failure recorded here tripped it (not a slow success, nor another process),
    // and dropped as the circuit leaves OPEN: only OPEN refusals carry it, and a large error (one
    // holding a response body) must not stay reachable for the breaker's whole life.
    this.#openCause =
      to === 'open' ? settledStack(ofResult ? resultTripped(cause) : cause) : undefined;
    if (to === 'half-open') this.#newPeriod();
    if (this.#listeners.length === 0) return;
    const pending = this.#pending;
    // A listener changed the state: its change follows once this one has reached everyone.
    if (pending.push(Object.freeze({ from, to })) > 1) return;
    try {
      for (let i = 0; i < pending.length; i++) {
        for (const listener of this.#listeners) {
          // A faulty listener must not break the call, the other listeners, or the process.
          notify(listener, pending[i] as CircuitStateChange);
        }
      }
    } finally {
      this.#pending = [];
    }
  }
}

const STATES: readonly unknown[] = ['closed', 'open', 'half-open', 'isolated'];

/**
 * Checks a snapshot given as `initialState` against the breaker's settings, in full.
 * @throws TypeError for a value that is not such a snapshot or is corrupt
 * @throws RangeError for another version, or a window of another shape
 */
function readCircuitSnapshot(
  value: unknown,
  config: CircuitBreakerStoreConfig,
): { saved: CircuitStoreState; elapsedMs: number } {
  const { fields, elapsedMs } = readEnvelope(value, 'bulwark.circuit-breaker', 'CircuitBreaker');
  const state = field(fields, 'state', (s) => STATES.includes(s), `one of ${STATES.join(', ')}`);
  const openMs = field(fields, 'openMs', isSpan, SPAN) as number;
  const openedAgoMs = field(fields, 'openedAgoMs', isSpan, SPAN) as number;
  const failures = field(fields, 'failures', isCount, COUNT) as number;
  const w = field(fields, 'window', isRecord, 'an object') as Fields;
  const type = field(w, 'type', (t) => t === 'count' || t === 'time', "'count' or 'time'");
  const size = config.windowType === 'count' ? config.windowSize : config.windowDurationMs;
  const theirs = type === 'count' ? w.size : w.durationMs;
  if (type !== config.windowType || theirs !== size) {
    const ours = windowText(config.windowType, size);
    refuse(
      `holds ${windowText(type, theirs)}, but this breaker has ${ours}: its outcomes do not fit`,
      `a snapshot with ${ours}`,
      w,
      true,
    );
  }
  const window: CircuitWindowSnapshot =
    type === 'count'
      ? {
          type,
          size,
          outcomes: [
            ...(field(
              w,
              'outcomes',
              (o) => Array.isArray(o) && o.length <= size && o.every((n) => n === (n & 3)),
              `at most ${size} numbers from 0 to 3`,
            ) as number[]),
          ],
        }
      : {
          type: 'time',
          durationMs: size,
          buckets: (
            field(
              w,
              'buckets',
              (b) =>
                Array.isArray(b) &&
                b.every(
                  (e: unknown, i) =>
                    Array.isArray(e) &&
                    e.length === 4 &&
                    isSpan(e[0]) &&
                    e.slice(1).every(isCount) &&
                    e[2] <= e[1] &&
                    e[3] <= e[1] &&
                    (i === 0 || e[0] <= (b[i - 1] as number[])[0]!),
                ),
              '[ageMs, calls, failures, slowCalls] entries, oldest first',
            ) as Array<[number, number, number, number]>
          ).map((e) => [...e] as [number, number, number, number]),
        };
  return {
    saved: { state: state as CircuitState, openMs, openedAgoMs, failures, window },
    elapsedMs,
  };
}

const SPAN = 'a finite number >= 0';
const COUNT = 'an integer >= 0';

function windowText(type: unknown, size: unknown): string {
  return type === 'count'
    ? `a count window of ${show(size)} outcomes`
    : `a time window of ${show(size)} ms`;
}

// Lets a promise that nobody waits for settle (a store's answer, a listener's result): its
// rejection is handled.
function background(done: unknown): void {
  if (isThenable(done)) done.then(undefined, noop);
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

/**
 * The error that trips a circuit, kept as the cause of its refusals for as long as it stays OPEN
 * (let go as it leaves OPEN), with its stack read once, and its causes' (up to 8 deep): until
 * read, V8 keeps the frames' receivers and functions (the failing call's objects, its context) to
 * format it later, which a breaker per key would keep by the thousand. A `stack` or `cause` getter that throws ends it.
 */
function settledStack(error: unknown): unknown {
  let next = error;
  try {
    for (let depth = 0; depth < 8 && next instanceof Error; depth++) {
      void next.stack;
      next = next.cause;
    }
  } catch {
    // Nothing more to release.
  }
  return error;
}

const breakerView = /* @__PURE__ */ inspectView(
  'CircuitBreaker',
  (breaker: CircuitBreaker) => breaker.inspected,
);
