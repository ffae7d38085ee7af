import type { Clock } from '../../internal/clock.js';
import type { CircuitState } from './CircuitState.js';
import { CountWindow } from './windows/CountWindow.js';
import { TimeWindow } from './windows/TimeWindow.js';
import {
  ADMIT_CLOSED,
  ADMIT_PROBE,
  ADMIT_PROBE_RECLAIMED,
  REFUSE_HALF_OPEN,
  REFUSE_ISOLATED,
  answer,
  metricsOf,
  probeLeaseMs,
} from './admissions.js';

/**
 * A circuit breaker's resolved settings, handed once to its store by
 * {@link CircuitBreakerStore.configure}. Every time is in milliseconds.
 */
export interface CircuitBreakerStoreConfig {
  /** Consecutive recorded failures that trip a closed circuit when `failureRateThreshold` is unset. */
  readonly failureThreshold: number;
  /** Time OPEN before the circuit reads HALF_OPEN, after a trip from CLOSED. */
  readonly recoveryTimeoutMs: number;
  /** Factor (>= 1) by which each re-open from HALF_OPEN multiplies the time OPEN. */
  readonly recoveryBackoff: number;
  /** The longest time OPEN that `recoveryBackoff` may reach (>= `recoveryTimeoutMs`). */
  readonly maxRecoveryTimeoutMs: number;
  /** Failure rate in (0, 1] that trips the circuit, or `undefined` for consecutive mode. */
  readonly failureRateThreshold: number | undefined;
  /** Slow-call rate in (0, 1] that trips the circuit, or `undefined` when slow calls never trip it. */
  readonly slowCallRateThreshold: number | undefined;
  /** `'count'`: the last `windowSize` outcomes; `'time'`: the outcomes of the last `windowDurationMs`. */
  readonly windowType: 'count' | 'time';
  /** Outcomes held by a COUNT window. */
  readonly windowSize: number;
  /** Length of a TIME window. */
  readonly windowDurationMs: number;
  /** Outcomes the window must hold before a rate is judged. */
  readonly minimumCalls: number;
  /** Trial calls admitted in HALF_OPEN (>= 1); this many successes close the circuit. */
  readonly halfOpenMaxCalls: number;
  /** The breaker's clock. A store shared between processes may use its own time source instead. */
  readonly clock: Clock;
}

/**
 * The store's answer to "may this call go ahead?", from {@link CircuitBreakerStore.acquire}.
 * Stores may hand out the same frozen object many times.
 */
export interface CircuitAdmission {
  /** True when the call may go ahead. */
  readonly admitted: boolean;
  /** The state after the decision (it may have moved from OPEN to HALF_OPEN to decide). */
  readonly state: CircuitState;
  /** True when the call was admitted as a HALF_OPEN probe, i.e. it holds a probe slot. */
  readonly probe: boolean;
  /** When refused: milliseconds left OPEN, `Infinity` when isolated, 0 when the probe budget refused it. */
  readonly retryAfterMs: number;
  /**
   * True when admitting this probe took back the slots of probes that had not reported in time:
   * those are lost, and the breaker no longer counts their outcomes as probes'.
   */
  readonly reclaimed?: boolean;
}

/**
 * The outcome of one finished call, as recorded by {@link CircuitBreakerStore.record}. The
 * outcome of a call admitted before the circuit last closed (as far as the breaker knows) is
 * `stale`: the close started a window about the calls admitted since. The breaker records it only
 * while it knows the circuit to be OPEN, HALF_OPEN or ISOLATED, never as a probe.
 */
export interface CircuitOutcome {
  /** The call failed with an error that `recordOn` counts. */
  readonly failure: boolean;
  /** The call took at least `slowCallDuration` (whether or not it failed). */
  readonly slow: boolean;
  /**
   * `false` when the call is known to hold no probe slot of the current HALF_OPEN period (it was
   * admitted while CLOSED, or as a probe of an earlier period): in HALF_OPEN such an outcome
   * enters the window but does not decide, since only probes decide HALF_OPEN. `true` or absent:
   * it may be a probe, and decides.
   */
  readonly probe?: boolean;
  /**
   * `true` when the call was admitted before the circuit last closed (it always comes with
   * `probe: false`): if the circuit is CLOSED when it is recorded (closed again since the breaker
   * last heard, say by another process sharing the store), it belongs to no window and is
   * dropped, moving nothing; otherwise it enters the window as any outcome that reports while
   * OPEN, HALF_OPEN or ISOLATED does, deciding nothing.
   */
  readonly stale?: boolean;
}

