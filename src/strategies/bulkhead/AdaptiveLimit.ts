import type { Clock } from '../../internal/clock.js';
import type { Duration } from '../../internal/duration.js';
import { isThenable } from '../../internal/signals.js';
import { fail } from '../../internal/duration.js';
import { setReadonly } from '../../internal/readonly.js';
import { ownLimits } from './ownLimits.js';
import {
  errorFilterOption,
  integerOption,
  numberOption,
  oneOfOption,
  optionsObject,
  positiveDuration,
  type ErrorFilter,
  type ErrorMatcher,
} from '../../internal/validate.js';

/** How an {@link AdaptiveLimit} moves the limit. */
export type AdaptiveAlgorithm = 'aimd' | 'gradient2';

/**
 * Options of an {@link AdaptiveLimit}: `backoffRatio` with `algorithm: 'aimd'` only, `smoothing`
 * with `'gradient2'` (the default) only.
 */
export type AdaptiveLimitOptions = AdaptiveLimitSettings &
  (
    | { readonly algorithm?: 'gradient2' | undefined; readonly backoffRatio?: undefined }
    | { readonly algorithm: 'aimd'; readonly smoothing?: undefined }
  );

/** The options of an {@link AdaptiveLimit}, whichever its algorithm. */
interface AdaptiveLimitSettings {
  /**
   * `'gradient2'` moves the limit by the ratio of the long-run latency to the window's latency
   * (Netflix's Gradient2): it finds the knee where latency starts to grow, and settles there.
   * `'aimd'` adds one per window while latency holds and multiplies by `backoffRatio` when it
   * grows past `tolerance` x its long-run value or a call fails: simpler, it saws around the
   * knee.
   * @defaultValue `'gradient2'`
   */
  readonly algorithm?: AdaptiveAlgorithm | undefined;
  /** Lowest limit: an integer >= 1. @defaultValue 1 */
  readonly min?: number | undefined;
  /** Highest limit: an integer >= `min`. @defaultValue 1000 */
  readonly max?: number | undefined;
  /** Limit to start from: an integer in [`min`, `max`]. @defaultValue 20 (held to [min, max]) */
  readonly initial?: number | undefined;
  /**
   * Shortest measuring window: the limit moves once per window, at the first call to end at
   * least this long after the window began (when the first call reported in it began) and with
   * `minSamples` calls in it.
   * @defaultValue `'1s'`
   */
  readonly window?: Duration | undefined;
  /** Fewest calls a window needs before the limit moves: an integer >= 1. @defaultValue 10 */
  readonly minSamples?: number | undefined;
  /**
   * How much the window's average latency may exceed the long-run average before the limit
   * falls: a number >= 1.
   * @defaultValue 1.5
   */
  readonly tolerance?: number | undefined;
  /** `'aimd'`: factor the limit is multiplied by when it falls, in (0, 1). @defaultValue 0.9 */
  readonly backoffRatio?: number | undefined;
  /**
   * `'gradient2'`: how far each window moves the limit towards its new estimate, in (0, 1].
   * @defaultValue 0.2
   */
  readonly smoothing?: number | undefined;
  /**
   * Windows the long-run latency is averaged over (an exponential average, after a plain one of
   * its first 10 windows, or `(longWindow + 1) / 2` when fewer; of the windows no slower than it,
   * and of as many slower ones up to `tolerance` x it; of the calls that succeeded): an integer
   * >= 1. Longer remembers the latency without load longer.
   * @defaultValue 600
   */
  readonly longWindow?: number | undefined;
  /**
   * Errors that mean the dependency is overloaded: error classes (`instanceof`) or a predicate, as
   * a circuit breaker's `recordOn`. A call that fails with one is a failure, which brings the
   * limit down; a call that fails with another error is no sample at all (neither a failure nor a
   * latency), as if it had not run. Count a timeout, a 503 or 429, a refused or reset
   * connection; leave out what a healthy dependency answers as fast as ever (a 404 or another
   * 4xx, a validation error), or a steady share of them holds the limit at `min`. A deadline that
   * answered first is a failure whatever its error (see the class). A predicate that throws, or
   * answers a promise, counts the error. Code, so not in configuration.
   * @defaultValue every error
   */
  readonly recordOn?: ErrorFilter | undefined;
}

