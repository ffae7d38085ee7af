// `halfOpenWait` with a circuit shared through Redis: a waiting call learns the verdict from this
// breaker's own trial call when it runs one, and otherwise by asking Redis again (polling on the
// breaker's clock, a manual one here, so that only the spec moves it).
import { expect } from 'chai';
import sinon from 'sinon';
import { CircuitOpenError, StoreUnavailableError } from '../../src/errors.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { ManualClock } from '../support/clock.js';
import { deferred, settle } from '../support/promises.js';
import { describeRedis, eventually, rejectionOf, sleep, type RedisEnv } from './harness.js';

const RECOVERY_MS = 300;

async function breakerFor(
  env: RedisEnv,
  key: string,
  clock: ManualClock,
  onStoreError: 'local' | 'fail-closed' = 'local',
): Promise<CircuitBreaker> {
  const { client } = await env.connect();
  // A store timeout far beyond any advance of the manual clock, which also times its commands.
  const store = new RedisCircuitBreakerStore({ client, key, storeTimeout: '1m', onStoreError });
  const breaker = new CircuitBreaker({
    store,
    clock,
    failureThreshold: 1,
    recoveryTimeout: RECOVERY_MS,
    halfOpenWait: '2s',
  });
  await store.state();
  return breaker;
}

/** Trips the shared circuit through `breaker` and waits (on Redis's clock) for HALF_OPEN. */
async function tripAndRecover(breaker: CircuitBreaker): Promise<void> {
  await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
  // The failure goes to Redis in the background; the open time runs from its arrival there,
  // which the breaker hears of (it reads OPEN) only once Redis answered it.
  await eventually(() => breaker.state === 'open', 2000, 'the trip in Redis');
  await sleep(RECOVERY_MS + 20);
}

/**
 * Two breakers on one shared circuit, `a` on a clock of its own and `b` on `clockB`: `a` trips the
 * circuit and, once it reads HALF_OPEN, runs the trial call `first`, answered as `probe` settles.
 */
async function trialCallOnA(env: RedisEnv, onStoreErrorB: 'local' | 'fail-closed' = 'local') {
  const key = env.uniqueKey();
  const a = await breakerFor(env, key, new ManualClock());
  const clockB = new ManualClock();
  const b = await breakerFor(env, key, clockB, onStoreErrorB);
  await tripAndRecover(a);
  const probe = deferred<string>();
  const first = a.execute(() => probe.promise);
  await eventually(() => a.state === 'half-open');
  return { a, b, clockB, probe, first };
}

describeRedis('RedisCircuitBreakerStore with halfOpenWait', function (env) {
  beforeEach(async function () {
    if (!env.server.running) {
      await env.server.start();
      await env.admin.ready();
    }
  });

  it("admits a waiting call on the outcome of this breaker's own trial call, with no poll", async function () {
    const clock = new ManualClock();
    const breaker = await breakerFor(env, env.uniqueKey(), clock);
    await tripAndRecover(breaker);
    const probe = deferred<string>();
    const first = breaker.execute(() => probe.promise);
    await eventually(() => breaker.state === 'half-open');
    const fn = sinon.spy(() => 'waited');
    const waiting = settle(breaker.execute(fn));
    await sleep(30);
    expect(waiting.status).to.equal('pending');
    expect(fn.callCount).to.equal(0);
    probe.resolve('probe');
    expect(await first).to.equal('probe');
    // The manual clock stands still: no poll ran, the trial call's outcome brought the verdict.
    await eventually(() => waiting.status === 'fulfilled', 2000, 'the waiting call');
    expect(waiting.value).to.equal('waited');
    await eventually(() => clock.pending() === 0, 2000, 'no timer left');
  });

  it('admits a waiting call by asking Redis again when another instance ran the trial call', async function () {
    const { a, b, clockB, probe, first } = await trialCallOnA(env);
    const fn = sinon.spy(() => 'from b');
    const waiting = settle(b.execute(fn));
    await eventually(() => clockB.pending() === 2, 2000, "b's wait and poll timers");
    probe.resolve('probe');
    await first;
    // A records the trial call's success in the background: B's next poll must find it there.
    await eventually(() => a.state === 'closed', 2000, 'the close in Redis');
    await sleep(30);
    // B has not asked again yet: it polls every halfOpenWait / 4, capped at 250 ms.
    expect(waiting.status).to.equal('pending');
    expect(clockB.delays).to.include(250);
    await clockB.advance(250);
    await eventually(() => waiting.status === 'fulfilled', 2000, 'the waiting call');
    expect(waiting.value).to.equal('from b');
    expect(fn.callCount).to.equal(1);
    await eventually(() => clockB.pending() === 0, 2000, 'no timer left');
  });

  it('refuses a waiting call with the open time left when the trial call elsewhere fails', async function () {
    const { a, b, clockB, probe, ...trial } = await trialCallOnA(env);
    const first = settle(trial.first);
    const fn = sinon.spy(() => 'never');
    const waiting = settle(b.execute(fn));
    await eventually(() => clockB.pending() === 2, 2000, "b's wait and poll timers");
    probe.reject(new Error('still down'));
    await eventually(() => first.status === 'rejected');
    await eventually(() => a.state === 'open');
    await clockB.advance(250);
    await eventually(() => waiting.status === 'rejected', 2000, 'the refusal');
    expect(waiting.reason).to.be.instanceOf(CircuitOpenError).and.include({ state: 'open' });
    expect((waiting.reason as CircuitOpenError).retryAfterMs).to.be.within(1, RECOVERY_MS);
    expect(fn.callCount).to.equal(0);
    await eventually(() => clockB.pending() === 0, 2000, 'no timer left');
  });

  it('refuses a waiting call when the wait runs out, leaving no timer', async function () {
    const { b, clockB, probe, first } = await trialCallOnA(env);
    const waiting = settle(b.execute(() => 'never'));
    await eventually(() => clockB.pending() === 2, 2000, "b's wait and poll timers");
    await clockB.advance(2000);
    await eventually(() => waiting.status === 'rejected', 2000, 'the refusal');
    expect(waiting.reason).to.be.instanceOf(CircuitOpenError).and.include({
      state: 'half-open',
      retryAfterMs: 0,
    });
    await eventually(() => clockB.pending() === 0, 2000, 'no timer left');
    probe.resolve('ok');
    await first;
  });

  it("gives every waiting call StoreUnavailableError at once when Redis goes down under 'fail-closed'", async function () {
    const { b, clockB, probe, first } = await trialCallOnA(env, 'fail-closed');
    const fn = sinon.spy(() => 'never');
    const waiting = [1, 2, 3, 4, 5].map(() => settle(b.execute(fn)));
    await eventually(() => clockB.pending() === 6, 2000, "b's wait timers and its poll");
    await env.server.stop();
    // One poll finds Redis gone: every waiting call hears of it now, none waits on for a
    // verdict that cannot come (the wait, 2 s, never runs out here).
    await clockB.advance(250);
    await eventually(
      () => waiting.every((w) => w.status === 'rejected'),
      2000,
      'every waiting call refused',
    );
    for (const w of waiting) expect(w.reason).to.be.instanceOf(StoreUnavailableError);
    expect(fn.callCount).to.equal(0);
    await eventually(() => clockB.pending() === 0, 2000, 'no timer left');
    probe.resolve('ok');
    await first.catch(() => undefined);
  });
});
