// Plain regression specs for bugs the reliability suite found, each the shrunk failing case.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { CircuitOpenError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/primitives/Bulkhead.js';
import { CircuitBreaker } from '../../src/primitives/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/primitives/CircuitBreakerStore.js';
import { RateLimiter } from '../../src/primitives/RateLimiter.js';
import { InMemoryRateLimiterStore } from '../../src/primitives/RateLimiterStore.js';
import { Retry } from '../../src/primitives/Retry.js';
import { FakeClock, deferred, flush, settle } from './support.js';

class Ignored extends Error {}

const neverListeners = () => getEventListeners(NEVER_ABORTED, 'abort').length;

describe('Regressions', () => {
  describe('CircuitBreaker', () => {
    // Found by the model check: a probe admitted in one HALF_OPEN period that ended (here with an
    // error recordOn ignores) in a later period gave back a slot it did not hold there, so a
    // third probe was admitted with halfOpenMaxCalls 2.
    it('does not let a probe from an earlier half-open period free a slot in the next one', async () => {
      const clock = new FakeClock(0);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        halfOpenMaxCalls: 2,
        recordOn: (e) => !(e instanceof Ignored),
        clock,
      });
      await breaker.execute(() => Promise.reject(new Error('trip'))).catch(() => undefined);
      await clock.advance(100);
      const first = deferred<string>();
      const second = deferred<string>();
      settle(breaker.execute(() => first.promise));
      settle(breaker.execute(() => second.promise));
      first.reject(new Error('probe failed')); // re-opens
      await flush();
      await clock.advance(100);
      const third = deferred<string>();
      settle(breaker.execute(() => third.promise));
      settle(breaker.execute(() => deferred<string>().promise));
      second.reject(new Ignored('from the last period'));
      await flush();
      let called = false;
      const extra = settle(
        breaker.execute(() => {
          called = true;
          return 'extra';
        }),
      );
      await flush();
      expect(called, 'a third probe was admitted').to.equal(false);
      expect(extra.reason).to.be.instanceOf(CircuitOpenError);
      expect((extra.reason as CircuitOpenError).state).to.equal('half-open');
    });

    // The same through a policy: the stage calls beforeCall/onFailure/onCancel, so the breaker
    // needs the ticket beforeCall returns to know which calls hold a probe slot.
    it('does not let a call admitted while closed free a probe slot through a policy', async () => {
      const clock = new FakeClock(0);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        recordOn: (e) => !(e instanceof Ignored),
        clock,
      });
      const policy = Policy.builder('p').clock(clock).circuitBreaker(breaker).build();
      const stale = deferred<string>();
      const cancelled = new AbortController();
      const staleRun = settle(policy.execute(() => stale.promise));
      const cancelledRun = settle(
        policy.execute(() => deferred<string>().promise, { signal: cancelled.signal }),
      );
      await policy.execute(() => Promise.reject(new Error('trip'))).catch(() => undefined);
      await clock.advance(100);
      const probe = deferred<string>();
      settle(policy.execute(() => probe.promise)); // the one probe
      stale.reject(new Ignored('admitted while closed'));
      cancelled.abort(new Error('caller gave up'));
      await flush();
      expect(staleRun.status).to.equal('rejected');
      expect(cancelledRun.status).to.equal('rejected');
      let called = false;
      const extra = settle(
        policy.execute(() => {
          called = true;
          return 'extra';
        }),
      );
      await flush();
      expect(called, 'a second probe was admitted').to.equal(false);
      expect(extra.reason).to.be.instanceOf(CircuitOpenError);
    });
  });

  describe('Retry', () => {
    // Found by the property: a custom `random` returning 7 made a wait 14 times the formula's.
    it('keeps every wait within ±jitter even when a custom random returns values outside [0, 1]', () => {
      for (const r of [7, 1.5, -3, NaN, Infinity, -Infinity]) {
        const retry = new Retry({ delay: 100, jitter: 0.5, random: () => r });
        const wait = retry.delayFor(0);
        expect(wait, `random() = ${r}`).to.be.within(50, 150);
      }
    });

    it('does not listen to the shared never-aborting signal while it waits', async () => {
      const clock = new FakeClock(0);
      const retry = new Retry({ maxAttempts: 2, delay: 1000, clock });
      const runs = Array.from({ length: 20 }, () =>
        settle(retry.run(() => Promise.reject(new Error('x')), { signal: NEVER_ABORTED })),
      );
      await flush();
      expect(neverListeners()).to.equal(0);
      await clock.advance(1000);
      for (const run of runs) expect(run.status).to.equal('rejected');
    });
  });

  describe('Queues and the shared never-aborting signal', () => {
    // Found by the chaos spec (MaxListenersExceededWarning): a policy called without a signal
    // hands its stages NEVER_ABORTED, and every queued caller added a listener to that one object.
    it('queued Bulkhead callers do not listen to NEVER_ABORTED', async () => {
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 20 });
      const gate = deferred<void>();
      const runs = Array.from({ length: 20 }, () =>
        settle(bulkhead.acquire(NEVER_ABORTED).then(() => gate.promise)),
      );
      await flush();
      expect(bulkhead.queued).to.equal(19);
      expect(neverListeners()).to.equal(0);
      for (let i = 0; i < 20; i++) bulkhead.release();
      gate.resolve();
      await flush();
      for (const run of runs) expect(run.status).to.equal('fulfilled');
    });

    it('waiting RateLimiter callers do not listen to NEVER_ABORTED', async () => {
      const clock = new FakeClock(0);
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1000, maxWait: '1s', clock });
      const runs = Array.from({ length: 20 }, () => settle(limiter.acquire(1, NEVER_ABORTED)));
      await flush();
      expect(limiter.queued).to.equal(19);
      expect(neverListeners()).to.equal(0);
      await clock.advance(100);
      for (const run of runs) expect(run.status).to.equal('fulfilled');
    });

    it('a policy without a caller signal adds no listener to NEVER_ABORTED while retries wait', async () => {
      const clock = new FakeClock(0);
      const policy = Policy.builder('never')
        .clock(clock)
        .bulkhead({ maxConcurrent: 2, maxQueue: 20, clock })
        .retry({ maxAttempts: 2, delay: 1000, clock })
        .build();
      const runs = Array.from({ length: 12 }, () =>
        settle(policy.execute(() => Promise.reject(new Error('x')))),
      );
      await flush();
      expect(neverListeners(), 'listeners on NEVER_ABORTED').to.equal(0);
      await clock.advance(60_000);
      for (const run of runs) expect(run.status).to.equal('rejected');
    });
  });

  describe('PolicyBuilder', () => {
    // Found by the hostile matrix: a builder method built its primitive (which configures the
    // store it was given) before checking the stage name, so a call that failed on the name
    // still used up the shared store.
    it('a call that fails on its name does not take the store it was given', () => {
      const breakerStore = new InMemoryCircuitBreakerStore();
      const limiterStore = new InMemoryRateLimiterStore();
      const builder = Policy.builder('b');
      expect(() => builder.circuitBreaker({ store: breakerStore }, 42 as never)).to.throw(
        TypeError,
        /`name`/,
      );
      expect(() => builder.rateLimiter({ store: limiterStore }, 42 as never)).to.throw(
        TypeError,
        /`name`/,
      );
      expect(() => new CircuitBreaker({ store: breakerStore })).to.not.throw();
      expect(() => new RateLimiter({ store: limiterStore })).to.not.throw();
    });
  });
});