/** A circuit breaker's state and the counts over its current window. */
export interface CircuitBreakerMetrics {
  /** The state (after any lazy OPEN -> HALF_OPEN move). */
  readonly state: CircuitState;
  /** `failedCalls / bufferedCalls`; 0 when the window is empty. */
  readonly failureRate: number;
  /** `slowCalls / bufferedCalls`; 0 when the window is empty. */
  readonly slowCallRate: number;
  /**
   * Outcomes in the current window: every recorded call, including those that reported while the
   * circuit was OPEN, HALF_OPEN or ISOLATED (trial calls, and calls admitted earlier that report
   * late, also those admitted before the circuit last closed), which move nothing but are
   * counted. A close (and `reset()`) starts an empty window, which a call admitted before it
   * never enters while the circuit stays CLOSED.
   */
  readonly bufferedCalls: number;
  /** Failed outcomes in the current window. */
  readonly failedCalls: number;
  /** Slow outcomes (failed or not) in the current window. */
  readonly slowCalls: number;
  /**
   * Present when open periods grow (`recoveryBackoff` > 1): how long the circuit stays OPEN
   * this time (while OPEN), the period that just ended (in HALF_OPEN: a failed trial call
   * multiplies it), or `recoveryTimeout` (while CLOSED, and after `reset()`).
   */
  readonly openDurationMs?: number;
}

/**
 * Where a {@link CircuitBreaker} keeps its state machine: the state, the outcome window, the
 * consecutive-failure count and the HALF_OPEN probe budget. The breaker only measures calls and
 * reports them; the store applies the rules, so a store shared between processes can take each
 * decision atomically (in a Lua script, a transaction, ...). The default is
 * {@link InMemoryCircuitBreakerStore}.
 *
 * Every method may answer synchronously or with a promise. The breaker handles both, and takes
 * the synchronous path, without creating a promise, whenever the value is not one. A store
 * serves one breaker.
 *
 * The rules a store must apply:
 *
 * - In every state, each recorded outcome enters the window (so the metrics count every call
 *   that ran, also one that reports late, after the circuit opened); the rules below say which
 *   outcomes move the circuit. The one exception: a `stale` outcome recorded while CLOSED is
 *   dropped (it reports about a window a close emptied).
 * - CLOSED: admit every call. Trip to OPEN when, in
 *   consecutive mode (`failureRateThreshold` undefined), a failure brings the run of consecutive
 *   failures to `failureThreshold` (a success resets the run); or, in rate mode, when a failure
 *   is recorded, the window holds at least `minimumCalls` outcomes and
 *   `failures / calls >= failureRateThreshold`; or, when a slow outcome is recorded,
 *   `slowCallRateThreshold` is set, the window holds at least `minimumCalls` outcomes and
 *   `slow / calls >= slowCallRateThreshold`.
 * - OPEN: refuse calls with the time left. Once the open time has passed since it opened, any
 *   `acquire`, `state` or `snapshot` moves it to HALF_OPEN first. Outcomes move nothing. The open
 *   time is `recoveryTimeoutMs` after a trip from CLOSED; each re-open from HALF_OPEN multiplies
 *   the last one by `recoveryBackoff`, capped at `maxRecoveryTimeoutMs`.
 * - HALF_OPEN: admit a call as a probe while fewer than `halfOpenMaxCalls` probes are held, refuse
 *   it otherwise (`retryAfterMs` 0). Only probes decide: an outcome with `probe: false` moves
 *   nothing. A failure re-opens it (for a grown open time, see OPEN). When `halfOpenMaxCalls` successes
 *   have been recorded it closes, with an empty window and counts, unless `slowCallRateThreshold`
 *   is set and `slow successes / halfOpenMaxCalls` reaches it, in which case it re-opens (as soon
 *   as that is certain). `release` frees a probe slot. Probes are lost when every slot is held
 *   and the last probe was admitted at least `max(recoveryTimeoutMs, 10 s)` ago without all of
 *   them reporting: the slots of those that have not reported go to new probes, and the
 *   admission that takes them back says `reclaimed: true`.
 * - ISOLATED (after `isolate`): refuse every call with `retryAfterMs` `Infinity` until `reset`.
 *   Outcomes move nothing.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({
 *   failureRateThreshold: 0.5,
 *   store: new InMemoryCircuitBreakerStore(),
 * });
 * ```
 */