/** Windows the long-run latency averages plainly, every one, before its exponential average. */
const WARM_UP = 10;

/**
 * The most faster windows the long-run latency keeps to average slower ones against: a limit
 * pushed past the knee after a long calm may average in this many of its slower windows.
 */
const FASTER_KEPT = 10;

/**
 * Windows in a row a limit that has stopped falling must see a latency it cannot bring down
 * before the long-run latency is set to theirs (see `#update`).
 */
const STALLED = 8;

/** @internal Every option key the constructor accepts. */
const ADAPTIVE_LIMIT_OPTIONS: readonly string[] = Object.freeze([
  'algorithm',
  'min',
  'max',
  'initial',
  'window',
  'minSamples',
  'tolerance',
  'backoffRatio',
  'smoothing',
  'longWindow',
  'recordOn',
]);

import type {
  BulkheadStore,
  BulkheadStoreConfig,
  BulkheadTicket,
  InMemoryBulkheadStore,
} from './store.js';

const ALGORITHMS: readonly AdaptiveAlgorithm[] = ['aimd', 'gradient2'];

/**
 * A concurrency limit that follows the dependency: give it to a {@link Bulkhead} as `limit`, and
 * the bulkhead admits as many calls at once as the limit says now. The bulkhead reports each call
 * that ends (its latency, the calls in flight when it began, whether it failed; a call that
 * failed with an error `recordOn` does not match, none); once per window the limit rises while
 * latency holds and falls when latency grows or calls fail, within [`min`, `max`]. Past the knee
 * where a dependency starts to queue, more concurrency only adds latency; the limit settles near
 * that knee without anyone having to know where it is.
 *
 * Both algorithms compare the window's average latency with a long-run average (a plain average
 * of every one of the first 10 windows, or `(longWindow + 1) / 2` when fewer, then an exponential
 * average over `longWindow` windows of
 * the windows no slower than it and of as many slower ones up to `tolerance` x it, each against a
 * faster one, so that it settles around a noisy latency's typical window but never takes the
 * latency of a limit past the knee for the norm; brought down quickly when it is over twice the
 * current latency, after an overload; of the calls that succeeded; set anew to the windows'
 * latency once the limit can fall no further and 8 windows in a row slower than `tolerance` x it
 * have not brought it down: that latency is not the limit's own load's). A window in which fewer
 * than half the limit's calls were in flight at once never raises the limit: the traffic, not
 * the dependency, was the bound.
 *
 * Both settle where the window's latency reaches about `tolerance` x the long-run latency
 * (`'gradient2'` a little past it, as it leaves room for 4 calls to queue), not at the knee
 * itself: the more slowly the dependency's latency grows past its knee, the further past it the
 * limit settles. A lower `tolerance` holds it closer.
 *
 * An AdaptiveLimit serves one bulkhead.
 *
 * @example
 * ```ts
 * const limit = new AdaptiveLimit({ algorithm: 'gradient2', min: 5, max: 200, initial: 20 });
 * const db = new Bulkhead({ limit, maxQueue: 100, maxWait: '1s' });
 * console.log(db.maxConcurrent); // the limit now
 * ```
 */
export class AdaptiveLimit {
  /** The algorithm moving the limit. */
  declare readonly algorithm: AdaptiveAlgorithm;
  /** Lowest limit. */
  declare readonly min: number;
  /** Highest limit. */
  declare readonly max: number;
  readonly #windowMs: number;
  readonly #minSamples: number;
  readonly #tolerance: number;
  readonly #backoffRatio: number;
  readonly #smoothing: number;
  readonly #longFactor: number;
  // Windows of the warm-up, each averaged plainly into the long-run latency however slow.
  readonly #warmUp: number;
  readonly #recordOn: ErrorMatcher;
  #estimate: number;
  #limit: number;
  #bound = false;
  // The current window.
  #start = NaN;
  #samples = 0;
  #rttSum = 0;
  #failed = 0;
  #okRttSum = 0;
  #maxInflight = 0;
  // The long-run latency, and how many windows of the warm-up it has averaged.
  #long = NaN;
  #windows = 0;
  // Windows no slower than the long-run latency that no slower window has been averaged against.
  #faster = 0;
  // Windows in a row whose latency the limit could not bring down, their summed latency, and the
  // limit when the first of them began.
  #stalled = 0;
  #stalledSum = 0;
  #stalledFrom = 0;

