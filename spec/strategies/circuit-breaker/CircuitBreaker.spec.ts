import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError, isCircuitOpenError } from '../../../src/errors.js';
import type { Clock } from '../../../src/internal/clock.js';
import { NEVER_ABORTED } from '../../../src/internal/signals.js';
import type { CircuitStateChange } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type {
  CircuitAdmission,
  CircuitBreakerMetrics,
  CircuitBreakerStore,
  CircuitBreakerStoreConfig,
  CircuitOutcome,
} from '../../../src/strategies/circuit-breaker/store.js';
import { InMemoryCircuitBreakerStore } from '../../../src/strategies/circuit-breaker/store.js';
import type { CircuitState } from '../../../src/strategies/circuit-breaker/CircuitState.js';
import { deferred, flush, rejectionOf } from '../../support/promises.js';

class ManualClock implements Clock {
  t = 0;
  reads = 0;
  now(): number {
    this.reads++;
    return this.t;
  }
  setTimeout(): unknown {
    throw new Error('a circuit breaker must not set timers');
  }
  clearTimeout(): void {}
  advance(ms: number): void {
    this.t += ms;
  }
}

class ConnectionError extends Error {}
class ResetError extends ConnectionError {}
class ValidationError extends Error {}

/** Runs one call per letter through `execute`: F fails, S succeeds. Rejections are swallowed. */
async function run(breaker: CircuitBreaker, pattern: string): Promise<void> {
  for (const letter of pattern) {
    await breaker
      .execute(() => (letter === 'F' ? Promise.reject(new Error('boom')) : 'ok'))
      .catch(() => undefined);
  }
}

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock();
  });

  describe('defaults', () => {
    it('trips after 5 consecutive failures by default', async () => {
      const breaker = new CircuitBreaker({ clock });
      await run(breaker, 'FFFF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('stays open for 30 seconds by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      await run(breaker, 'F');
      clock.advance(29_999);
      expect(breaker.state).to.equal('open');
      clock.advance(1);
      expect(breaker.state).to.equal('half-open');
    });

    it('admits one half-open probe by default, and its success closes the circuit', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 10 });
      await run(breaker, 'F');
      clock.advance(10);
      const probe = deferred();
      const first = breaker.execute(() => probe.promise);
      const second = await rejectionOf(breaker.execute(() => 'never'));
      expect(second).to.be.instanceOf(CircuitOpenError);
      probe.resolve('ok');
      expect(await first).to.equal('ok');
      expect(breaker.state).to.equal('closed');
    });

    it('keeps a count window of the last 10 calls by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 100 });
      await run(breaker, 'FFFFFSSSSSSS');
      expect(breaker.metrics).to.include({ bufferedCalls: 10, failedCalls: 3 });
    });

    it('judges a failure rate only on a full count window by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5 });
      await run(breaker, 'FFFFFFFFF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('uses a 60 second time window with a minimum of 10 calls when windowType is time', async () => {
      const breaker = new CircuitBreaker({ clock, windowType: 'time', failureRateThreshold: 0.5 });
      for (let i = 0; i < 9; i++) {
        await run(breaker, 'F');
        clock.advance(6_000);
      }
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(9);
      // t = 54s: all nine are still inside the last 60s
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('keeps outcomes in a time window for 60 seconds by default', async () => {
      const breaker = new CircuitBreaker({ clock, windowType: 'time' });
      await run(breaker, 'F');
      clock.advance(59_999);
      expect(breaker.metrics.bufferedCalls).to.equal(1);
      clock.advance(1);
      expect(breaker.metrics.bufferedCalls).to.equal(0);
    });

    it('counts every error as a failure by default', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await breaker.execute(() => Promise.reject(new TypeError('x'))).catch(() => undefined);
      await breaker.execute(() => Promise.reject(new ValidationError('x'))).catch(() => undefined);
      await breaker.execute(() => Promise.reject('a string')).catch(() => undefined);
      expect(breaker.state).to.equal('open');
    });

    it('starts closed with empty metrics', () => {
      expect(new CircuitBreaker().metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0,
        slowCallRate: 0,
        bufferedCalls: 0,
        failedCalls: 0,
        slowCalls: 0,
      });
    });
  });

  describe('consecutive mode', () => {
    it('trips after failureThreshold consecutive failures', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('resets the count on a success', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FFSFFSFF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('still keeps the window for metrics', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3, windowSize: 4 });
      await run(breaker, 'SFSFF');
      expect(breaker.metrics).to.deep.include({
        state: 'closed',
        bufferedCalls: 4,
        failedCalls: 3,
        failureRate: 0.75,
      });
    });

    it('trips with a failureThreshold of 1 on the first failure', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      await run(breaker, 'SSSF');
      expect(breaker.state).to.equal('open');
    });
  });

  describe('rate mode over a count window', () => {
    it('does not trip when the call that fills the window at the threshold is a success (F,F,S,S at 50%)', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFSS');
      expect(breaker.metrics).to.include({ failureRate: 0.5, bufferedCalls: 4 });
      expect(breaker.state).to.equal('closed');
    });

    it('trips on the next failure that keeps the full window at the threshold (then F: F,S,S,F)', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFSS');
      await run(breaker, 'F'); // window F,S,S,F
      expect(breaker.state).to.equal('open');
    });

    it('never judges a partial window, even at a 100% failure rate', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFF');
      expect(breaker.metrics.failureRate).to.equal(1);
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('does not trip on a success even when the full window is above the threshold', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5, windowSize: 4 });
      await run(breaker, 'FFFS'); // full window at 0.75, filled by a success
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'S'); // F,F,S,S
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F'); // F,S,S,F = 0.5
      expect(breaker.state).to.equal('open');
    });

    it('does not trip while the failure rate stays below the threshold', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.75, windowSize: 4 });
      await run(breaker, 'SSFFSSFF');
      expect(breaker.metrics.failureRate).to.equal(0.5);
      expect(breaker.state).to.equal('closed');
    });

    it('trips when a failure brings the full window exactly to the threshold', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.75, windowSize: 4 });
      await run(breaker, 'SFSF'); // 0.5
      await run(breaker, 'F'); // F,S,F,F = 0.75
      expect(breaker.state).to.equal('open');
    });

    it('ignores failureThreshold in rate mode', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        failureRateThreshold: 1,
        windowSize: 3,
      });
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    it('judges a rate once an explicit smaller minimumCalls outcomes are recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureRateThreshold: 0.5,
        windowSize: 10,
        minimumCalls: 3,
      });
      await run(breaker, 'FS');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F'); // 3 outcomes, 2/3
      expect(breaker.state).to.equal('open');
    });

    it('with minimumCalls still judges the rate only when a failure is recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureRateThreshold: 0.5,
        windowSize: 10,
        minimumCalls: 2,
      });
      await run(breaker, 'F');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'S'); // 2 outcomes at 0.5, but a success
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });
  });

  describe('rate mode over a time window', () => {
    const options = {
      windowType: 'time',
      windowDuration: '10s',
      failureRateThreshold: 0.5,
      minimumCalls: 4,
    } as const;

    it('judges the outcomes of the last windowDuration once minimumCalls are there', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FFS');
      clock.advance(9_999);
      await run(breaker, 'F'); // 4 outcomes within 10s, 3/4
      expect(breaker.state).to.equal('open');
    });

    it('drops outcomes at the exact end of the window', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FFF');
      clock.advance(10_000);
      expect(breaker.metrics.bufferedCalls).to.equal(0);
      await run(breaker, 'F'); // only 1 outcome left in the window
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics).to.include({ bufferedCalls: 1, failedCalls: 1 });
    });

    it('slides: old failures leave and new successes dilute the rate', async () => {
      const breaker = new CircuitBreaker({ clock, ...options, failureRateThreshold: 0.6 });
      await run(breaker, 'FF'); // t = 0
      clock.advance(5_000);
      await run(breaker, 'SS'); // t = 5s
      clock.advance(5_000); // t = 10s: the two failures have left
      await run(breaker, 'SF'); // S,S,S,F = 0.25
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 1 });
    });

    it('does not judge before minimumCalls outcomes, however high the rate', async () => {
      const breaker = new CircuitBreaker({ clock, ...options });
      await run(breaker, 'FFF');
      expect(breaker.state).to.equal('closed');
    });

    it('reads no clock for a count window on the hot path', async () => {
      const breaker = new CircuitBreaker({ clock, failureRateThreshold: 0.5 });
      const before = clock.reads;
      await run(breaker, 'SSSSSFFS');
      expect(clock.reads).to.equal(before);
    });
  });

  describe('slow calls', () => {
    function slowCall(ms: number): () => string {
      return () => {
        clock.advance(ms);
        return 'ok';
      };
    }

    it('counts a call that takes at least slowCallDuration as slow', async () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: 1_000 });
      await breaker.execute(slowCall(999));
      expect(breaker.metrics.slowCalls).to.equal(0);
      await breaker.execute(slowCall(1_000));
      expect(breaker.metrics).to.include({ slowCalls: 1, bufferedCalls: 2, slowCallRate: 0.5 });
    });

    it('measures an asynchronous call from start to settlement', async () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: 100 });
      const pending = deferred();
      const result = breaker.execute(() => pending.promise);
      clock.advance(150);
      pending.resolve('late');
      expect(await result).to.equal('late');
      expect(breaker.metrics.slowCalls).to.equal(1);
    });

    it('trips when a slow call brings the full window to slowCallRateThreshold', async () => {
      const breaker = new CircuitBreaker({
        clock,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.5,
        windowSize: 4,
      });
      await breaker.execute(slowCall(100));
      await breaker.execute(slowCall(100));
      await breaker.execute(slowCall(1));
      expect(breaker.state).to.equal('closed'); // partial window
      await breaker.execute(slowCall(1)); // full at 0.5, but not a slow call
      expect(breaker.state).to.equal('closed');
      await breaker.execute(slowCall(200)); // S,F,F,S = 0.5
      expect(breaker.state).to.equal('open');
    });

    it('judges the slow-call rate once an explicit minimumCalls outcomes are recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        slowCallDuration: 100,
        slowCallRateThreshold: 1,
        minimumCalls: 2,
      });
      await breaker.execute(slowCall(100));
      expect(breaker.state).to.equal('closed');
      await breaker.execute(slowCall(100));
      expect(breaker.state).to.equal('open');
    });

    it('counts a slow failing call as a failure and as slow', async () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: 100 });
      const error = new Error('slow and broken');
      const caught = await rejectionOf(
        breaker.execute(() => {
          clock.advance(100);
          return Promise.reject(error);
        }),
      );
      expect(caught).to.equal(error);
      expect(breaker.metrics).to.include({
        bufferedCalls: 1,
        failedCalls: 1,
        slowCalls: 1,
        failureRate: 1,
        slowCallRate: 1,
      });
    });

    it('lets slow successes trip in consecutive mode while they reset the failure count', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 2,
        slowCallDuration: 50,
        slowCallRateThreshold: 0.5,
        windowSize: 4,
        minimumCalls: 4,
      });
      await run(breaker, 'F');
      await breaker.execute(slowCall(60)); // resets the consecutive count
      await run(breaker, 'F');
      expect(breaker.state).to.equal('closed');
      await breaker.execute(slowCall(60)); // F,S,F,S: 2 slow of 4
      expect(breaker.state).to.equal('open');
    });

    it('reads the clock around calls only when slowCallDuration is set', async () => {
      const plain = new CircuitBreaker({ clock });
      expect(plain.timesCalls).to.equal(false);
      const before = clock.reads;
      await plain.execute(() => 'ok');
      await plain.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
      expect(clock.reads).to.equal(before);

      const timed = new CircuitBreaker({ clock, slowCallDuration: '1s' });
      expect(timed.timesCalls).to.equal(true);
      expect(timed.clock).to.equal(clock);
      await timed.execute(() => 'ok');
      expect(clock.reads).to.equal(before + 2);
    });

    it('takes durations given to onSuccess and onFailure', () => {
      const breaker = new CircuitBreaker({ clock, slowCallDuration: '2s' });
      breaker.beforeCall();
      breaker.onSuccess(2_000);
      breaker.beforeCall();
      breaker.onFailure(new Error('x'), 2_500);
      breaker.beforeCall();
      breaker.onSuccess(1_999);
      breaker.beforeCall();
      breaker.onSuccess();
      expect(breaker.metrics).to.include({ bufferedCalls: 4, failedCalls: 1, slowCalls: 2 });
    });

    it('counts no call as slow without slowCallDuration, whatever duration is reported', () => {
      const breaker = new CircuitBreaker({ clock });
      breaker.beforeCall();
      breaker.onSuccess(1e9);
      expect(breaker.metrics.slowCalls).to.equal(0);
    });

    it('re-opens from half-open when slow probes reach slowCallRateThreshold', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.5,
        halfOpenMaxCalls: 2,
      });
      await run(breaker, 'F');
      clock.advance(10);
      await breaker.execute(slowCall(100));
      expect(breaker.state).to.equal('open');
    });

    it('closes from half-open when slow probes stay below slowCallRateThreshold', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
        slowCallDuration: 100,
        slowCallRateThreshold: 0.6,
        halfOpenMaxCalls: 2,
      });
      await run(breaker, 'F');
      clock.advance(10);
      await breaker.execute(slowCall(100)); // 1 of 2 = 0.5
      expect(breaker.state).to.equal('half-open');
      await breaker.execute(slowCall(1));
      expect(breaker.state).to.equal('closed');
    });
  });

  describe('recordOn', () => {
    it('counts only errors of the listed classes (and their subclasses) as failures', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 2,
        recordOn: [ConnectionError],
      });
      await breaker.execute(() => Promise.reject(new ConnectionError('a'))).catch(() => undefined);
      await breaker.execute(() => Promise.reject(new ResetError('b'))).catch(() => undefined);
      expect(breaker.state).to.equal('open');
    });

    it('lets other errors through unchanged, counting them as neither failure nor success', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 2,
        recordOn: [ConnectionError],
      });
      const other = new ValidationError('bad input');
      await run(breaker, 'F');
      expect(await rejectionOf(breaker.execute(() => Promise.reject(other)))).to.equal(other);
      expect(breaker.metrics).to.include({ bufferedCalls: 0 });
      // Not a success either: the run of consecutive failures goes on.
      const breaker2 = new CircuitBreaker({ clock, failureThreshold: 2, recordOn: [Error] });
      await run(breaker2, 'F');
      await breaker2.execute(() => Promise.reject('not an Error')).catch(() => undefined);
      expect(breaker2.metrics.bufferedCalls).to.equal(1);
      await run(breaker2, 'F');
      expect(breaker2.state).to.equal('open');
    });

    it('accepts a predicate', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: (error) => error instanceof Error && error.message === 'timeout',
      });
      await breaker.execute(() => Promise.reject(new Error('not found'))).catch(() => undefined);
      expect(breaker.state).to.equal('closed');
      await breaker.execute(() => Promise.reject(new Error('timeout'))).catch(() => undefined);
      expect(breaker.state).to.equal('open');
    });

    it('counts an error as a failure when the recordOn predicate itself throws', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: () => {
          throw new Error('broken predicate');
        },
      });
      const error = new Error('original');
      expect(await rejectionOf(breaker.execute(() => Promise.reject(error)))).to.equal(error);
      expect(breaker.state).to.equal('open');
    });

    it('applies recordOn in onFailure too', () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: [ConnectionError],
      });
      breaker.beforeCall();
      breaker.onFailure(new ValidationError('x'));
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(0);
      breaker.beforeCall();
      breaker.onFailure(new ConnectionError('x'));
      expect(breaker.state).to.equal('open');
    });

    it('gives back the half-open probe slot of a call whose error is not recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
        recordOn: [ConnectionError],
      });
      await breaker.execute(() => Promise.reject(new ConnectionError('x'))).catch(() => undefined);
      clock.advance(10);
      await breaker.execute(() => Promise.reject(new ValidationError('x'))).catch(() => undefined);
      expect(breaker.state).to.equal('half-open');
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      expect(breaker.state).to.equal('closed');
    });
  });

  describe('open', () => {
    it('refuses calls with CircuitOpenError without calling fn', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '10s' });
      await run(breaker, 'F');
      const fn = sinon.spy(() => 'never');
      clock.advance(4_000);
      const error = await rejectionOf(breaker.execute(fn));
      expect(fn.callCount).to.equal(0);
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(isCircuitOpenError(error)).to.equal(true);
      expect(error).to.include({
        state: 'open',
        retryAfterMs: 6_000,
        code: 'CIRCUIT_OPEN',
        message: 'Circuit breaker is open',
        name: 'CircuitOpenError',
      });
    });

    it('refuses in beforeCall by throwing', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 1_000 });
      await run(breaker, 'F');
      clock.advance(250);
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .that.includes({ state: 'open', retryAfterMs: 750 });
    });

    it('returns a rejected promise rather than throwing from execute', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      await run(breaker, 'F');
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = breaker.execute(() => 'x');
      }).not.to.throw();
      expect(await rejectionOf(promise as Promise<unknown>)).to.be.instanceOf(CircuitOpenError);
    });

    it('ignores outcomes of calls that were admitted before it opened', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 100 });
      const slow = deferred();
      const late = breaker.execute(() => slow.promise);
      await run(breaker, 'F');
      slow.resolve('late');
      await late;
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics).to.include({ bufferedCalls: 1, failedCalls: 1 });
    });
  });

  describe('half-open', () => {
    async function opened(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: '10s',
        ...options,
      });
      await run(breaker, 'F');
      return breaker;
    }

    it('reads half-open at exactly recoveryTimeout, lazily, without timers', async () => {
      const breaker = await opened();
      clock.advance(9_999);
      expect(breaker.state).to.equal('open');
      clock.advance(1);
      expect(breaker.state).to.equal('half-open');
    });

    it('moves to half-open on a call once recoveryTimeout has passed, without a state read', async () => {
      const breaker = await opened();
      const changes: CircuitStateChange[] = [];
      breaker.onStateChange((c) => changes.push(c));
      clock.advance(10_000);
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      expect(changes).to.deep.equal([
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'closed' },
      ]);
    });

    it('refuses a probe beyond the budget at once with state half-open and retryAfterMs 0', async () => {
      const breaker = await opened();
      clock.advance(10_000);
      const probe = deferred();
      const first = breaker.execute(() => probe.promise);
      const fn = sinon.spy(() => 'x');
      const error = await rejectionOf(breaker.execute(fn));
      expect(fn.callCount).to.equal(0);
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(error).to.include({ state: 'half-open', retryAfterMs: 0 });
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .that.includes({ state: 'half-open', retryAfterMs: 0 });
      probe.resolve('ok');
      await first;
    });

    it('closes with halfOpenMaxCalls 2 only after two successes, refusing a third concurrent probe', async () => {
      const breaker = await opened({ halfOpenMaxCalls: 2 });
      clock.advance(10_000);
      const a = deferred();
      const b = deferred();
      const first = breaker.execute(() => a.promise);
      const second = breaker.execute(() => b.promise);
      const third = await rejectionOf(breaker.execute(() => 'x'));
      expect(third).to.be.instanceOf(CircuitOpenError).and.include({ state: 'half-open' });
      a.resolve('a');
      await first;
      expect(breaker.state).to.equal('half-open');
      // The first probe's slot is spent, not given back: still no room.
      expect(await rejectionOf(breaker.execute(() => 'x'))).to.be.instanceOf(CircuitOpenError);
      b.resolve('b');
      await second;
      expect(breaker.state).to.equal('closed');
    });

    it('re-opens on any probe failure, for a new recoveryTimeout', async () => {
      const breaker = await opened({ halfOpenMaxCalls: 3 });
      clock.advance(10_000);
      await run(breaker, 'S');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
      clock.advance(2_000);
      const error = await rejectionOf(breaker.execute(() => 'x'));
      expect(error).to.include({ state: 'open', retryAfterMs: 8_000 });
      clock.advance(8_000);
      expect(breaker.state).to.equal('half-open');
    });

    it('closes with an empty window and counts', async () => {
      const breaker = await opened({ failureThreshold: 2, windowSize: 5 });
      await run(breaker, 'F');
      expect(breaker.metrics).to.include({ state: 'open', bufferedCalls: 2, failedCalls: 2 });
      clock.advance(10_000);
      await run(breaker, 'S');
      expect(breaker.metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0,
        slowCallRate: 0,
        bufferedCalls: 0,
        failedCalls: 0,
        slowCalls: 0,
      });
      await run(breaker, 'F');
      expect(breaker.state).to.equal('closed');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });

    for (const value of [0, -1, -100]) {
      it(`takes halfOpenMaxCalls ${value} as 1`, async () => {
        const breaker = await opened({ halfOpenMaxCalls: value });
        clock.advance(10_000);
        const probe = deferred();
        const first = breaker.execute(() => probe.promise);
        expect(await rejectionOf(breaker.execute(() => 'x'))).to.be.instanceOf(CircuitOpenError);
        probe.resolve('ok');
        await first;
        expect(breaker.state).to.equal('closed');
      });
    }

    it('works through beforeCall, onSuccess and onFailure by hand', async () => {
      const breaker = await opened({ halfOpenMaxCalls: 2 });
      clock.advance(10_000);
      breaker.beforeCall();
      breaker.beforeCall();
      expect(() => breaker.beforeCall()).to.throw(CircuitOpenError);
      breaker.onSuccess();
      expect(breaker.state).to.equal('half-open');
      breaker.onFailure(new Error('still down'));
      expect(breaker.state).to.equal('open');
    });

    it('gives back a probe slot through onCancel', async () => {
      const breaker = await opened();
      clock.advance(10_000);
      breaker.beforeCall();
      expect(() => breaker.beforeCall()).to.throw(CircuitOpenError);
      breaker.onCancel();
      expect(() => breaker.beforeCall()).not.to.throw();
      expect(breaker.state).to.equal('half-open');
    });
  });

  describe('isolate and reset', () => {
    it('isolate forces the circuit open until reset, refusing with retryAfterMs Infinity', async () => {
      const breaker = new CircuitBreaker({ clock, recoveryTimeout: 10 });
      breaker.isolate();
      expect(breaker.state).to.equal('isolated');
      const fn = sinon.spy(() => 'x');
      const error = await rejectionOf(breaker.execute(fn));
      expect(fn.callCount).to.equal(0);
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(error).to.include({ state: 'isolated', retryAfterMs: Infinity });
      expect(() => breaker.beforeCall())
        .to.throw(CircuitOpenError)
        .that.includes({ state: 'isolated' });
      clock.advance(1e9);
      expect(breaker.state).to.equal('isolated');
      breaker.reset();
      expect(breaker.state).to.equal('closed');
      expect(await breaker.execute(() => 'back')).to.equal('back');
    });

    it('isolate ignores outcomes of calls still running', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const pending = deferred();
      const call = breaker.execute(() => pending.promise);
      breaker.isolate();
      pending.resolve('done');
      await call;
      expect(breaker.state).to.equal('isolated');
    });

    it('reset closes an open circuit and clears every count', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FFF');
      expect(breaker.state).to.equal('open');
      breaker.reset();
      expect(breaker.metrics).to.include({ state: 'closed', bufferedCalls: 0 });
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
    });

    it('reset clears the consecutive count of a closed circuit', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 3 });
      await run(breaker, 'FF');
      breaker.reset();
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('closed');
    });
  });

  describe('metrics', () => {
    it('reports rates and counts over the current count window', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 100, windowSize: 5 });
      await run(breaker, 'FFSSSSF'); // window S,S,S,S,F after the first two leave
      expect(breaker.metrics).to.deep.equal({
        state: 'closed',
        failureRate: 0.2,
        slowCallRate: 0,
        bufferedCalls: 5,
        failedCalls: 1,
        slowCalls: 0,
      });
    });

    it('reports the lazy half-open state and emits its change', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 5 });
      await run(breaker, 'F');
      const changes: CircuitStateChange[] = [];
      breaker.onStateChange((c) => changes.push(c));
      clock.advance(5);
      expect(breaker.metrics.state).to.equal('half-open');
      expect(changes).to.deep.equal([{ from: 'open', to: 'half-open' }]);
    });

    it('reports a time window as of the moment it is read', async () => {
      const breaker = new CircuitBreaker({ clock, windowType: 'time', windowDuration: '10s' });
      await run(breaker, 'FS');
      expect(breaker.metrics).to.include({ bufferedCalls: 2, failureRate: 0.5 });
      clock.advance(10_000);
      expect(breaker.metrics).to.include({ bufferedCalls: 0, failureRate: 0 });
    });
  });

  describe('onStateChange', () => {
    it('reports every transition with from and to', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
      });
      const changes: CircuitStateChange[] = [];
      breaker.onStateChange((c) => changes.push(c));
      await run(breaker, 'F');
      clock.advance(10);
      expect(breaker.state).to.equal('half-open');
      await run(breaker, 'F');
      clock.advance(10);
      await run(breaker, 'S');
      breaker.isolate();
      breaker.reset();
      expect(changes).to.deep.equal([
        { from: 'closed', to: 'open' },
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'open' },
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'closed' },
        { from: 'closed', to: 'isolated' },
        { from: 'isolated', to: 'closed' },
      ]);
    });

    it('emits nothing when the state does not change', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 2 });
      const listener = sinon.spy();
      breaker.onStateChange(listener);
      await run(breaker, 'SFS');
      breaker.reset();
      expect(breaker.state).to.equal('closed');
      expect(listener.callCount).to.equal(0);
    });

    it('stops calling a listener once unsubscribed', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const listener = sinon.spy();
      const unsubscribe = breaker.onStateChange(listener);
      unsubscribe();
      unsubscribe(); // twice is harmless
      await run(breaker, 'F');
      expect(listener.callCount).to.equal(0);
    });

    it('keeps working, and keeps calling other listeners, when a listener throws', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const good = sinon.spy();
      breaker.onStateChange(() => {
        throw new Error('faulty listener');
      });
      breaker.onStateChange(good);
      const error = new Error('call failed');
      expect(await rejectionOf(breaker.execute(() => Promise.reject(error)))).to.equal(error);
      expect(breaker.state).to.equal('open');
      expect(good.calledOnceWith({ from: 'closed', to: 'open' })).to.equal(true);
    });

    it('calls every listener even when one unsubscribes another during an event', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const second = sinon.spy();
      let unsubscribeSecond = (): void => undefined;
      breaker.onStateChange(() => unsubscribeSecond());
      unsubscribeSecond = breaker.onStateChange(second);
      await run(breaker, 'F');
      expect(second.callCount).to.equal(1);
      breaker.reset();
      expect(second.callCount).to.equal(1);
    });

    it('rejects a listener that is not a function', () => {
      expect(() => new CircuitBreaker().onStateChange('nope' as never)).to.throw(TypeError);
    });
  });

  describe('execute', () => {
    it('resolves with the value of fn, sync or async', async () => {
      const breaker = new CircuitBreaker({ clock });
      expect(await breaker.execute(() => 42)).to.equal(42);
      expect(await breaker.execute(async () => 'async')).to.equal('async');
    });

    it('passes fn a signal that never aborts when the caller gave none, else the caller signal', async () => {
      const breaker = new CircuitBreaker({ clock });
      let received: AbortSignal | undefined;
      await breaker.execute((signal) => {
        received = signal;
      });
      expect(received).to.equal(NEVER_ABORTED);
      const controller = new AbortController();
      await breaker.execute((signal) => {
        received = signal;
      }, controller.signal);
      expect(received).to.equal(controller.signal);
    });

    it('rethrows the same error object and records it', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const error = new ConnectionError('down');
      expect(await rejectionOf(breaker.execute(() => Promise.reject(error)))).to.equal(error);
      expect(breaker.state).to.equal('open');
    });

    it('turns a synchronous throw into a rejection and records it', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const error = new Error('sync');
      const promise = breaker.execute(() => {
        throw error;
      });
      expect(promise).to.be.instanceOf(Promise);
      expect(await rejectionOf(promise)).to.equal(error);
      expect(breaker.state).to.equal('open');
    });

    it('rejects at once with the reason of an already-aborted signal, without calling fn or recording', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      const fn = sinon.spy(() => 'x');
      expect(await rejectionOf(breaker.execute(fn, controller.signal))).to.equal(reason);
      expect(fn.callCount).to.equal(0);
      expect(breaker.metrics.bufferedCalls).to.equal(0);
    });

    it('rejects promptly with the abort reason and records nothing when the call settles', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const controller = new AbortController();
      const pending = deferred();
      const promise = breaker.execute(() => pending.promise, controller.signal);
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(await rejectionOf(promise)).to.equal(reason);
      pending.reject(new Error('failed after the abort'));
      await flush();
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(0);
    });

    it('records nothing for a call that succeeds after its caller aborted', async () => {
      const breaker = new CircuitBreaker({ clock });
      const controller = new AbortController();
      const pending = deferred();
      const promise = breaker.execute(() => pending.promise, controller.signal);
      controller.abort();
      await rejectionOf(promise);
      pending.resolve('late');
      await flush();
      expect(breaker.metrics.bufferedCalls).to.equal(0);
    });

    it('holds an aborted probe slot until the work settles, then gives it back', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 10 });
      await run(breaker, 'F');
      clock.advance(10);
      const controller = new AbortController();
      const pending = deferred();
      const probe = breaker.execute(() => pending.promise, controller.signal);
      controller.abort();
      await rejectionOf(probe);
      expect(await rejectionOf(breaker.execute(() => 'x'))).to.be.instanceOf(CircuitOpenError);
      pending.reject(new Error('aborted work'));
      await flush();
      expect(breaker.state).to.equal('half-open');
      expect(await breaker.execute(() => 'ok')).to.equal('ok');
      expect(breaker.state).to.equal('closed');
    });

    it('records a call whose signal aborts only after it settled', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
      const controller = new AbortController();
      await breaker
        .execute(() => Promise.reject(new Error('x')), controller.signal)
        .catch(() => {
          controller.abort();
        });
      expect(breaker.state).to.equal('open');
    });

    it('follows sinon fake timers through the default clock', async () => {
      const timers = sinon.useFakeTimers();
      try {
        const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '2s' });
        await run(breaker, 'F');
        timers.tick(1_999);
        expect(breaker.state).to.equal('open');
        timers.tick(1);
        expect(breaker.state).to.equal('half-open');
        expect(timers.countTimers()).to.equal(0);
      } finally {
        timers.restore();
      }
    });
  });

  describe('describe', () => {
    it('summarises consecutive mode', () => {
      expect(new CircuitBreaker().describe()).to.equal(
        'opens after 5 consecutive failures, recovery 30000 ms, 1 half-open call, on all errors',
      );
    });

    it('summarises rate mode with slow calls', () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 0.5,
        slowCallDuration: '2s',
        slowCallRateThreshold: 0.8,
        windowSize: 20,
        halfOpenMaxCalls: 3,
        recordOn: [ConnectionError],
      });
      expect(breaker.describe()).to.equal(
        'opens at 50% failures over the last 20 calls or 80% calls >= 2000 ms over the last 20 calls (minimum 20 calls), recovery 30000 ms, 3 half-open calls, on matching errors',
      );
    });
  });
});