export interface CircuitBreakerStore {
  /** Receives the breaker's resolved settings, once, from the breaker's constructor. */
  configure(config: CircuitBreakerStoreConfig): void;
  /** Decides whether a call may start, taking a probe slot when it admits one in HALF_OPEN. */
  acquire(): CircuitAdmission | Promise<CircuitAdmission>;
  /** Records a finished call's outcome and applies the rules; returns the state after it. */
  record(outcome: CircuitOutcome): CircuitState | Promise<CircuitState>;
  /** Frees a probe slot taken by a call that records nothing (cancelled, or an error `recordOn` ignores). */
  release(): void | Promise<void>;
  /** The current state, after any lazy OPEN -> HALF_OPEN move. */
  state(): CircuitState | Promise<CircuitState>;
  /** The state and the counts over the current window. */
  snapshot(): CircuitBreakerMetrics | Promise<CircuitBreakerMetrics>;
  /**
   * Optional, for a store whose `snapshot` answers with a promise (a shared one): the counts over
   * the current window as of the store's last answer that carried them (a `record` or a
   * `snapshot`), without a round trip; `undefined` when it knows none. `reset()` empties them at
   * once, and an answer to what was asked before it no longer counts. The breaker's `metrics`
   * reads it (the state is the breaker's own last known one); without it, `metrics` reports the
   * last `snapshot` answer.
   */
  snapshotKnown?(): CircuitBreakerMetrics | undefined;
  /** Forces the circuit OPEN (state ISOLATED) until {@link CircuitBreakerStore.reset}. */
  isolate(): void | Promise<void>;
  /** Returns to CLOSED with an empty window and all counts cleared. */
  reset(): void | Promise<void>;
}

/**
 * The window of a {@link CircuitBreakerSnapshot}: a COUNT window's outcomes, oldest first (each
 * a number: bit 0 a failure, bit 1 a slow call), or a TIME window's buckets that hold outcomes,
 * oldest first, each `[ageMs, calls, failures, slowCalls]` with `ageMs` the time from the
 * bucket's start to the snapshot.
 */
export type CircuitWindowSnapshot =
  | { readonly type: 'count'; readonly size: number; readonly outcomes: readonly number[] }
  | {
      readonly type: 'time';
      readonly durationMs: number;
      readonly buckets: ReadonlyArray<readonly [number, number, number, number]>;
    };

/** @internal The in-memory store's state as data, every time relative to the moment it was read. */
export interface CircuitStoreState {
  readonly state: CircuitState;
  /** The current open period's length (while OPEN), else the last one (or `recoveryTimeout`). */
  readonly openMs: number;
  /** While OPEN, the time since it opened; else 0. */
  readonly openedAgoMs: number;
  /** The run of consecutive failures (counted in consecutive mode only). */
  readonly failures: number;
  readonly window: CircuitWindowSnapshot;
}

/**
 * The default {@link CircuitBreakerStore}: the state machine in this process's memory, with a
 * ring-buffer window (O(1) per outcome) and no timers. It reads the clock only where a rule
 * needs the time: a TIME window, opening the circuit, while it is OPEN, and when a HALF_OPEN
 * probe is admitted.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ store: new InMemoryCircuitBreakerStore() });
 * ```
 */
export class InMemoryCircuitBreakerStore implements CircuitBreakerStore {
  #config: CircuitBreakerStoreConfig | undefined;
  #window: CountWindow | TimeWindow = new CountWindow(1);
  #timed = false;
  #state: CircuitState = 'closed';
  // Consecutive failures (counted in consecutive mode only).
  #failures = 0;
  #openedAt = 0;
  // How long the current (or last) open period lasts: grows by `recoveryBackoff` per re-open.
  #openMs = 0;
  #probes = 0;
  #probeSuccesses = 0;
  #slowProbes = 0;
  // When the last probe was admitted.
  #probeAdmittedAt = 0;

