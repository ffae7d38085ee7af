// CircuitBreaker, white-box. Open periods that grow: `recoveryBackoff` multiplies the open time
// on each re-open from HALF_OPEN, up to `maxRecoveryTimeout`; a close brings it back.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';
import { breakerClock, run } from './support.js';

async function refusal(breaker: CircuitBreaker): Promise<CircuitOpenError> {
  const error = await rejectionOf(breaker.execute(() => 'never'));
  expect(error).to.be.instanceOf(CircuitOpenError);
  return error as CircuitOpenError;
}

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('recoveryBackoff and maxRecoveryTimeout', () => {
    it('multiply the open time on each re-open from HALF_OPEN, up to the cap', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: '1s',
        recoveryBackoff: 2,
        maxRecoveryTimeout: '5s',
      });
      await run(breaker, 'F');
      expect((await refusal(breaker)).retryAfterMs).to.equal(1000);
      const seen: number[] = [];
      for (const expected of [2000, 4000, 5000, 5000]) {
        await clock.advance(expected / 2 >= 1000 ? 5000 : 1000);
        expect(breaker.state).to.equal('half-open');
        await run(breaker, 'F');
        const open = (await refusal(breaker)).retryAfterMs;
        seen.push(open);
        // Still OPEN one millisecond before that time, HALF_OPEN at it.
        await clock.advance(open - 1);
        expect(breaker.state).to.equal('open');
        await clock.advance(1);
        expect(breaker.state).to.equal('half-open');
      }
      expect(seen).to.deep.equal([2000, 4000, 5000, 5000]);
    });

    it('come back to recoveryTimeout once a close ends the run of re-opens', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 100,
        recoveryBackoff: 3,
        maxRecoveryTimeout: 10_000,
      });
      await run(breaker, 'F');
      await clock.advance(100);
      await run(breaker, 'F');
      expect((await refusal(breaker)).retryAfterMs).to.equal(300);
      expect(breaker.metrics.openDurationMs).to.equal(300);
      await clock.advance(300);
      await run(breaker, 'S');
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.openDurationMs).to.equal(100);
      await run(breaker, 'F');
      expect((await refusal(breaker)).retryAfterMs).to.equal(100);
    });

    it('come back to recoveryTimeout after reset()', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 100,
        recoveryBackoff: 2,
        maxRecoveryTimeout: 1000,
      });
      await run(breaker, 'F');
      await clock.advance(100);
      await run(breaker, 'F');
      expect(breaker.metrics.openDurationMs).to.equal(200);
      breaker.reset();
      expect(breaker.metrics.openDurationMs).to.equal(100);
      await run(breaker, 'F');
      expect((await refusal(breaker)).retryAfterMs).to.equal(100);
    });

    it('grow the open time through a policy stage too', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 100,
        recoveryBackoff: 2,
        maxRecoveryTimeout: 1000,
      });
      const policy = Policy.builder('p').circuitBreaker(breaker).build();
      const fail = (): Promise<unknown> => rejectionOf(policy.execute(() => Promise.reject(1)));
      await fail();
      await clock.advance(100);
      await fail();
      const error = (await rejectionOf(policy.execute(() => 'no'))) as CircuitOpenError;
      expect(error.retryAfterMs).to.equal(200);
      expect(policy.metrics().stages[0]).to.include({ state: 'open', openDurationMs: 200 });
    });

    it('report no open duration in metrics while open periods cannot grow', async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: 100 });
      await run(breaker, 'F');
      expect(breaker.metrics).to.not.have.property('openDurationMs');
    });

    it('are shown by describe()', () => {
      expect(
        new CircuitBreaker({
          recoveryTimeout: '1s',
          recoveryBackoff: 2,
          maxRecoveryTimeout: '1m',
        }).describe(),
      ).to.include('recovery 1000 ms x2 up to 60000 ms,');
      expect(new CircuitBreaker().describe()).to.include('recovery 30000 ms,');
    });

    it('are read from configuration as recovery-backoff and max-recovery-timeout', async () => {
      const registry = PolicyRegistry.fromConfig({
        'circuit-breaker': {
          api: {
            'failure-threshold': 1,
            'recovery-timeout': '1s',
            'recovery-backoff': 1.5,
            'max-recovery-timeout': '10s',
          },
        },
        policies: { p: [{ 'circuit-breaker': 'api' }] },
      });
      expect(registry.policy('p').describe()).to.include('recovery 1000 ms x1.5 up to 10000 ms');
      expect(() =>
        PolicyRegistry.fromConfig({
          'circuit-breaker': { api: { 'recovery-backoff': 0.5, 'max-recovery-timeout': '1m' } },
        }),
      ).to.throw(RangeError, 'recovery-backoff');
    });

    describe('validation', () => {
      it('refuses a recoveryBackoff below 1 or not a finite number', () => {
        expect(
          () => new CircuitBreaker({ recoveryBackoff: 0.5, maxRecoveryTimeout: '1m' }),
        ).to.throw(RangeError, '`recoveryBackoff` must be a number >= 1, got 0.5');
        expect(
          () => new CircuitBreaker({ recoveryBackoff: Infinity, maxRecoveryTimeout: '1m' }),
        ).to.throw(RangeError, '`recoveryBackoff` must be a number >= 1, got Infinity');
        expect(() => new CircuitBreaker({ recoveryBackoff: '2' as never })).to.throw(
          TypeError,
          '`recoveryBackoff` must be a number >= 1, got "2"',
        );
      });

      it('refuses a maxRecoveryTimeout below recoveryTimeout', () => {
        expect(
          () => new CircuitBreaker({ recoveryTimeout: '10s', maxRecoveryTimeout: '5s' }),
        ).to.throw(
          RangeError,
          '`maxRecoveryTimeout` must be a duration >= `recoveryTimeout` (10000ms), got "5s"',
        );
        expect(() => new CircuitBreaker({ maxRecoveryTimeout: Infinity })).to.throw(
          RangeError,
          '`maxRecoveryTimeout`',
        );
      });

      it('accept a factor without a cap above recoveryTimeout, which then grows nothing', async () => {
        for (const options of [
          { recoveryBackoff: 2 },
          { recoveryTimeout: 100, recoveryBackoff: 2, maxRecoveryTimeout: 100 },
          { recoveryTimeout: 0, recoveryBackoff: 2, maxRecoveryTimeout: 10 },
        ]) {
          const breaker = new CircuitBreaker({ clock, failureThreshold: 1, ...options });
          const openMs = options.recoveryTimeout ?? 30_000;
          await run(breaker, 'F');
          for (let reopen = 0; reopen < 3; reopen++) {
            if (openMs > 0) expect((await refusal(breaker)).retryAfterMs).to.equal(openMs);
            await clock.advance(openMs);
            expect(breaker.state).to.equal('half-open');
            await run(breaker, 'F');
          }
          // Runs as with a factor of 1: nothing grows, so nothing is shown as growing.
          expect(breaker.metrics).to.not.have.property('openDurationMs');
          expect(breaker.describe()).to.include(`recovery ${openMs} ms,`);
          expect(breaker.toJSON().openMs).to.equal(openMs);
        }
      });

      it('accept recovery-backoff alone from configuration', () => {
        const registry = PolicyRegistry.fromConfig({
          'circuit-breaker': { api: { 'recovery-backoff': 2 } },
        });
        expect(registry.circuitBreaker('api').describe()).to.include('recovery 30000 ms,');
      });

      it('refuse NaN, a non-number and a value below 1 alone too', () => {
        expect(() => new CircuitBreaker({ recoveryBackoff: NaN })).to.throw(
          RangeError,
          '`recoveryBackoff` must be a number >= 1, got NaN',
        );
        expect(() => new CircuitBreaker({ recoveryBackoff: 0 })).to.throw(
          RangeError,
          '`recoveryBackoff` must be a number >= 1, got 0',
        );
        expect(() => new CircuitBreaker({ recoveryBackoff: null as never })).to.throw(
          TypeError,
          '`recoveryBackoff` must be a number >= 1, got null',
        );
        // A factor of 1 needs no cap, and a cap without growth is harmless.
        expect(() => new CircuitBreaker({ recoveryBackoff: 1 })).to.not.throw();
        expect(() => new CircuitBreaker({ maxRecoveryTimeout: '5m' })).to.not.throw();
      });
    });
  });
});
