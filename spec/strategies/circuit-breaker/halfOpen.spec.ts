// CircuitBreaker, white-box. HALF_OPEN: reached lazily at recoveryTimeout, its probe budget, what
// probe outcomes decide, and probe slots given back.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError } from '../../../src/errors.js';
import {
  CircuitBreaker,
  type CircuitStateChange,
} from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { deferred, rejectionOf } from '../../support/promises.js';
import { breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
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
      clock.tick(9_999);
      expect(breaker.state).to.equal('open');
      clock.tick(1);
      expect(breaker.state).to.equal('half-open');
    });

    it('moves to half-open on a call once recoveryTimeout has passed, without a state read', async () => {
      const breaker = await opened();
      const changes: CircuitStateChange[] = [];
      breaker.onStateChange((c) => changes.push(c));
      clock.tick(10_000);
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      expect(changes).to.deep.equal([
        { from: 'open', to: 'half-open' },
        { from: 'half-open', to: 'closed' },
      ]);
    });

    it('refuses a probe beyond the budget at once with state half-open and retryAfterMs 0', async () => {
      const breaker = await opened();
      clock.tick(10_000);
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
      clock.tick(10_000);
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
      clock.tick(10_000);
      await run(breaker, 'S');
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
      clock.tick(2_000);
      const error = await rejectionOf(breaker.execute(() => 'x'));
      expect(error).to.include({ state: 'open', retryAfterMs: 8_000 });
      clock.tick(8_000);
      expect(breaker.state).to.equal('half-open');
    });

    it('closes with an empty window and counts', async () => {
      const breaker = await opened({ failureThreshold: 2, windowSize: 5 });
      await run(breaker, 'F');
      expect(breaker.metrics).to.include({ state: 'open', bufferedCalls: 2, failedCalls: 2 });
      clock.tick(10_000);
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
        clock.tick(10_000);
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
      clock.tick(10_000);
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
      clock.tick(10_000);
      breaker.beforeCall();
      expect(() => breaker.beforeCall()).to.throw(CircuitOpenError);
      breaker.onCancel();
      expect(() => breaker.beforeCall()).not.to.throw();
      expect(breaker.state).to.equal('half-open');
    });
  });
});
