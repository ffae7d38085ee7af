// Model-checks CircuitBreaker: random sequences of calls (successes, failures, ignored errors,
// slow calls, results that `recordOnResult` counts as failures, caller aborts, overlapping calls),
// clock advances, isolate and reset, in consecutive, COUNT-rate and TIME-rate modes, with open
// periods that grow by `recoveryBackoff` on each re-open from HALF_OPEN. A small reference model, written from the rules in
// the API contract and the breaker's TSDoc, predicts every admission, refusal, state, state change and the
// window counts; the breaker must agree at every step.
import { expect } from 'chai';
import fc from 'fast-check';
import { CircuitOpenError } from '../../src/errors.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitState } from '../../src/strategies/circuit-breaker/CircuitState.js';
import { ManualClock } from '../support/clock.js';
import { deferred, fcParams, flush, settle, type Deferred } from './support.js';

class IgnoredError extends Error {}

interface Config {
  readonly failureThreshold: number;
  readonly failureRateThreshold: number | undefined;
  readonly windowType: 'count' | 'time';
  readonly windowSize: number;
  readonly windowDurationMs: number;
  readonly minimumCalls: number | undefined;
  readonly slowCallDurationMs: number | undefined;
  readonly slowCallRateThreshold: number | undefined;
  readonly recoveryTimeoutMs: number;
  readonly recoveryBackoff: number;
  readonly maxRecoveryTimeoutMs: number;
  readonly halfOpenMaxCalls: number;
}

// 'bad': the call resolves with a result that `recordOnResult` counts as a failure.
type Kind = 'success' | 'failure' | 'ignored' | 'bad';

type Op =
  | { readonly t: 'call'; readonly kind: Kind; readonly takes: number }
  | { readonly t: 'start'; readonly abortable: boolean }
  | { readonly t: 'finish'; readonly pick: number; readonly kind: Kind }
  | { readonly t: 'abort'; readonly pick: number }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'isolate' }
  | { readonly t: 'reset' };

// ---------------------------------------------------------------------------------------------
// The reference model. Plain arrays and a linear scan: obviously right rather than fast.

interface ModelCall {
  readonly startedAt: number;
  readonly probe: boolean;
  readonly period: number;
  /** Closes (and resets) before the call was admitted. */
  readonly closes: number;
}

type Admission =
  | { readonly admitted: true; readonly call: ModelCall }
  | {
      readonly admitted: false;
      readonly state: Exclude<CircuitState, 'closed'>;
      readonly retryAfterMs: number;
    };

interface Outcome {
  readonly at: number;
  readonly failure: boolean;
  readonly slow: boolean;
}

class Model {
  state: CircuitState = 'closed';
  readonly changes: string[] = [];
  private openedAt = 0;
  // How long the current (or last) open period lasts: recoveryTimeout after a trip from CLOSED,
  // times recoveryBackoff (capped) for each re-open from HALF_OPEN; a close resets it.
  openMs: number;
  private consecutive = 0;
  private outcomes: Outcome[] = [];
  // A HALF_OPEN period: its number, the probes it has admitted and still holds, its successes.
  private period = 0;
  // Closes and resets so far: a call admitted before the last one moves nothing, anywhere, and
  // enters no window while the circuit is CLOSED.
  private closes = 0;
  private probes = 0;
  private successes = 0;
  private slowSuccesses = 0;
  // When the last probe was admitted: once every slot is held and that is max(recoveryTimeout,
  // 10 s) ago, the probes that have not reported are lost and their slots go to new probes.
  private lastProbeAt = 0;
  private readonly probeLeaseMs: number;
  private readonly minimumCalls: number;
  private readonly halfOpenMax: number;
  private readonly bucketWidth: number;

  private readonly c: Config;

  constructor(c: Config) {
    this.c = c;
    this.openMs = c.recoveryTimeoutMs;
    this.minimumCalls = c.minimumCalls ?? (c.windowType === 'count' ? c.windowSize : 10);
    this.halfOpenMax = Math.max(1, c.halfOpenMaxCalls);
    this.probeLeaseMs = Math.max(10_000, c.recoveryTimeoutMs);
    // A TIME window is cut into buckets: one per second, between 10 and 60 of them.
    const buckets = Math.min(60, Math.max(10, Math.ceil(c.windowDurationMs / 1000)));
    this.bucketWidth = c.windowDurationMs / buckets;
  }