  /**
   * @throws Error when the store already serves another breaker
   */
  configure(config: CircuitBreakerStoreConfig): void {
    if (this.#config !== undefined) {
      throw new Error(
        'This InMemoryCircuitBreakerStore already serves a CircuitBreaker; give each breaker its own store, or share the breaker',
      );
    }
    this.#config = config;
    this.#openMs = config.recoveryTimeoutMs;
    this.#timed = config.windowType === 'time';
    this.#window = this.#timed
      ? new TimeWindow(config.windowDurationMs)
      : new CountWindow(config.windowSize);
  }

  acquire(): CircuitAdmission {
    const state = this.#state;
    if (state === 'closed') return ADMIT_CLOSED;
    if (state === 'isolated') return REFUSE_ISOLATED;
    const config = this.#settings();
    const now = config.clock.now();
    if (state === 'open') {
      // The same comparison as state(): time open so far against the open time.
      const left = this.#openMs - (now - this.#openedAt);
      if (left > 0) return answer(false, state, left);
      this.#enter('half-open');
    }
    let admission = ADMIT_PROBE;
    if (this.#probes >= config.halfOpenMaxCalls) {
      // Every probe admitted that long ago and not reported is lost (a hung call): without this
      // the circuit would refuse every call until reset(). The same rule as the Redis store.
      if (now - this.#probeAdmittedAt < probeLeaseMs(config.recoveryTimeoutMs)) {
        return REFUSE_HALF_OPEN;
      }
      this.#probes = this.#probeSuccesses;
      admission = ADMIT_PROBE_RECLAIMED;
    }
    this.#probes++;
    this.#probeAdmittedAt = now;
    return admission;
  }

  record(outcome: CircuitOutcome): CircuitState {
    // The usual outcome, a success in time while CLOSED in a count window, in a few lines that
    // the optimising compiler inlines into the breaker: it ends the run of failures.
    // Stryker disable next-line ConditionalExpression: a fast path; the general one records the same
    if (
      this.#state === 'closed' &&
      !this.#timed &&
      !outcome.failure &&
      !outcome.slow &&
      outcome.stale !== true &&
      this.#config !== undefined
    ) {
      (this.#window as CountWindow).record(false, false);
      this.#failures = 0;
      return 'closed';
    }
    return this.#recordAny(outcome);
  }