  /**
   * @throws TypeError for an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options?: AdaptiveLimitOptions) {
    const o = optionsObject(options, 'AdaptiveLimit', ADAPTIVE_LIMIT_OPTIONS);
    const algorithm = oneOfOption(o.algorithm, 'algorithm', ALGORITHMS, 'gradient2');
    const min = integerOption(o.min, 'min', 1, 1);
    const max = integerOption(o.max, 'max', 1, 1000);
    if (max < min) fail(RangeError, 'max', `an integer >= min (${min})`, max);
    setReadonly<AdaptiveLimit>(this, { algorithm, min, max });
    const initial = integerOption(o.initial, 'initial', 1, Math.min(max, Math.max(min, 20)));
    if (initial < min || initial > max) {
      fail(RangeError, 'initial', `an integer in [${min}, ${max}]`, initial);
    }
    this.#estimate = this.#limit = initial;
    this.#windowMs = positiveDuration(o.window, 'window', 1000);
    this.#minSamples = integerOption(o.minSamples, 'minSamples', 1, 10);
    this.#tolerance = numberOption(o.tolerance, 'tolerance', (n) => n >= 1, '>= 1', 1.5);
    if (algorithm !== 'aimd' && o.backoffRatio !== undefined) {
      fail(TypeError, 'backoffRatio', "unset unless algorithm is 'aimd'", o.backoffRatio);
    }
    if (algorithm !== 'gradient2' && o.smoothing !== undefined) {
      fail(TypeError, 'smoothing', "unset unless algorithm is 'gradient2'", o.smoothing);
    }
    this.#backoffRatio = numberOption(
      o.backoffRatio,
      'backoffRatio',
      (n) => n > 0 && n < 1,
      'in (0, 1)',
      0.9,
    );
    this.#smoothing = numberOption(
      o.smoothing,
      'smoothing',
      (n) => n > 0 && n <= 1,
      'in (0, 1]',
      0.2,
    );
    const longWindow = integerOption(o.longWindow, 'longWindow', 1, 600);
    this.#longFactor = 2 / (longWindow + 1);
    // Never weighing a window less than the exponential average would (1 / n >= its factor).
    this.#warmUp = Math.min(WARM_UP, Math.floor((longWindow + 1) / 2));
    this.#recordOn = errorFilterOption(o.recordOn, 'recordOn');
    ownLimits.add(this);
  }

  /**
   * @internal Whether a call that failed with `error` is a failure to this limit: `recordOn`
   * matches it (a predicate that throws or answers a promise cannot say no). False: no sample.
   */
  counts(error: unknown): boolean {
    try {
      return this.#recordOn(error);
    } catch {
      return true;
    }
  }

  /** Calls allowed at once now: an integer in [`min`, `max`]. */
  get limit(): number {
    return this.#limit;
  }

  /**
   * The long-run average latency in milliseconds the limit compares with (NaN before the first
   * window with a call that succeeded).
   */
  get baselineMs(): number {
    return this.#long;
  }

  /**
   * @internal The store of a bulkhead under this limit, over the bulkhead's own `store`.
   * @throws Error when it already serves another bulkhead
   */
  slots(store: BulkheadStore): AdaptiveSlots {
    return new AdaptiveSlots(store, this);
  }

  /**
   * @internal Takes over what `old` learned, for the bulkhead that replaces its own on a reload:
   * the limit, fitted into [`min`, `max`], and the long-run latency it compares with. (The
   * current window starts anew.)
   */
  adopt(old: AdaptiveLimit): void {
    this.#estimate = Math.min(this.max, Math.max(this.min, old.#estimate));
    this.#limit = Math.floor(this.#estimate);
    this.#long = old.#long;
    this.#windows = old.#windows;
    this.#faster = old.#faster;
    this.#stalled = old.#stalled;
    this.#stalledSum = old.#stalledSum;
    this.#stalledFrom = old.#stalledFrom;
  }