  private move(to: CircuitState): void {
    if (to !== this.state) this.changes.push(`${this.state}->${to}`);
    this.state = to;
  }

  /** The lazy OPEN -> HALF_OPEN move, done whenever the state is read or a call arrives. */
  tick(now: number): CircuitState {
    if (this.state === 'open' && now - this.openedAt >= this.openMs) {
      this.period++;
      this.probes = 0;
      this.successes = 0;
      this.slowSuccesses = 0;
      this.move('half-open');
    }
    return this.state;
  }

  acquire(now: number): Admission {
    const state = this.tick(now);
    if (state === 'closed') {
      return {
        admitted: true,
        call: { startedAt: now, probe: false, period: this.period, closes: this.closes },
      };
    }
    if (state === 'open') {
      return {
        admitted: false,
        state,
        retryAfterMs: this.openMs - (now - this.openedAt),
      };
    }
    if (state === 'isolated') return { admitted: false, state, retryAfterMs: Infinity };
    if (this.probes >= this.halfOpenMax) {
      if (now - this.lastProbeAt < this.probeLeaseMs) {
        return { admitted: false, state, retryAfterMs: 0 };
      }
      // Those probes are lost: from now on they neither free a slot nor decide.
      this.probes = this.successes;
      this.period++;
    }
    this.probes++;
    this.lastProbeAt = now;
    return {
      admitted: true,
      call: { startedAt: now, probe: true, period: this.period, closes: this.closes },
    };
  }

  /** A finished call: `kind` says how it ended; `aborted` when its caller gave up first. */
  finish(call: ModelCall, now: number, kind: Kind, aborted: boolean): void {
    this.tick(now);
    // Admitted before the circuit last closed: it holds no slot and moves nothing. While CLOSED
    // its window is gone; otherwise it is counted as any outcome that reports then (in a window
    // the next close empties).
    const stale = call.closes !== this.closes;
    if (aborted || kind === 'ignored') {
      // Records nothing; a probe of the current HALF_OPEN period gives its slot back.
      if (!stale && this.state === 'half-open' && call.probe && call.period === this.period) {
        this.probes--;
      }
      return;
    }
    if (stale && this.state === 'closed') return;
    const failure = kind === 'failure' || kind === 'bad';
    const slow =
      this.c.slowCallDurationMs !== undefined && now - call.startedAt >= this.c.slowCallDurationMs;
    // Every other recorded outcome enters the window, whatever the state: the metrics count it.
    this.outcomes.push({ at: now, failure, slow });
    if (stale) return;
    if (this.state === 'closed') this.recordClosed(now, failure, slow);
    // Only probes of the current HALF_OPEN period decide it; other outcomes move nothing.
    else if (this.state === 'half-open' && call.probe && call.period === this.period) {
      this.recordHalfOpen(now, failure, slow);
    }
  }

  private recordClosed(now: number, failure: boolean, slow: boolean): void {
    const w = this.window(now);
    let trip = false;
    if (failure) {
      this.consecutive++;
      trip =
        this.c.failureRateThreshold === undefined
          ? this.consecutive >= this.c.failureThreshold
          : w.calls >= this.minimumCalls && w.failures / w.calls >= this.c.failureRateThreshold;
    } else {
      this.consecutive = 0;
    }
    if (!trip && slow && this.c.slowCallRateThreshold !== undefined) {
      trip = w.calls >= this.minimumCalls && w.slow / w.calls >= this.c.slowCallRateThreshold;
    }
    if (trip) this.open(now, this.c.recoveryTimeoutMs);
  }

  private recordHalfOpen(now: number, failure: boolean, slow: boolean): void {
    if (failure) {
      this.reopen(now);
      return;
    }
    this.successes++;
    if (slow) this.slowSuccesses++;
    const slowRate = this.c.slowCallRateThreshold;
    if (slowRate !== undefined && this.slowSuccesses / this.halfOpenMax >= slowRate) {
      this.reopen(now);
    } else if (this.successes >= this.halfOpenMax) {
      this.close();
    }
  }

  private reopen(now: number): void {
    this.open(now, Math.min(this.openMs * this.c.recoveryBackoff, this.c.maxRecoveryTimeoutMs));
  }

  private open(now: number, openMs: number): void {
    this.openedAt = now;
    this.openMs = openMs;
    this.consecutive = 0;
    this.move('open');
  }

