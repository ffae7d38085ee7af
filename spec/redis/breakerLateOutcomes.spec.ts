// RedisCircuitBreakerStore and the outcomes that move nothing, as InMemoryCircuitBreakerStore:
// every recorded outcome enters the shared window (the metrics count it), whatever the state —
// a late outcome of a call admitted while CLOSED that arrives while OPEN, HALF_OPEN or ISOLATED,
// and every HALF_OPEN trial call — while only the state's rules decide the transitions; a close
// starts an empty window. An outcome of a call admitted before the circuit last closed counts the
// same way while the circuit is OPEN, HALF_OPEN or ISOLATED, and nowhere while it is CLOSED.
import { expect } from 'chai';
import { systemClock } from '../../src/internal/clock.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
} from '../../src/strategies/circuit-breaker/store.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import {
  deferred,
  describeRedis,
  PATIENT,
  endOpenPeriod,
  eventually,
  rejectionOf,
  sleep,
  type RedisEnv,
} from './harness.js';

const FAILURE: CircuitOutcome = { failure: true, slow: false };
const SUCCESS: CircuitOutcome = { failure: false, slow: false };
const LATE_FAILURE: CircuitOutcome = { failure: true, slow: false, probe: false };
const LATE_SLOW_SUCCESS: CircuitOutcome = { failure: false, slow: true, probe: false };
const STALE_FAILURE: CircuitOutcome = { failure: true, slow: false, probe: false, stale: true };

async function breakerFor(
  env: RedisEnv,
  key: string,
  options: Omit<CircuitBreakerOptions, 'store'>,
): Promise<{ breaker: CircuitBreaker; store: RedisCircuitBreakerStore }> {
  const { client } = await env.connect();
  const store = new RedisCircuitBreakerStore({ client, key, storeTimeout: PATIENT });
  const breaker = new CircuitBreaker({ ...options, store });
  await store.state();
  return { breaker, store };
}

async function counts(store: RedisCircuitBreakerStore): Promise<[string, number, number, number]> {
  const m = await store.snapshot();
  return [m.state, m.bufferedCalls, m.failedCalls, m.slowCalls];
}

function boom(): never {
  throw new Error('boom');
}

