import { expect } from 'chai';
import { CircuitOpenError } from '../../src/errors.js';
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
const SLOW_SUCCESS: CircuitOutcome = { failure: false, slow: true };

async function breakerFor(
  env: RedisEnv,
  key: string,
  options: Omit<CircuitBreakerOptions, 'store'>,
): Promise<{ breaker: CircuitBreaker; store: RedisCircuitBreakerStore }> {
  const { client } = await env.connect();
  const store = new RedisCircuitBreakerStore({ client, key, storeTimeout: PATIENT });
  const breaker = new CircuitBreaker({ ...options, store });
  // The breaker asks for the state at construction; let that settle.
  await store.state();
  return { breaker, store };
}

function boom(): never {
  throw new Error('boom');
}

describeRedis(
  'RedisCircuitBreakerStore',
  function (env) {
    it('makes every instance reject on its next call once one instance trips the circuit', async function () {
      const key = env.uniqueKey();
      const a = await breakerFor(env, key, { failureThreshold: 3, recoveryTimeout: '10s' });
      const b = await breakerFor(env, key, { failureThreshold: 3, recoveryTimeout: '10s' });
      expect(await b.breaker.execute(() => 'fine')).to.equal('fine');
      for (let i = 0; i < 3; i++) await rejectionOf(a.breaker.execute(boom));
      // Commands on one connection run in order: this answers after A's last outcome landed.
      expect(await a.store.state()).to.equal('open');
      const error = (await rejectionOf(b.breaker.execute(() => 'never'))) as CircuitOpenError;
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(error.state).to.equal('open');
      expect(error.retryAfterMs).to.be.within(9_000, 10_000);
      expect(b.breaker.state).to.equal('open');
    });

    it('counts consecutive failures across instances, and a success anywhere resets the run', async function () {
      const key = env.uniqueKey();
      const a = await breakerFor(env, key, { failureThreshold: 3 });
      const b = await breakerFor(env, key, { failureThreshold: 3 });
      expect(await a.store.record(FAILURE)).to.equal('closed');
      expect(await b.store.record(FAILURE)).to.equal('closed');
      expect(await a.store.record(SUCCESS)).to.equal('closed');
      expect(await b.store.record(FAILURE)).to.equal('closed');
      expect(await a.store.record(FAILURE)).to.equal('closed');
      expect(await b.store.record(FAILURE)).to.equal('open');
    });

    it('judges the failure rate over one shared COUNT window, only when a failure fills it', async function () {
      const key = env.uniqueKey();
      const options = { failureRateThreshold: 0.5, windowSize: 4 };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      expect(await a.store.record(FAILURE)).to.equal('closed');
      expect(await b.store.record(FAILURE)).to.equal('closed');
      // A partial window is never judged, even at 100% failures.
      expect(await a.store.record(FAILURE)).to.equal('closed');
      // The call that fills the window is a success: not judged.
      expect(await b.store.record(SUCCESS)).to.equal('closed');
      const metrics = await b.store.snapshot();
      expect(metrics).to.deep.include({ bufferedCalls: 4, failedCalls: 3, failureRate: 0.75 });
      // The oldest failure leaves, this one joins: 3 of 4.
      expect(await a.store.record(FAILURE)).to.equal('open');
    });

    it('enforces the half-open probe budget across instances', async function () {
      const key = env.uniqueKey();
      const options = { failureThreshold: 1, recoveryTimeout: 300, halfOpenMaxCalls: 2 };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      await a.store.record(FAILURE);
      await sleep(320);
      const gate = deferred();
      const started: string[] = [];
      const probeA = a.breaker.execute(async () => {
        started.push('a');
        await gate.promise;
        return 'a';
      });
      await eventually(() => started.length === 1);
      const probeB = b.breaker.execute(async () => {
        started.push('b');
        await gate.promise;
        return 'b';
      });
      await eventually(() => started.length === 2);
      expect(started).to.deep.equal(['a', 'b']);
      for (const instance of [a, b]) {
        const refused = (await rejectionOf(
          instance.breaker.execute(() => 'x'),
        )) as CircuitOpenError;
        expect(refused).to.be.instanceOf(CircuitOpenError);
        expect(refused.state).to.equal('half-open');
        expect(refused.retryAfterMs).to.equal(0);
      }
      gate.resolve();
      expect(await Promise.all([probeA, probeB])).to.deep.equal(['a', 'b']);
      // Each connection runs its commands in order: once both answer, both outcomes landed.
      await Promise.all([a.store.state(), b.store.state()]);
      expect(await a.store.state()).to.equal('closed');
      expect(await b.breaker.execute(() => 'again')).to.equal('again');
    });

    it('re-opens the circuit for every instance when a probe fails', async function () {
      const key = env.uniqueKey();
      const options = { failureThreshold: 1, recoveryTimeout: '10s', halfOpenMaxCalls: 3 };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      await b.store.record(FAILURE);
      await endOpenPeriod(env.admin, b.store.redisKey);
      expect(await a.breaker.execute(() => 'probe ok')).to.equal('probe ok');
      await rejectionOf(b.breaker.execute(boom));
      // Commands on one connection run in order: this answers after B's failed probe landed.
      expect(await b.store.state()).to.equal('open');
      const error = (await rejectionOf(a.breaker.execute(() => 'x'))) as CircuitOpenError;
      expect(error.state).to.equal('open');
      // A whole new open period: recoveryTimeout, less the round trips since the re-open.
      expect(error.retryAfterMs).to.be.within(9_000, 10_000);
    });

    it('grows the open time on each re-open from HALF_OPEN for every instance, up to the cap, and a close resets it', async function () {
      const key = env.uniqueKey();
      const options = {
        failureThreshold: 1,
        recoveryTimeout: '10s',
        recoveryBackoff: 2,
        maxRecoveryTimeout: '30s',
      };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      const openFor = async (instance: typeof a): Promise<number> => {
        const error = (await rejectionOf(instance.breaker.execute(() => 'x'))) as CircuitOpenError;
        expect(error).to.be.instanceOf(CircuitOpenError);
        expect(error.state).to.equal('open');
        return error.retryAfterMs;
      };
      // An outcome goes to Redis in the background, on the breaker's own connection: reading its
      // state through that connection answers once it has landed.
      await rejectionOf(a.breaker.execute(boom));
      expect(await a.store.state()).to.equal('open');
      expect(await openFor(b)).to.be.within(1, 10_000);
      expect(await b.store.snapshot()).to.include({ state: 'open', openDurationMs: 10_000 });
      // Each re-open doubles the open time, whichever instance's probe failed: 20 s, then 30 s (cap).
      for (const [prober, other, expected] of [
        [a, b, 20_000],
        [b, a, 30_000],
        [a, b, 30_000],
      ] as const) {
        await endOpenPeriod(env.admin, prober.store.redisKey);
        expect(await prober.store.state()).to.equal('half-open');
        await rejectionOf(prober.breaker.execute(boom));
        expect(await prober.store.state()).to.equal('open');
        expect(await other.store.snapshot()).to.include({
          state: 'open',
          openDurationMs: expected,
        });
        // More than the last open time (10 s, then 20 s), at most this one: it grew, and is capped.
        expect(await openFor(other)).to.be.within(expected === 20_000 ? 10_001 : 20_001, expected);
      }
      // A successful probe closes the circuit: the next trip is back to recoveryTimeout.
      await endOpenPeriod(env.admin, b.store.redisKey);
      expect(await b.store.state()).to.equal('half-open');
      expect(await b.breaker.execute(() => 'ok')).to.equal('ok');
      expect(await b.store.state()).to.equal('closed');
      expect(await a.store.snapshot()).to.include({ state: 'closed', openDurationMs: 10_000 });
      await rejectionOf(b.breaker.execute(boom));
      expect(await b.store.state()).to.equal('open');
      expect(await openFor(a)).to.be.within(1, 10_000);
    });

    it('keeps the current open duration in the state hash, reset with it', async function () {
      const key = env.uniqueKey();
      const { breaker, store } = await breakerFor(env, key, {
        failureThreshold: 1,
        recoveryTimeout: 50,
        recoveryBackoff: 3,
        maxRecoveryTimeout: 10_000,
      });
      await rejectionOf(breaker.execute(boom));
      await eventually(async () => (await store.state()) === 'half-open');
      await rejectionOf(breaker.execute(boom));
      expect(Number(await env.admin.command('HGET', store.redisKey, 'od'))).to.equal(150);
      breaker.reset();
      await store.state();
      expect(await env.admin.command('EXISTS', store.redisKey)).to.equal(0);
      await rejectionOf(breaker.execute(boom));
      expect(Number(await env.admin.command('HGET', store.redisKey, 'od'))).to.equal(50);
      // Without growth, a snapshot carries no open duration.
      const plain = await breakerFor(env, env.uniqueKey(), { failureThreshold: 1 });
      expect(await plain.store.snapshot()).to.not.have.property('openDurationMs');
    });

    it('gives a probe slot whose holder never reported to the next caller', async function () {
      const key = env.uniqueKey();
      const options = { failureThreshold: 1, recoveryTimeout: 200 };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      await a.store.record(FAILURE);
      await sleep(220);
      expect((await a.store.acquire()).probe).to.equal(true);
      expect(await b.store.acquire()).to.deep.include({ admitted: false, state: 'half-open' });
      // As if the probe had been admitted 11 s ago by a process that died since.
      const hash = `bulwark:cb:{${key}}`;
      const admittedAt = Number(await env.admin.command('HGET', hash, 'pa'));
      await env.admin.command('HSET', hash, 'pa', String(admittedAt - 11_000));
      expect(await b.store.acquire()).to.deep.include({
        admitted: true,
        probe: true,
        reclaimed: true,
      });
    });

    it('lets only probes decide half-open: a late outcome of a call admitted while closed is ignored', async function () {
      const key = env.uniqueKey();
      const options = { failureThreshold: 1, recoveryTimeout: 200 };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      const early = deferred();
      const earlyCall = a.breaker.execute(async () => {
        await early.promise;
        return 'stale';
      });
      await eventually(async () => (await a.store.state()) === 'closed');
      await rejectionOf(b.breaker.execute(boom));
      // The open time runs from the failure's arrival in Redis, which this read follows.
      expect(await b.store.state()).to.equal('open');
      await sleep(220);
      const probe = deferred();
      const probeCall = b.breaker.execute(async () => {
        await probe.promise;
        return 'fresh';
      });
      await eventually(async () => (await b.store.state()) === 'half-open');
      early.resolve();
      expect(await earlyCall).to.equal('stale');
      expect(await a.store.state(), 'after the stale success').to.equal('half-open');
      await a.store.record({ failure: true, slow: false, probe: false });
      expect(await a.store.state(), 'after a stale failure').to.equal('half-open');
      probe.resolve();
      expect(await probeCall).to.equal('fresh');
      await eventually(async () => (await a.store.state()) === 'closed');
    });

    it('isolates every instance until reset, and keeps isolation without expiry', async function () {
      const key = env.uniqueKey();
      const a = await breakerFor(env, key, {});
      const b = await breakerFor(env, key, {});
      a.breaker.isolate();
      expect(await a.store.state()).to.equal('isolated');
      const error = (await rejectionOf(b.breaker.execute(() => 'x'))) as CircuitOpenError;
      expect(error.state).to.equal('isolated');
      expect(error.retryAfterMs).to.equal(Infinity);
      expect(await env.admin.command('PTTL', `bulwark:cb:{${key}}`)).to.equal(-1);
      // Outcomes are ignored while isolated.
      expect(await b.store.record(SUCCESS)).to.equal('isolated');
      b.breaker.reset();
      expect(await b.store.state()).to.equal('closed');
      expect(await a.breaker.execute(() => 'back')).to.equal('back');
    });

    it('lets the state expire when idle', async function () {
      const key = env.uniqueKey();
      const a = await breakerFor(env, key, { windowSize: 3, failureRateThreshold: 0.5 });
      await a.store.record(FAILURE);
      const pttl = Number(await env.admin.command('PTTL', `bulwark:cb:{${key}}`));
      const window = Number(await env.admin.command('PTTL', `bulwark:cb:{${key}}:w`));
      expect(pttl).to.be.within(3_500_000, 3_600_000);
      expect(window).to.be.within(3_500_000, 3_600_000);
    });

    it('judges a shared TIME window in which old outcomes expire', async function () {
      this.timeout(5000);
      const key = env.uniqueKey();
      const options = {
        windowType: 'time' as const,
        windowDuration: '1s',
        minimumCalls: 2,
        failureRateThreshold: 1,
      };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      expect(await a.store.record(FAILURE)).to.equal('closed');
      // Its bucket ends at most 100 ms after it; the bucket leaves the window 1 s after its end.
      await sleep(1200);
      // The first failure has left the window: one outcome is too few to judge.
      expect(await b.store.record(FAILURE)).to.equal('closed');
      expect((await b.store.snapshot()).bufferedCalls).to.equal(1);
      expect(await a.store.record(FAILURE)).to.equal('open');
    });

    it('keeps in the shared TIME window every outcome of the last windowDuration, however late in its bucket', async function () {
      // A few attempts of about 2.5 s each: one that a busy machine delays is tried again.
      this.timeout(20_000);
      const width = 200; // a 2 s window has 10 buckets of 200 ms
      const serverNow = async (): Promise<number> => {
        const [seconds, micros] = (await env.admin.command('TIME')) as [string, string];
        return Number(seconds) * 1000 + Number(micros) / 1000;
      };
      const options = {
        windowType: 'time' as const,
        windowDuration: '2s',
        failureRateThreshold: 0.5,
        minimumCalls: 10,
      };
      for (let attempt = 1; ; attempt++) {
        const key = env.uniqueKey();
        const a = await breakerFor(env, key, options);
        const b = await breakerFor(env, key, options);
        // Five failures late in a bucket (from 120 ms into it)...
        let now = await serverNow();
        let bucket = Math.floor(now / width);
        if (now - bucket * width > 110) bucket++;
        await sleep(bucket * width + 120 - now);
        const first = await serverNow();
        for (let i = 0; i < 5; i++) expect(await a.store.record(FAILURE)).to.equal('closed');
        const firstDone = await serverNow();
        // ...and five more just after the bucket windowDuration on began: all ten are of the
        // last 2 s.
        now = await serverNow();
        await sleep(bucket * width + 2_000 + 30 - now);
        const second = await serverNow();
        const states: string[] = [];
        for (let i = 0; i < 5; i++) states.push(await b.store.record(FAILURE));
        const metrics = await b.store.snapshot();
        const secondDone = await serverNow();
        const inTime =
          Math.floor(first / width) === bucket &&
          Math.floor(firstDone / width) === bucket &&
          second >= bucket * width + 2_000 &&
          secondDone < first + 2_000;
        if (!inTime && attempt < 5) continue;
        expect(inTime, 'the machine kept none of five attempts in time').to.equal(true);
        expect(states).to.deep.equal(['closed', 'closed', 'closed', 'closed', 'open']);
        expect(metrics).to.include({ state: 'open', bufferedCalls: 10, failedCalls: 10 });
        return;
      }
    });

    it('trips on the shared slow-call rate, measured around real calls', async function () {
      const key = env.uniqueKey();
      const options = {
        slowCallDuration: 40,
        slowCallRateThreshold: 0.5,
        windowSize: 4,
      };
      const a = await breakerFor(env, key, options);
      const b = await breakerFor(env, key, options);
      expect(await a.store.record(SLOW_SUCCESS)).to.equal('closed');
      expect(await b.store.record(SUCCESS)).to.equal('closed');
      expect(await a.store.record(SUCCESS)).to.equal('closed');
      // Fills the window at 1 slow in 4.
      expect(await b.store.record(SUCCESS)).to.equal('closed');
      expect(await a.breaker.execute(() => sleep(50).then(() => 'slow'))).to.equal('slow');
      expect(await a.store.state()).to.equal('closed');
      await b.breaker.execute(() => sleep(50));
      // The window is now fast, fast, slow, slow: 50% slow.
      expect(await b.store.state()).to.equal('open');
    });

    it('applies the same rules as the in-memory store to any sequence of outcomes', async function () {
      // Hundreds of round trips: a bound for a hang, not a measure of speed on a busy machine.
      this.timeout(30_000);
      const configs: Partial<CircuitBreakerStoreConfig>[] = [
        { failureThreshold: 3, failureRateThreshold: undefined },
        { failureRateThreshold: 0.5, windowSize: 5, minimumCalls: 3 },
        {
          failureRateThreshold: 0.8,
          slowCallRateThreshold: 0.6,
          windowSize: 6,
          minimumCalls: 4,
        },
      ];
      let seed = 42;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      for (const partial of configs) {
        const config: CircuitBreakerStoreConfig = {
          failureThreshold: 5,
          recoveryTimeoutMs: 60_000,
          recoveryBackoff: 1,
          maxRecoveryTimeoutMs: 60_000,
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
        let trips = 0;
        for (let i = 0; i < 150; i++) {
          const outcome = { failure: random() < 0.4, slow: random() < 0.3 };
          const expected = memory.record(outcome);
          expect(await redis.record(outcome), `outcome ${i}`).to.equal(expected);
          const want = memory.snapshot();
          const got = await redis.snapshot();
          expect(got, `snapshot after outcome ${i}`).to.deep.equal(want);
          if (expected === 'open') {
            trips++;
            memory.reset();
            await redis.reset();
          }
        }
        expect(trips).to.be.greaterThan(3);
      }
    });
  },
  { cluster: true },
);