  private close(): void {
    this.openMs = this.c.recoveryTimeoutMs;
    this.outcomes = [];
    this.consecutive = 0;
    this.closes++;
    this.move('closed');
  }

  // Both start from the state as it stands now: a due move to HALF_OPEN comes first.
  isolate(now: number): void {
    this.tick(now);
    this.move('isolated');
  }

  reset(now: number): void {
    this.tick(now);
    this.close();
  }

  /**
   * The outcomes in the current window: the last `windowSize`, or those whose bucket's end is
   * less than `windowDuration` ago.
   */
  window(now: number): { calls: number; failures: number; slow: number } {
    let held: Outcome[];
    if (this.c.windowType === 'count') {
      held = this.outcomes.slice(-this.c.windowSize);
    } else {
      // An outcome counts until the end of its bucket is windowDuration old.
      const width = this.bucketWidth;
      held = this.outcomes.filter(
        (o) => now < (Math.floor(o.at / width) + 1) * width + this.c.windowDurationMs,
      );
    }
    return {
      calls: held.length,
      failures: held.filter((o) => o.failure).length,
      slow: held.filter((o) => o.slow).length,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Generators.

const rate = fc.constantFrom(0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 1);

const configArb: fc.Arbitrary<Config> = fc
  .record({
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    rateMode: fc.boolean(),
    failureRate: rate,
    windowType: fc.constantFrom('count' as const, 'time' as const),
    windowSize: fc.integer({ min: 1, max: 6 }),
    windowDurationMs: fc.constantFrom(1000, 2000, 2500, 5000, 12_000),
    minimumCalls: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    slowCallDurationMs: fc.option(fc.integer({ min: 50, max: 600 }), { nil: undefined }),
    slowRate: fc.option(rate, { nil: undefined }),
    recoveryTimeoutMs: fc.integer({ min: 100, max: 1500 }),
    recoveryBackoff: fc.oneof(
      fc.constant(1),
      fc.constantFrom(1.5, 2, 3),
      fc.double({ min: 1.01, max: 4, noNaN: true }),
    ),
    maxRecoveryFactor: fc.double({ min: 1.01, max: 20, noNaN: true }),
    halfOpenMaxCalls: fc.integer({ min: -1, max: 3 }),
  })
  .map((r) => ({
    failureThreshold: r.failureThreshold,
    failureRateThreshold: r.rateMode ? r.failureRate : undefined,
    windowType: r.windowType,
    windowSize: r.windowSize,
    windowDurationMs: r.windowDurationMs,
    // A COUNT window cannot judge before it holds minimumCalls outcomes, so it is at most its size.
    minimumCalls:
      r.minimumCalls === undefined || r.windowType === 'time'
        ? r.minimumCalls
        : Math.min(r.minimumCalls, r.windowSize),
    slowCallDurationMs: r.slowCallDurationMs,
    slowCallRateThreshold: r.slowCallDurationMs === undefined ? undefined : r.slowRate,
    recoveryTimeoutMs: r.recoveryTimeoutMs,
    recoveryBackoff: r.recoveryBackoff,
    // Above recoveryTimeout whenever the factor is above 1 (with a lower cap it grows nothing).
    maxRecoveryTimeoutMs:
      r.recoveryBackoff === 1
        ? r.recoveryTimeoutMs
        : Math.ceil(r.recoveryTimeoutMs * r.maxRecoveryFactor) + 1,
    halfOpenMaxCalls: r.halfOpenMaxCalls,
  }));

const kindArb = fc.constantFrom<Kind>('success', 'success', 'failure', 'failure', 'ignored', 'bad');

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.record({
      t: fc.constant('call' as const),
      kind: kindArb,
      takes: fc.integer({ min: 0, max: 800 }),
    }),
  },
  {
    weight: 20,
    arbitrary: fc.record({ t: fc.constant('start' as const), abortable: fc.boolean() }),
  },
  {
    weight: 20,
    arbitrary: fc.record({ t: fc.constant('finish' as const), pick: fc.nat(), kind: kindArb }),
  },
  { weight: 7, arbitrary: fc.record({ t: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 20,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 4000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'isolate' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'reset' as const }) },
);

function options(c: Config, clock: ManualClock): CircuitBreakerOptions {
  const o: Record<string, unknown> = {
    failureThreshold: c.failureThreshold,
    windowType: c.windowType,
    windowSize: c.windowSize,
    windowDuration: c.windowDurationMs,
    recoveryTimeout: c.recoveryTimeoutMs,
    halfOpenMaxCalls: c.halfOpenMaxCalls,
    recordOn: (error: unknown) => !(error instanceof IgnoredError),
    recordOnResult: (result: unknown) => result === 'bad',
    clock,
  };
  if (c.recoveryBackoff !== 1) {
    o.recoveryBackoff = c.recoveryBackoff;
    o.maxRecoveryTimeout = c.maxRecoveryTimeoutMs;
  }
  if (c.failureRateThreshold !== undefined) o.failureRateThreshold = c.failureRateThreshold;
  if (c.minimumCalls !== undefined) o.minimumCalls = c.minimumCalls;
  if (c.slowCallDurationMs !== undefined) o.slowCallDuration = c.slowCallDurationMs;
  if (c.slowCallRateThreshold !== undefined) o.slowCallRateThreshold = c.slowCallRateThreshold;
  return o as CircuitBreakerOptions;
}

// ---------------------------------------------------------------------------------------------
// Driving the real breaker and the model side by side.

interface Running {
  readonly model: ModelCall;
  readonly work: Deferred<string>;
  readonly controller: AbortController | undefined;
  aborted: boolean;
}

async function check(config: Config, ops: readonly Op[]): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const breaker = new CircuitBreaker(options(config, clock));
  const model = new Model(config);
  const changes: string[] = [];
  breaker.onStateChange(({ from, to }) => changes.push(`${from}->${to}`));
  const running: Running[] = [];