describeRedis(
  'RedisCircuitBreakerStore: late outcomes and trial calls in the metrics',
  function (env) {
    it('counts outcomes of calls admitted while CLOSED that report while OPEN, for every instance', async function () {
      const key = env.uniqueKey();
      const options = { failureThreshold: 2, recoveryTimeout: '10s' };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      const slowFailure = deferred();
      const slowSuccess = deferred();
      const lateFailure = a.breaker.execute(async () => {
        await slowFailure.promise;
        return boom();
      });
      const lateSuccess = a.breaker.execute(async () => {
        await slowSuccess.promise;
        return 'late';
      });
      await rejectionOf(b.breaker.execute(boom));
      await rejectionOf(b.breaker.execute(boom));
      // A breaker records an outcome without holding its call's answer back, and each instance
      // has its own connection: wait for the writes to land before reading through another.
      await eventually(async () => (await a.store.snapshot()).bufferedCalls === 2);
      expect(await counts(a.store)).to.deep.equal(['open', 2, 2, 0]);

      slowFailure.resolve();
      slowSuccess.resolve();
      await rejectionOf(lateFailure);
      expect(await lateSuccess).to.equal('late');
      await eventually(async () => (await b.store.snapshot()).bufferedCalls === 4);
      // Four calls ran, three failed; the circuit stays open for the rest of its time.
      expect(await b.store.snapshot()).to.deep.include({
        state: 'open',
        bufferedCalls: 4,
        failedCalls: 3,
        failureRate: 0.75,
      });
      const refusal = await rejectionOf(b.breaker.execute(() => 'no'));
      expect(refusal).to.include({ state: 'open' });
    });

    it('counts a late outcome that arrives during HALF_OPEN without letting it decide; a close empties the window', async function () {
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({
        client,
        key: env.uniqueKey(),
        storeTimeout: PATIENT,
      });
      new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: 150, store });
      await store.record(FAILURE);
      expect(await store.record(FAILURE)).to.equal('open');
      await sleep(170);
      expect(await store.acquire()).to.include({ admitted: true, probe: true });
      expect(await store.record(LATE_FAILURE)).to.equal('half-open');
      expect(await store.record(LATE_SLOW_SUCCESS)).to.equal('half-open');
      expect(await counts(store)).to.deep.equal(['half-open', 4, 3, 1]);
      expect(await store.record(SUCCESS)).to.equal('closed');
      expect(await counts(store)).to.deep.equal(['closed', 0, 0, 0]);
    });

    it('counts each failed trial call in the window it re-opens', async function () {
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({
        client,
        key: env.uniqueKey(),
        storeTimeout: PATIENT,
      });
      // An open time no pause of a busy machine outlasts: each read below finds the circuit OPEN.
      new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '1m', store });
      await store.record(FAILURE);
      await store.record(FAILURE);
      for (let round = 1; round <= 2; round++) {
        await endOpenPeriod(env.admin, store.redisKey);
        expect(await store.acquire()).to.include({ admitted: true, probe: true });
        expect(await store.record(FAILURE)).to.equal('open');
        expect(await counts(store), `after failed trial call ${round}`).to.deep.equal([
          'open',
          2 + round,
          2 + round,
          0,
        ]);
      }
    });

    it('counts a late outcome while ISOLATED, which stays isolated (and unexpiring) until reset', async function () {
      const key = env.uniqueKey();
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({ client, key, storeTimeout: PATIENT });
      new CircuitBreaker({ failureThreshold: 5, store });
      await store.record(SUCCESS);
      await store.isolate();
      expect(await store.record(LATE_FAILURE)).to.equal('isolated');
      expect(await counts(store)).to.deep.equal(['isolated', 2, 1, 0]);
      expect(await env.admin.command('PTTL', `bulwark:cb:{${key}}`)).to.equal(-1);
      await store.reset();
      expect(await counts(store)).to.deep.equal(['closed', 0, 0, 0]);
    });

    it('does not let a late failure of a call admitted before the close re-open the circuit', async function () {
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({ client, key: env.uniqueKey() });
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, store });
      await store.state();
      const slow = deferred();
      const late = breaker.execute(async () => {
        await slow.promise;
        return boom();
      });
      await rejectionOf(breaker.execute(boom));
      await eventually(async () => (await store.state()) === 'open');
      await sleep(120);
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      await eventually(async () => (await counts(store))[0] === 'closed');
      // A call admitted after the close, still running when the earlier one reports.
      const fresh = deferred();
      const after = breaker.execute(async () => {
        await fresh.promise;
        return boom();
      });

      slow.resolve();
      await rejectionOf(late);
      await sleep(20);
      expect(await counts(store)).to.deep.equal(['closed', 0, 0, 0]);
      fresh.resolve();
      await rejectionOf(after);
      await eventually(async () => (await store.state()) === 'open');
      expect(await counts(store)).to.deep.equal(['open', 1, 1, 0]);
    });

    it('counts a failure of CLOSED period 1 reporting in the second HALF_OPEN, which decides nothing', async function () {
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({
        client,
        key: env.uniqueKey(),
        storeTimeout: PATIENT,
      });
      // An open time no pause of a busy machine outlasts: the spec ends each one itself.
      const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '1m', store });
      await store.state();
      const fail = async (): Promise<void> => {
        await rejectionOf(breaker.execute(boom));
      };
      const slow = deferred();
      const old = breaker.execute(async () => {
        await slow.promise;
        return boom();
      });
      const tripAndRecover = async (): Promise<void> => {
        await fail();
        await fail();
        await eventually(async () => (await store.state()) === 'open');
        await endOpenPeriod(env.admin, store.redisKey);
      };
      await tripAndRecover();
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      await eventually(async () => (await counts(store))[0] === 'closed');
      await tripAndRecover();
      const gate = deferred();
      const probe = breaker.execute(async () => {
        await gate.promise;
        return 'probe';
      });
      await eventually(async () => breaker.state === 'half-open');

      slow.resolve();
      await rejectionOf(old);
      await eventually(async () => (await counts(store))[1] === 3);
      expect(await counts(store), 'in the window that tripped').to.deep.equal([
        'half-open',
        3,
        3,
        0,
      ]);
      gate.resolve();
      expect(await probe).to.equal('probe');
      await eventually(async () => (await counts(store))[0] === 'closed');
      expect(await counts(store), 'the probe alone decides').to.deep.equal(['closed', 0, 0, 0]);
      await fail();
      await eventually(async () => (await counts(store))[1] === 1);
      expect(await counts(store), 'not part of the new run').to.deep.equal(['closed', 1, 1, 0]);
    });

    it('drops a stale outcome while CLOSED and counts it, deciding nothing, in every other state', async function () {
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({
        client,
        key: env.uniqueKey(),
        storeTimeout: PATIENT,
      });
      new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1m', store });
      expect(await store.record(STALE_FAILURE)).to.equal('closed');
      expect(await counts(store), 'closed: nowhere').to.deep.equal(['closed', 0, 0, 0]);
      expect(await store.record(FAILURE)).to.equal('open');
      expect(await store.record(STALE_FAILURE)).to.equal('open');
      expect(await counts(store)).to.deep.equal(['open', 2, 2, 0]);
      await endOpenPeriod(env.admin, store.redisKey);
      expect(await store.acquire()).to.include({ admitted: true, probe: true });
      expect(await store.record(STALE_FAILURE), 'no probe').to.equal('half-open');
      expect(await counts(store)).to.deep.equal(['half-open', 3, 3, 0]);
      await store.isolate();
      expect(await store.record(STALE_FAILURE)).to.equal('isolated');
      expect(await counts(store)).to.deep.equal(['isolated', 4, 4, 0]);
      await store.reset();
      expect(await store.record(STALE_FAILURE)).to.equal('closed');
      expect(await counts(store)).to.deep.equal(['closed', 0, 0, 0]);
    });

    it('agrees with an in-memory breaker on calls that overlap trips and closes', async function () {
      this.timeout(10_000);
      let seed = 11;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      // An open time of 0: every read after a trip finds HALF_OPEN, on either clock.
      const options = { failureThreshold: 2, recoveryTimeout: 0 };
      const { client } = await env.connect();
      const store = new RedisCircuitBreakerStore({ client, key: env.uniqueKey() });
      const shared = new CircuitBreaker({ ...options, store });
      const memory = new CircuitBreaker(options);
      await store.state();
      let closes = 0;
      memory.onStateChange(({ to }) => {
        if (to === 'closed') closes++;
      });
      type Running = { fail: () => void; succeed: () => void; done: Promise<unknown> };
      const running: Array<{ memory: Running; shared: Running; closes: number }> = [];
      const start = async (breaker: CircuitBreaker): Promise<Running | 'refused'> => {
        const gate = deferred<boolean>();
        const entered = deferred();
        const done = breaker.execute(async () => {
          entered.resolve();
          if (await gate.promise) throw new Error('boom');
          return 'ok';
        });
        const refused = await Promise.race([
          entered.promise.then(() => false),
          done.then(
            () => false,
            () => true,
          ),
        ]);
        done.catch(() => undefined);
        if (refused) return 'refused';
        return { fail: () => gate.resolve(true), succeed: () => gate.resolve(false), done };
      };
      let stale = 0;
      for (let i = 0; i < 120; i++) {
        if (running.length === 0 || random() < 0.5) {
          const m = await start(memory);
          const r = await start(shared);
          expect(r === 'refused', `call ${i} refused`).to.equal(m === 'refused');
          if (m !== 'refused' && r !== 'refused') running.push({ memory: m, shared: r, closes });
        } else {
          // Mostly the newest call: the older ones go on across trips and closes.
          const pick = random() < 0.8 ? running.length - 1 : Math.floor(random() * running.length);
          const [call] = running.splice(pick, 1);
          if (call === undefined) continue;
          if (call.closes !== closes) stale++;
          const fails = random() < 0.6;
          for (const side of [call.memory, call.shared]) {
            if (fails) side.fail();
            else side.succeed();
            await side.done.catch(() => undefined);
          }
        }
        // Read after every write of this connection has been answered.
        const got = await store.snapshot();
        const want = memory.metrics;
        expect(got, `step ${i}`).to.deep.equal(want);
      }
      expect(stale, 'outcomes of calls admitted before a close').to.be.at.least(3);
      for (const call of running) {
        call.memory.succeed();
        call.shared.succeed();
        await Promise.all([call.memory.done, call.shared.done]);
      }
    });

    it('agrees with the in-memory store on outcomes recorded in every state', async function () {
      // Hundreds of round trips: a bound for a hang, not a measure of speed on a busy machine.
      this.timeout(30_000);
      let seed = 7;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      const configs: Partial<CircuitBreakerStoreConfig>[] = [
        // An open time of 0: every read after a trip finds HALF_OPEN, so outcomes land in all states.
        { failureThreshold: 2, recoveryTimeoutMs: 0, halfOpenMaxCalls: 2 },
        { failureRateThreshold: 0.5, windowSize: 5, minimumCalls: 3, recoveryTimeoutMs: 0 },
        { failureThreshold: 2, recoveryTimeoutMs: 60_000 },
      ];
      for (const partial of configs) {
        const config: CircuitBreakerStoreConfig = {
          failureThreshold: 5,
          recoveryTimeoutMs: 60_000,
          recoveryBackoff: 1,
          maxRecoveryTimeoutMs: partial.recoveryTimeoutMs ?? 60_000,
          failureRateThreshold: undefined,
          slowCallRateThreshold: undefined,
          windowType: 'count',
          windowSize: 10,
          windowDurationMs: 60_000,
          minimumCalls: 10,
          halfOpenMaxCalls: 1,
          clock: systemClock,
          ...partial,
        };
        const { client } = await env.connect();
        const redis = new RedisCircuitBreakerStore({
          client,
          key: env.uniqueKey(),
          storeTimeout: PATIENT,
        });
        redis.configure(config);
        const memory = new InMemoryCircuitBreakerStore();
        memory.configure(config);
        const seen = new Set<string>();
        for (let i = 0; i < 120; i++) {
          const pick = random();
          if (pick < 0.2) {
            const got = await redis.acquire();
            const want = memory.acquire();
            // The open time left is read on two clocks (the server's, this process's).
            if (want.retryAfterMs === Infinity) expect(got.retryAfterMs).to.equal(Infinity);
            else expect(got.retryAfterMs, `acquire ${i}`).to.be.closeTo(want.retryAfterMs, 50);
            expect({ ...got, retryAfterMs: 0 }, `acquire ${i}`).to.deep.equal({
              ...want,
              retryAfterMs: 0,
            });
          } else if (pick < 0.23) {
            memory.isolate();
            await redis.isolate();
          } else if (pick < 0.26) {
            memory.reset();
            await redis.reset();
          } else {
            const outcome: CircuitOutcome = {
              failure: random() < 0.5,
              slow: random() < 0.3,
              ...[{}, {}, { probe: false }, { probe: false, stale: true }][
                Math.floor(random() * 4)
              ],
            };
            const state = memory.state();
            seen.add(state);
            expect(await redis.record(outcome), `outcome ${i} in ${state}`).to.equal(
              memory.record(outcome),
            );
          }
          expect(await redis.snapshot(), `snapshot after step ${i}`).to.deep.equal(
            memory.snapshot(),
          );
        }
        expect(seen.size, `states outcomes landed in: ${[...seen].join(', ')}`).to.be.at.least(3);
      }
    });
  },
);