/** An in-memory store that answers every question with a promise, as a remote store would. */
class AsyncStore implements CircuitBreakerStore {
  readonly inner = new InMemoryCircuitBreakerStore();
  configure(config: CircuitBreakerStoreConfig): void {
    this.inner.configure(config);
  }
  acquire(): Promise<CircuitAdmission> {
    return Promise.resolve().then(() => this.inner.acquire());
  }
  record(outcome: CircuitOutcome): Promise<CircuitState> {
    return Promise.resolve().then(() => this.inner.record(outcome));
  }
  release(): Promise<void> {
    return Promise.resolve().then(() => this.inner.release());
  }
  state(): Promise<CircuitState> {
    return Promise.resolve().then(() => this.inner.state());
  }
  snapshot(): Promise<CircuitBreakerMetrics> {
    return Promise.resolve().then(() => this.inner.snapshot());
  }
  isolate(): Promise<void> {
    return Promise.resolve().then(() => this.inner.isolate());
  }
  reset(): Promise<void> {
    return Promise.resolve().then(() => this.inner.reset());
  }
}

describe('InMemoryCircuitBreakerStore', () => {
  it('serves one breaker only', () => {
    const store = new InMemoryCircuitBreakerStore();
    new CircuitBreaker({ store });
    expect(() => new CircuitBreaker({ store })).to.throw(Error, 'already serves');
  });

  it('is the state machine behind a breaker it is given', async () => {
    const clock = new ManualClock();
    const store = new InMemoryCircuitBreakerStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 2, recoveryTimeout: 10 });
    await run(breaker, 'FF');
    expect(store.state()).to.equal('open');
    expect(store.acquire()).to.include({ admitted: false, state: 'open', retryAfterMs: 10 });
    clock.advance(10);
    expect(store.acquire()).to.include({ admitted: true, state: 'half-open', probe: true });
    expect(store.acquire()).to.include({ admitted: false, state: 'half-open', retryAfterMs: 0 });
    store.release();
    expect(store.acquire()).to.include({ admitted: true, probe: true });
    expect(store.record({ failure: false, slow: false })).to.equal('closed');
    expect(store.snapshot()).to.include({ state: 'closed', bufferedCalls: 0 });
  });

  it('answers admission in CLOSED without allocating a new object each time', () => {
    const store = new InMemoryCircuitBreakerStore();
    new CircuitBreaker({ store });
    expect(store.acquire()).to.equal(store.acquire());
  });
});