  const start = async (
    controller: AbortController | undefined,
    step: number,
  ): Promise<Running | undefined> => {
    const expected = model.acquire(clock.now());
    const work = deferred<string>();
    let called = false;
    const result = settle(
      breaker.execute(() => {
        called = true;
        return work.promise;
      }, controller?.signal),
    );
    await flush();
    if (expected.admitted) {
      expect(called, `step ${step}: admitted`).to.equal(true);
      const run: Running = { model: expected.call, work, controller, aborted: false };
      running.push(run);
      return run;
    }
    expect(called, `step ${step}: refused`).to.equal(false);
    expect(result.status).to.equal('rejected');
    const error = result.reason as CircuitOpenError;
    expect(error, `step ${step}`).to.be.instanceOf(CircuitOpenError);
    expect(error.state, `step ${step}: refusal state`).to.equal(expected.state);
    expect(error.retryAfterMs, `step ${step}: retryAfterMs`).to.equal(expected.retryAfterMs);
    return undefined;
  };

  const finish = async (run: Running, kind: Kind): Promise<void> => {
    running.splice(running.indexOf(run), 1);
    model.finish(run.model, clock.now(), kind, run.aborted);
    if (kind === 'success' || kind === 'bad') run.work.resolve(kind === 'bad' ? 'bad' : 'ok');
    else run.work.reject(kind === 'failure' ? new Error('boom') : new IgnoredError('skip'));
    await flush();
  };

  for (let step = 0; step < ops.length; step++) {
    const op = ops[step] as Op;
    switch (op.t) {
      case 'call': {
        const run = await start(undefined, step);
        if (run !== undefined) {
          await clock.advance(op.takes);
          await finish(run, op.kind);
        }
        break;
      }
      case 'start':
        await start(op.abortable ? new AbortController() : undefined, step);
        break;
      case 'finish': {
        const run = running[op.pick % Math.max(1, running.length)];
        if (run !== undefined) await finish(run, op.kind);
        break;
      }
      case 'abort': {
        const run = running.filter((r) => r.controller !== undefined && !r.aborted)[op.pick % 8];
        if (run !== undefined) {
          run.aborted = true;
          run.controller?.abort(new Error('caller gave up'));
          await flush();
        }
        break;
      }
      case 'advance':
        await clock.advance(op.ms);
        break;
      case 'isolate':
        breaker.isolate();
        model.isolate(clock.now());
        break;
      case 'reset':
        breaker.reset();
        model.reset(clock.now());
        break;
    }
    const now = clock.now();
    expect(breaker.state, `step ${step}: state`).to.equal(model.tick(now));
    const m = breaker.metrics;
    const w = model.window(now);
    expect(
      [m.bufferedCalls, m.failedCalls, m.slowCalls],
      `step ${step}: window (calls, failures, slow)`,
    ).to.deep.equal([w.calls, w.failures, w.slow]);
    expect(changes, `step ${step}: state changes`).to.deep.equal(model.changes);
    expect(m.openDurationMs, `step ${step}: open duration`).to.equal(
      config.recoveryBackoff === 1 ? undefined : model.openMs,
    );
  }
  // Let whatever is still running end, so nothing is left pending.
  for (const run of running.splice(0)) run.work.resolve('late');
  await flush();
}