  #recordAny(outcome: CircuitOutcome): CircuitState {
    const { failure, slow } = outcome;
    const state = this.#state;
    const config = this.#settings();
    const window = this.#window;
    // A call admitted before the last close reports about a window that close emptied.
    if (outcome.stale === true && state === 'closed') return state;
    const now = this.#timed ? config.clock.now() : NaN;
    // Every other outcome enters the window, whatever the state, so that the metrics count every call
    // that ran; the state decides only whether it moves the circuit.
    window.record(failure, slow, now);
    if (state === 'closed') {
      let trip = false;
      if (!failure) this.#failures = 0;
      else if (config.failureRateThreshold === undefined) {
        trip = ++this.#failures >= config.failureThreshold;
      } else trip = reached(window, window.failures, config.failureRateThreshold, config);
      if (!trip && slow)
        trip = reached(window, window.slowCalls, config.slowCallRateThreshold, config);
      if (trip) this.#open(this.#timed ? now : config.clock.now(), config.recoveryTimeoutMs);
    } else if (state === 'half-open' && outcome.probe !== false) {
      const max = config.halfOpenMaxCalls;
      const slowRate = config.slowCallRateThreshold;
      this.#probeSuccesses++;
      if (slow) this.#slowProbes++;
      // The slow-probe rate is over the whole budget, so it can only rise: re-open as soon as it
      // reaches the threshold rather than waiting for the remaining probes.
      if (failure || (slowRate !== undefined && this.#slowProbes / max >= slowRate)) {
        this.#open(config.clock.now(), grown(this.#openMs, config));
      } else if (this.#probeSuccesses >= max) this.reset();
    }
    return this.#state;
  }

  release(): void {
    if (this.#state === 'half-open' && this.#probes > 0) this.#probes--;
  }

  state(): CircuitState {
    if (this.#state === 'open') {
      const config = this.#settings();
      if (config.clock.now() - this.#openedAt >= this.#openMs) {
        this.#enter('half-open');
      }
    }
    return this.#state;
  }

  snapshot(): CircuitBreakerMetrics {
    const state = this.state();
    const config = this.#settings();
    const window = this.#window;
    if (this.#timed) window.expire(config.clock.now());
    return metricsOf(
      state,
      window.calls,
      window.failures,
      window.slowCalls,
      config.recoveryBackoff > 1 ? this.#openMs : undefined,
    );
  }

  isolate(): void {
    this.#enter('isolated');
  }

  reset(): void {
    this.#enter('closed');
    this.#window.clear();
    if (this.#config !== undefined) this.#openMs = this.#config.recoveryTimeoutMs;
  }

  /** @internal The state as data, every time relative to now (probes held are not included). */
  save(): CircuitStoreState {
    const config = this.#settings();
    const state = this.state();
    const now = config.clock.now();
    const window = this.#window;
    return {
      state,
      openMs: this.#openMs,
      openedAgoMs: state === 'open' ? now - this.#openedAt : 0,
      failures: this.#failures,
      window:
        window instanceof TimeWindow
          ? { type: 'time', durationMs: config.windowDurationMs, buckets: window.contents(now) }
          : { type: 'count', size: window.size, outcomes: window.outcomes() },
    };
  }

  /**
   * @internal Takes the state `save()` gave, `elapsedMs` later, in place of the present one. The
   * caller has checked it (its window has this store's shape): nothing here can fail halfway.
   * A HALF_OPEN state starts with no probes held; an open period is capped at `maxRecoveryTimeout`,
   * and the open time later periods grow from is at least `recoveryTimeout`.
   */
  load(saved: CircuitStoreState, elapsedMs: number): void {
    const config = this.#settings();
    const now = config.clock.now();
    this.#window.clear();
    this.#enter(saved.state);
    // The current open period keeps its length (up to the cap); the base that later periods grow
    // from is at least this breaker's `recoveryTimeout`.
    const openMs = Math.min(saved.openMs, config.maxRecoveryTimeoutMs);
    this.#openMs = saved.state === 'open' ? openMs : Math.max(openMs, config.recoveryTimeoutMs);
    this.#openedAt = saved.state === 'open' ? now - saved.openedAgoMs - elapsedMs : 0;
    if (saved.state === 'closed') this.#failures = saved.failures;
    // The caller checked that the saved window has this store's shape.
    const source = saved.window;
    if (source.type === 'time') {
      const window = this.#window as TimeWindow;
      for (const [age, calls, failures, slow] of source.buckets) {
        window.restore(calls, failures, slow, now - age - elapsedMs, now);
      }
      // Outcomes that have left the window by now are gone.
      window.expire(now);
    } else {
      const window = this.#window as CountWindow;
      for (const bits of source.outcomes) window.record((bits & 1) !== 0, (bits & 2) !== 0);
    }
  }

  #settings(): CircuitBreakerStoreConfig {
    const config = this.#config;
    if (config === undefined) {
      throw new Error('InMemoryCircuitBreakerStore used before configure()');
    }
    return config;
  }

  #open(now: number, openMs: number): void {
    this.#enter('open');
    this.#openedAt = now;
    this.#openMs = openMs;
  }

  // Every transition starts the new state with no probes and no run of failures.
  #enter(state: CircuitState): void {
    this.#state = state;
    this.#failures = this.#probes = this.#probeSuccesses = this.#slowProbes = 0;
  }
}

/** @internal The open time after a re-open from HALF_OPEN, when the last one was `openMs`. */
export function grown(openMs: number, config: CircuitBreakerStoreConfig): number {
  return Math.min(openMs * config.recoveryBackoff, config.maxRecoveryTimeoutMs);
}

// True when the window holds enough outcomes to judge and `count` of them reach `rate`.
function reached(
  window: CountWindow | TimeWindow,
  count: number,
  rate: number | undefined,
  config: CircuitBreakerStoreConfig,
): boolean {
  return rate !== undefined && window.calls >= config.minimumCalls && count / window.calls >= rate;
}
