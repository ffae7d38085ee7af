// CircuitBreaker, white-box. Calls through `execute`: values and errors, synchronous throws, caller
// aborts, and the default clock under sinon fake timers.
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError } from '../../../src/errors.js';
import { NEVER_ABORTED } from '../../../src/internal/signals.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf } from '../../support/promises.js';
import { ConnectionError, breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
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
      clock.tick(10);
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
});