  /**
   * @internal Attaches the limit to its bulkhead, once.
   * @throws TypeError (an option error naming `limit`) when it already serves another bulkhead
   */
  bind(): void {
    if (this.#bound) {
      fail(
        TypeError,
        'limit',
        'an AdaptiveLimit no other Bulkhead uses',
        this,
        `\`limit\` must be an AdaptiveLimit no other Bulkhead uses, got an AdaptiveLimit ` +
          `(${this.algorithm}, ${this.min}..${this.max}) that already serves a Bulkhead; ` +
          'give each bulkhead its own limit, or share the bulkhead',
      );
    }
    this.#bound = true;
  }

  /**
   * Reports one call that ended: when it ended (`now`, on the bulkhead's clock), how long it took,
   * how many calls were in flight when it began (itself included), and whether it failed (an
   * error, or a deadline that answered first). Returns true when the limit rose.
   */
  sample(now: number, rttMs: number, inflight: number, failed: boolean): boolean {
    // A window begins when its first call began.
    // Stryker disable next-line EqualityOperator: a latency of 0 subtracts 0 either way
    if (this.#samples === 0) this.#start = now - (rttMs > 0 ? rttMs : 0);
    this.#samples++;
    // Stryker disable next-line EqualityOperator: a latency of 0 adds 0 either way
    const rtt = rttMs > 0 ? rttMs : 0;
    this.#rttSum += rtt;
    if (failed) this.#failed++;
    else this.#okRttSum += rtt;
    // Stryker disable next-line EqualityOperator: an equal count stores the same number
    if (inflight > this.#maxInflight) this.#maxInflight = inflight;
    if (this.#samples < this.#minSamples || now - this.#start < this.#windowMs) return false;
    const before = this.#limit;
    const ok = this.#samples - this.#failed;
    this.#update(
      this.#rttSum / this.#samples,
      ok > 0 ? this.#okRttSum / ok : NaN,
      this.#failed / this.#samples,
      this.#maxInflight,
    );
    this.#samples = this.#rttSum = this.#okRttSum = this.#failed = this.#maxInflight = 0;
    return this.#limit > before;
  }

  #update(short: number, okShort: number, failedRate: number, maxInflight: number): void {
    // The long-run latency: a plain average of every window of the warm-up, so that a first
    // window slowed by a cold start (connections to open, code not yet optimised, a busy event
    // loop) weighs no more than any other; then a slow exponential average of the windows no
    // slower than it, and of as many slower ones up to `tolerance` x it, each against a faster
    // one. A noisy steady latency has both, and settles around its typical window: averaging only
    // the faster ones ratchets it down to the fastest windows, and the limit with it. A limit past
    // the knee has only slower ones, and those are not averaged in, so its latency never becomes
    // the norm (averaging every slower window would let it creep up, and the limit past the knee
    // with it, without end). Once the limit is down to `min` (the dependency got slower at any
    // concurrency), every window is.
    //
    // It averages the latency of the calls that succeeded: a failure that answers fast (a 503
    // while the dependency starts, a refused connection) says nothing of how long the work takes,
    // and one that answers slowly mostly measures a deadline. A window without a success leaves
    // it as it is (the failures still bring the limit down).
    let long = this.#long;
    if (okShort === okShort) {
      const n = this.#windows;
      const before = long;
      if (n < this.#warmUp) {
        this.#windows = n + 1;
        long = n === 0 ? okShort : long + (okShort - long) / (n + 1);
      } else if (okShort <= long) {
        long += (okShort - long) * this.#longFactor;
        if (this.#faster < FASTER_KEPT) this.#faster++;
      } else if (this.#estimate <= this.min) {
        long += (okShort - long) * this.#longFactor;
      } else if (okShort <= this.#tolerance * long && this.#faster > 0) {
        this.#faster--;
        long += (okShort - long) * this.#longFactor;
      }
      long = this.#unstall(okShort, before, long, n);
      // Back from an overload, the long-run latency comes down fast instead of holding the limit
      // low.
      if (long > 2 * okShort) long *= 0.95;
      this.#long = long;
    }
    const estimate = this.#estimate;
    // A window whose traffic never filled half the limit says nothing of a higher one.
    const appLimited = maxInflight * 2 < estimate;
    let next: number;
    if (this.algorithm === 'aimd') {
      if (failedRate > 0 || short > this.#tolerance * long) next = estimate * this.#backoffRatio;
      else next = appLimited ? estimate : estimate + 1;
    } else {
      // The gradient: 1 while latency holds, down to 0.5 as it grows (or as calls fail).
      let gradient = short > 0 && long === long ? (this.#tolerance * long) / short : 1;
      // Stryker disable next-line EqualityOperator: an equal gradient is set to the same value
      if (gradient > 1 - failedRate) gradient = 1 - failedRate;
      // Stryker disable next-line EqualityOperator: 0.5 is held to 0.5 either way
      if (gradient < 0.5) gradient = 0.5;
      if (appLimited && gradient === 1) return;
      // Room for a few calls to queue, so the limit keeps probing upwards.
      // Stryker disable next-line EqualityOperator: at 16, sqrt(16) is 4 either way
      const target = estimate * gradient + (estimate < 16 ? Math.sqrt(estimate) : 4);
      next = estimate * (1 - this.#smoothing) + target * this.#smoothing;
    }
    // Stryker disable next-line EqualityOperator: a bound held to itself is the same number
    next = next < this.min ? this.min : next > this.max ? this.max : next;
    this.#estimate = next;
    this.#limit = Math.max(this.min, Math.floor(next));
  }

  /**
   * Latency the limit's own load causes falls as the limit falls. A window slower than
   * `tolerance` x the long-run latency `before` it while the limit can fall no further (at
   * `min`, or, for `'gradient2'`, the window over twice that, holding the gradient at its floor
   * of 0.5, where the limit settles at 4 calls, above a lower `min`; `'aimd'` falls on every such
   * window) is not the limit's to bring down when it goes on for {@link STALLED} windows in a row
   * without the limit falling below where it was at the first of them: a long-run latency set by
   * an abnormally fast stretch (answers from a cache, a dependency nobody else loads yet), or a
   * dependency slower at any concurrency. The long-run latency is then set to those windows'
   * average, and the limit rises again while latency holds. Past the knee, the limit settles
   * where the gradient is well above its floor, or keeps falling.
   * Returns the long-run latency `long` (`before`, averaged as above), or the new one.
   */
  #unstall(okShort: number, before: number, long: number, n: number): number {
    const tolerated = this.#tolerance * before;
    const stalled =
      n >= this.#warmUp &&
      okShort > tolerated &&
      (this.algorithm === 'aimd' || this.#limit <= this.min || okShort >= 2 * tolerated);
    if (!stalled) {
      this.#stalled = 0;
      return long;
    }
    if (this.#stalled === 0 || this.#limit < this.#stalledFrom) {
      this.#stalled = 0;
      this.#stalledSum = 0;
      this.#stalledFrom = this.#limit;
    }
    this.#stalledSum += okShort;
    if (++this.#stalled < STALLED) return long;
    const average = this.#stalledSum / this.#stalled;
    this.#stalled = 0;
    return average;
  }
}

/** @internal A slot held under an adaptive limit: the store's ticket, and when its call began. */
export class AdaptiveTicket {
  readonly inner: BulkheadTicket;
  start: number;
  inflight: number;
  /**
   * How the call ended when its pass answered before its work settled, reported once the work
   * drains: false a failure (a deadline), true a success, undefined called off.
   */
  outcome: boolean | undefined = false;

  constructor(inner: BulkheadTicket, start: number, inflight: number) {
    this.inner = inner;
    this.start = start;
    this.inflight = inflight;
  }
}

/**
 * @internal The store of a bulkhead with an {@link AdaptiveLimit}: the bulkhead's own store (or
 * the in-memory one), holding slots to the limit as it is now. Its tickets remember when their
 * call began, so that the call's end reports a latency sample. A store that bounds its own
 * decisions by the limit (`'bulwark.limitTo'`: a shared one, whose count is the last it knows)
 * decides every acquisition itself; over any other, the limit is held here, on the store's count.
 */
export class AdaptiveSlots implements BulkheadStore {
  readonly #inner: BulkheadStore;
  readonly #limit: AdaptiveLimit;
  #clock: Clock | undefined = undefined;
  #onFree: (() => void) | undefined = undefined;
  #waking = false;
  readonly #wake = (): void => {
    this.#waking = false;
    // Stryker disable next-line OptionalChaining: the bulkhead subscribes before any call ends
    this.#onFree?.();
  };
  // A slot granted later (by a store that answers asynchronously): the slots in use are read then.
  readonly #wrap = (ticket: false | BulkheadTicket): false | AdaptiveTicket => {
    this.#asking--;
    this.#answered(ticket === false);
    return this.#ticket(ticket, this.#inner.inUse());
  };
  // The same, for an acquisition the store's own `inUse()` counted while it was out.
  readonly #wrapCounted = (ticket: false | BulkheadTicket): false | AdaptiveTicket => {
    this.#answered(ticket === false);
    return this.#ticket(ticket, this.#inner.inUse());
  };
  /**
   * Acquisitions a store answering asynchronously has not answered yet, when its `inUse()` is the
   * last count it knows, without them: a burst inside one round trip would otherwise pass the
   * limit as it is now, up to the store's `maxConcurrent` (the limit's `max`). A store whose
   * `inUse()` counts its own acquisitions still out has them there (a custom one: a Redis store
   * bounds its own decisions, see `#bounded`).
   */
  #asking = 0;
  /**
   * The store bounds what it grants by the limit itself (see `'bulwark.limitTo'`): a shared
   * store, whose count may be stale, and which asks its backend for the queued callers only as
   * it is asked and refused. Refusing here on that count would leave them queued for good.
   */
  #bounded = false;
  // A slot the store granted under the limit: the slots in use, itself included, are read then
  // (at least itself: an untracked `'fail-open'` slot raises no count).
  readonly #taken = (ticket: false | BulkheadTicket): false | AdaptiveTicket =>
    ticket === false ? false : this.#ticket(ticket, Math.max(this.#inner.inUse(), 1));

  constructor(inner: BulkheadStore, limit: AdaptiveLimit) {
    this.#inner = inner;
    this.#limit = limit;
    limit.bind();
  }

  configure(config: BulkheadStoreConfig): void {
    this.#clock = config.clock;
    const inner = this.#inner;
    inner.configure(config);
    // Once the store is this bulkhead's alone (`configure` refuses a store that serves another).
    if (typeof inner['bulwark.limitTo'] === 'function') {
      const limit = this.#limit;
      inner['bulwark.limitTo'](() => limit.limit);
      this.#bounded = true;
    }
  }

  // The slots in use are read once per acquire: a slot granted at once is one more.
  tryAcquire(): false | AdaptiveTicket {
    const inner = this.#inner;
    if (this.#bounded) return this.#taken(inner.tryAcquire());
    const used = inner.inUse();
    if (used >= this.#limit.limit) return false;
    return this.#ticket(inner.tryAcquire(), used + 1);
  }

  // The same for the bulkhead's public `tryAcquire`, on what the store knows.
  tryAcquireKnown(): false | AdaptiveTicket {
    const inner = this.#inner;
    if (this.#bounded) {
      return this.#taken(
        inner.tryAcquireKnown !== undefined ? inner.tryAcquireKnown() : inner.tryAcquire(),
      );
    }
    const used = inner.inUse();
    if (used + this.#asking >= this.#limit.limit) return false;
    const ticket =
      inner.tryAcquireKnown !== undefined ? inner.tryAcquireKnown() : inner.tryAcquire();
    return this.#ticket(ticket, used + 1);
  }

  acquire(): false | AdaptiveTicket | Promise<false | AdaptiveTicket> {
    const inner = this.#inner;
    if (this.#bounded) {
      // The store wakes the queue as slots may free up (as under `maxConcurrent` alone).
      const granted = inner.acquire();
      return isThenable(granted)
        ? Promise.resolve(granted).then(this.#taken)
        : this.#taken(granted);
    }
    const used = inner.inUse();
    if (used + this.#asking >= this.#limit.limit) return false;
    const answer = inner.acquire();
    if (!isThenable(answer)) return this.#ticket(answer, used + 1);
    // Counted by the store already (its count rose as it asked): not counted a second time here.
    if (inner.inUse() > used) {
      return Promise.resolve(answer).then(this.#wrapCounted, this.#failedCounted);
    }
    this.#asking++;
    return Promise.resolve(answer).then(this.#wrap, this.#failed);
  }

  readonly #failed = (error: unknown): never => {
    this.#asking--;
    this.#answered(true);
    throw error;
  };

  readonly #failedCounted = (error: unknown): never => {
    this.#answered(true);
    throw error;
  };

  /**
   * An acquisition the store answered. One that took no slot (refused, or failed) counted against
   * the limit while unanswered and may have sent a caller to the queue: wake the queue, as a
   * released slot would, or that caller would wait for a release that may never come.
   */
  #answered(noSlot: boolean): void {
    if (noSlot && !this.#waking) {
      this.#waking = true;
      queueMicrotask(this.#wake);
    }
  }

  /** The store's answer as a ticket that remembers when its call began, and beside how many. */
  #ticket(ticket: false | BulkheadTicket, inflight: number): false | AdaptiveTicket {
    return ticket === false
      ? false
      : new AdaptiveTicket(ticket, (this.#clock as Clock).now(), inflight);
  }

  release(ticket: BulkheadTicket): void | Promise<void> {
    return this.#inner.release(ticket instanceof AdaptiveTicket ? ticket.inner : ticket);
  }

  // The count `tryAcquireKnown` decides on, as `availableSlots` reads it.
  inUse(): number {
    return this.#inner.inUse() + this.#asking;
  }

  // The store's own limit for now, if it has one (see `BulkheadStore['bulwark.limit']`); else
  // none.
  'bulwark.limit'(): number {
    return this.#inner['bulwark.limit']?.() ?? Infinity;
  }

  /** @internal Counts `n` more slots in use (see `InMemoryBulkheadStore.hold`). */
  hold(n: number): void {
    (this.#inner as InMemoryBulkheadStore).hold(n);
  }

  subscribe(onFree: () => void, queuedSince?: () => number | undefined): void {
    this.#onFree = onFree;
    this.#inner.subscribe?.(onFree, queuedSince);
  }

  /**
   * The call holding `held` has ended (`outcome`: true ok, false failed, undefined never ran):
   * reports its sample, and answers whether the slot may pass to a waiting caller (false when the
   * limit has fallen below the slots in use, so the slot goes back). A slot passed on starts anew.
   */
  ended(held: BulkheadTicket, outcome: boolean | undefined): boolean {
    // Every ticket the bulkhead holds under this store came from it.
    const ticket = held as AdaptiveTicket;
    const now = (this.#clock as Clock).now();
    if (outcome !== undefined) {
      const rose = this.#limit.sample(now, now - ticket.start, ticket.inflight, !outcome);
      // A higher limit has room for the callers waiting: ask for slots for them, once the slot
      // this call held has found its next holder. (Only a rise makes room: while the slots in use
      // reach the limit, a wake finds `acquire` answering false, so an extra one changes nothing.)
      // Stryker disable next-line ConditionalExpression,LogicalOperator: see above
      if (rose && !this.#waking) {
        // Stryker disable next-line BooleanLiteral: see above
        this.#waking = true;
        queueMicrotask(this.#wake);
      }
    }
    ticket.start = now;
    let used: number;
    try {
      used = this.#inner.inUse();
    } catch {
      // A custom store that throws: the slot goes back to it rather than on to a waiting caller.
      return false;
    }
    ticket.inflight = used;
    return used <= this.#limit.limit;
  }
}