// Calls that overlap a trip, a recovery and the next HALF_OPEN period: the mix where a call
// admitted in one period ends in another.
const overlapping: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('start' as const), abortable: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('finish' as const),
      pick: fc.nat({ max: 3 }),
      kind: fc.constantFrom<Kind>('success', 'failure', 'ignored', 'bad'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('abort' as const), pick: fc.nat({ max: 3 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.constantFrom(1, 100),
    }),
  },
);

describe('CircuitBreaker (model-checked)', () => {
  it('agrees with the reference model at every step of random call sequences in every mode', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }),
        check,
      ),
      fcParams(),
    );
  });

  it('agrees with the model in consecutive mode with overlapping half-open probes', async function () {
    this.timeout(60_000);
    const consecutive = configArb.map((c) => ({
      ...c,
      failureRateThreshold: undefined,
      slowCallRateThreshold: undefined,
      halfOpenMaxCalls: 2,
    }));
    await fc.assert(
      fc.asyncProperty(
        consecutive,
        fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }),
        check,
      ),
      fcParams(),
    );
  });

  it('keeps the circuit OPEN for min(recoveryTimeout * recoveryBackoff^k, maxRecoveryTimeout) after k consecutive re-opens, and for recoveryTimeout again after a close', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5_000 }),
        fc.double({ min: 1.01, max: 5, noNaN: true }),
        fc.double({ min: 1.01, max: 100, noNaN: true }),
        // Each round: how many re-opens in a row before a probe succeeds and closes it.
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 3 }),
        async (recoveryMs, backoff, capFactor, rounds) => {
          const maxMs = Math.ceil(recoveryMs * capFactor) + 1;
          const clock = new ManualClock(1_000);
          const breaker = new CircuitBreaker({
            failureThreshold: 1,
            recoveryTimeout: recoveryMs,
            recoveryBackoff: backoff,
            maxRecoveryTimeout: maxMs,
            clock,
          });
          const fail = (): Promise<unknown> =>
            breaker.execute(() => Promise.reject(new Error('boom'))).catch(() => undefined);
          // The open time, as the refusal right after a (re-)open reports it.
          const openTime = async (): Promise<number> => {
            const refusal = await breaker
              .execute(() => 'never')
              .then(
                () => expect.fail('admitted while OPEN'),
                (error: unknown) => error as CircuitOpenError,
              );
            expect(refusal).to.be.instanceOf(CircuitOpenError);
            expect(breaker.metrics.openDurationMs).to.equal(refusal.retryAfterMs);
            return refusal.retryAfterMs;
          };
          for (const reopens of rounds) {
            await fail();
            expect(await openTime()).to.equal(recoveryMs);
            for (let k = 1; k <= reopens; k++) {
              await clock.advance(maxMs);
              expect(breaker.state).to.equal('half-open');
              await fail();
              const expected = Math.min(recoveryMs * backoff ** k, maxMs);
              const got = await openTime();
              expect(Math.abs(got - expected), `re-open ${k}`).to.be.at.most(expected * 1e-9);
              // It reads HALF_OPEN once that time has passed, not before.
              await clock.advance(Math.ceil(got) - 1);
              expect(breaker.state).to.equal('open');
              await clock.advance(1);
              expect(breaker.state).to.equal('half-open');
            }
            await clock.advance(maxMs);
            expect(await breaker.execute(() => 'ok')).to.equal('ok');
            expect(breaker.state).to.equal('closed');
            expect(breaker.metrics.openDurationMs).to.equal(recoveryMs);
          }
        },
      ),
      fcParams(),
    );
  });

  it('never holds more than halfOpenMaxCalls probes when calls overlap several periods', async function () {
    this.timeout(60_000);
    const fast = configArb.map((c) => ({ ...c, recoveryTimeoutMs: 100, failureThreshold: 1 }));
    await fc.assert(
      fc.asyncProperty(
        fast,
        fc.array(overlapping, { minLength: 10, maxLength: 40, size: 'max' }),
        check,
      ),
      fcParams(),
    );
  });
});