describe('CircuitBreaker with a store that answers asynchronously', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock();
  });

  it('awaits the admission in execute and trips as the store decides', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 2, recoveryTimeout: 10 });
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
    await run(breaker, 'FF');
    await flush();
    expect(store.inner.state()).to.equal('open');
    const error = await rejectionOf(breaker.execute(() => 'x'));
    expect(error)
      .to.be.instanceOf(CircuitOpenError)
      .and.include({ state: 'open', retryAfterMs: 10 });
    clock.advance(10);
    expect(await breaker.execute(() => 'probe')).to.equal('probe');
    await flush();
    expect(store.inner.state()).to.equal('closed');
    expect(breaker.state).to.equal('closed');
  });

  it('reports transitions it learns from the store to listeners', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    const changes: CircuitStateChange[] = [];
    breaker.onStateChange((c) => changes.push(c));
    await run(breaker, 'F');
    await flush();
    clock.advance(10);
    await run(breaker, 'S');
    await flush();
    expect(changes).to.deep.equal([
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half-open' },
      { from: 'half-open', to: 'closed' },
    ]);
  });

  it('answers state and metrics synchronously with the last known values', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    await run(breaker, 'F');
    await flush();
    expect(breaker.state).to.equal('open');
    clock.advance(10);
    expect(breaker.state).to.equal('open'); // last known; asks the store
    await flush();
    expect(breaker.state).to.equal('half-open');
    expect(breaker.metrics).to.include({ bufferedCalls: 0 }); // nothing known yet
    await flush();
    expect(breaker.metrics).to.include({ state: 'half-open', bufferedCalls: 1, failedCalls: 1 });
  });

  it('decides beforeCall on the last known state', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    breaker.beforeCall();
    breaker.onFailure(new Error('x'));
    await flush();
    expect(() => breaker.beforeCall())
      .to.throw(CircuitOpenError)
      .that.includes({ state: 'open', retryAfterMs: 10 });
    clock.advance(10);
    expect(() => breaker.beforeCall()).to.throw(CircuitOpenError); // still last known OPEN
    await flush(); // the refresh it asked for has arrived
    expect(() => breaker.beforeCall()).not.to.throw();
    await flush();
    expect(breaker.state).to.equal('half-open');
    breaker.onSuccess();
    await flush();
    expect(breaker.state).to.equal('closed');
  });

  it('refuses on isolation at once and forwards isolate and reset to the store', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store });
    breaker.isolate();
    expect(breaker.state).to.equal('isolated');
    expect(() => breaker.beforeCall())
      .to.throw(CircuitOpenError)
      .that.includes({ retryAfterMs: Infinity });
    await flush();
    expect(store.inner.state()).to.equal('isolated');
    breaker.reset();
    await flush();
    expect(store.inner.state()).to.equal('closed');
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
  });

  it('gives back the probe slot of a call aborted while the admission was pending', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({ clock, store, failureThreshold: 1, recoveryTimeout: 10 });
    await run(breaker, 'F');
    clock.advance(10);
    const controller = new AbortController();
    const fn = sinon.spy(() => 'x');
    const promise = breaker.execute(fn, controller.signal);
    controller.abort();
    await rejectionOf(promise);
    await flush();
    expect(fn.callCount).to.equal(0);
    expect(store.inner.acquire()).to.include({ admitted: true, probe: true });
  });
});
