// Regression specs for defects found by first-time and hostile use in the circuit breaker, the
// fallback stage, listeners and the OpenTelemetry adapter: each one the shrunk failing case.
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { CircuitOpenError } from '../../src/errors.js';
import { instrument } from '../../src/otel/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, settle } from './support.js';

/** Trips `breaker` (failureThreshold 1) with one failed call through `run`. */
async function trip(run: (fn: () => Promise<never>) => Promise<unknown>): Promise<void> {
  await run(() => Promise.reject(new Error('trip'))).catch(() => undefined);
}

/** Rejections nobody handled while `body` ran (the global fail-fast handler is set aside). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const saved = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  const seen: unknown[] = [];
  const record = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', record);
  try {
    await body();
    // Unhandled rejections are reported after the microtask queue drains.
    await flush();
    await flush();
  } finally {
    process.removeListener('unhandledRejection', record);
    for (const listener of saved) process.on('unhandledRejection', listener);
  }
  return seen;
}

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** `bulwark.calls` by outcome, and `bulwark.fallbacks` in total, from one collection. */
async function otelCounts(
  reader: TestReader,
): Promise<{ calls: Record<string, number>; fallbacks: number }> {
  const { resourceMetrics } = await reader.collect();
  const calls: Record<string, number> = {};
  let fallbacks = 0;
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) {
      for (const p of m.dataPoints as DataPoint<number>[]) {
        if (m.descriptor.name === 'bulwark.calls') {
          const outcome = String(p.attributes.outcome);
          calls[outcome] = (calls[outcome] ?? 0) + p.value;
        } else if (m.descriptor.name === 'bulwark.fallbacks') fallbacks += p.value;
      }
    }
  }
  return { calls, fallbacks };
}

/** An object every inspection of which throws: what a hostile thunk may reject with. */
function hostile(): object {
  const fail = (): never => {
    throw new Error('hostile');
  };
  return new Proxy(
    {},
    {
      get: fail,
      has: fail,
      getPrototypeOf: fail,
      getOwnPropertyDescriptor: fail,
      ownKeys: fail,
    },
  );
}

describe('Regressions: breaker, fallback, listeners', () => {
  describe('circuit-breaker stage and caller aborts', () => {
    it('records nothing for calls the caller aborted that later resolve', async () => {
      const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, windowSize: 3 });
      const policy = Policy.builder('aborts').circuitBreaker(breaker).build();
      const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
      const runs = gates.map((gate) => {
        const controller = new AbortController();
        const run = settle(policy.execute(() => gate.promise, { signal: controller.signal }));
        controller.abort(new Error('caller gave up'));
        return run;
      });
      for (const gate of gates) gate.resolve('late');
      await flush();
      for (const run of runs) expect(run.status).to.equal('rejected');
      expect(breaker.metrics.bufferedCalls, 'outcomes recorded').to.equal(0);
    });

    it('does not close the circuit on an aborted half-open probe that later resolves', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
      const policy = Policy.builder('probe').clock(clock).circuitBreaker(breaker).build();
      await trip((fn) => policy.execute(fn));
      await clock.advance(100);
      const gate = deferred<string>();
      const controller = new AbortController();
      const probe = settle(policy.execute(() => gate.promise, { signal: controller.signal }));
      controller.abort(new Error('caller gave up'));
      gate.resolve('late');
      await flush();
      expect(probe.status).to.equal('rejected');
      expect(breaker.state).to.equal('half-open');
      // Its slot came back: the next call is the probe.
      expect(await policy.execute(() => 'next probe')).to.equal('next probe');
      expect(breaker.state).to.equal('closed');
    });
  });

  describe('circuit-breaker stage and hostile stores', () => {
    it('rejects with what a custom store threw, even a hostile Proxy', async () => {
      const thrown = hostile();
      const store = new InMemoryCircuitBreakerStore();
      store.acquire = () => {
        throw thrown;
      };
      const policy = Policy.builder('store').circuitBreaker({ store }).build();
      const run = settle(policy.execute(() => 'never'));
      await flush();
      expect(run.reason === thrown, 'rejected with the thrown value').to.equal(true);
      expect(policy.metrics()).to.deep.include({ calls: 1, failures: 1 });
    });
  });

  describe('in-memory breaker and lost probes', () => {
    it('gives the slot of a probe that never reports to a new probe after 10 s', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
      await trip((fn) => breaker.execute(fn));
      await clock.advance(100);
      settle(breaker.execute(() => deferred<string>().promise)); // hangs forever
      await clock.advance(9_999);
      const refused = settle(breaker.execute(() => 'too early'));
      await flush();
      expect(refused.reason).to.be.instanceOf(CircuitOpenError);
      expect((refused.reason as CircuitOpenError).state).to.equal('half-open');
      await clock.advance(1);
      expect(await breaker.execute(() => 'new probe')).to.equal('new probe');
      expect(breaker.state).to.equal('closed');
    });

    it('neither frees a slot nor decides when a lost probe reports after all', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        recordOn: (e) => !(e instanceof RangeError),
        clock,
      });
      await trip((fn) => breaker.execute(fn));
      await clock.advance(100);
      const lostIgnored = deferred<string>();
      settle(breaker.execute(() => lostIgnored.promise));
      await clock.advance(10_000);
      const second = deferred<string>();
      settle(breaker.execute(() => second.promise)); // takes the lost probe's slot
      lostIgnored.reject(new RangeError('not recorded: would give back a slot'));
      await flush();
      const extra = settle(breaker.execute(() => 'extra'));
      await flush();
      expect(extra.reason, 'a second probe ran at once').to.be.instanceOf(CircuitOpenError);
      await clock.advance(10_000);
      const third = deferred<string>();
      settle(breaker.execute(() => third.promise)); // takes the second's slot
      second.resolve('late success');
      await flush();
      expect(breaker.state, 'after the lost probe succeeded').to.equal('half-open');
      third.resolve('ok');
      await flush();
      expect(breaker.state).to.equal('closed');
    });

    it('waits recoveryTimeout when it is longer than 10 s before taking a probe as lost', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '30s', clock });
      await trip((fn) => breaker.execute(fn));
      await clock.advance(30_000);
      settle(breaker.execute(() => deferred<string>().promise));
      await clock.advance(29_999);
      const refused = settle(breaker.execute(() => 'too early'));
      await flush();
      expect(refused.reason).to.be.instanceOf(CircuitOpenError);
      await clock.advance(1);
      expect(await breaker.execute(() => 'new probe')).to.equal('new probe');
    });
  });

  describe('half-open is decided by probes only', () => {
    it('ignores the success of a call admitted while closed (standalone)', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
      const early = deferred<string>();
      settle(breaker.execute(() => early.promise)); // admitted while CLOSED
      await trip((fn) => breaker.execute(fn));
      await clock.advance(100);
      const probe = deferred<string>();
      const probeRun = settle(breaker.execute(() => probe.promise));
      expect(breaker.state).to.equal('half-open');
      early.resolve('stale');
      await flush();
      expect(breaker.state, 'after the stale success').to.equal('half-open');
      probe.resolve('fresh');
      await flush();
      expect(probeRun.value).to.equal('fresh');
      expect(breaker.state).to.equal('closed');
    });

    it('ignores the failure of a call admitted while closed (policy)', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
      const policy = Policy.builder('stale').clock(clock).circuitBreaker(breaker).build();
      const early = deferred<string>();
      const earlyRun = settle(policy.execute(() => early.promise));
      await trip((fn) => policy.execute(fn));
      await clock.advance(100);
      const probe = deferred<string>();
      settle(policy.execute(() => probe.promise));
      early.reject(new Error('stale failure'));
      await flush();
      expect(earlyRun.status).to.equal('rejected');
      expect(breaker.state, 'after the stale failure').to.equal('half-open');
      // It still counts in the policy's metrics.
      expect(policy.metrics().failures).to.equal(2);
      probe.resolve('fresh');
      await flush();
      expect(breaker.state).to.equal('closed');
    });

    it('ignores a stale success recorded by hand with its ticket', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
      const early = breaker.beforeCall(); // admitted while CLOSED
      breaker.onFailure(new Error('trip'), 0, breaker.beforeCall());
      await clock.advance(100);
      const probe = breaker.beforeCall();
      expect(breaker.state).to.equal('half-open');
      breaker.onSuccess(0, early);
      expect(breaker.state, 'after the stale success').to.equal('half-open');
      breaker.onSuccess(0, probe);
      expect(breaker.state).to.equal('closed');
    });

    it('ignores a probe of an earlier half-open period', async () => {
      const clock = new ManualClock(0);
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        recoveryTimeout: 100,
        halfOpenMaxCalls: 2,
        clock,
      });
      await trip((fn) => breaker.execute(fn));
      await clock.advance(100);
      const old = deferred<string>();
      settle(breaker.execute(() => old.promise));
      await trip((fn) => breaker.execute(fn)); // second probe fails: re-opens
      await clock.advance(100);
      const fresh = deferred<string>();
      settle(breaker.execute(() => fresh.promise));
      expect(breaker.state).to.equal('half-open');
      old.resolve('from the last period');
      await flush();
      fresh.resolve('ok');
      await flush();
      // Two successes would close it; only one probe of this period has reported.
      expect(breaker.state).to.equal('half-open');
    });
  });

  describe('state listeners and reentrant changes', () => {
    it('delivers every transition to every listener in order when a listener resets', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const first: string[] = [];
      const second: string[] = [];
      breaker.onStateChange(({ from, to }) => {
        first.push(`${from}->${to}`);
        if (to === 'open') breaker.reset();
      });
      breaker.onStateChange(({ from, to }) => second.push(`${from}->${to}`));
      await trip((fn) => breaker.execute(fn));
      expect(first).to.deep.equal(['closed->open', 'open->closed']);
      expect(second).to.deep.equal(['closed->open', 'open->closed']);
      expect(breaker.state).to.equal('closed');
    });

    it('emits circuit-state events in order when a listener isolates', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const policy = Policy.builder('order').circuitBreaker(breaker).build();
      breaker.onStateChange(({ to }) => {
        if (to === 'open') breaker.isolate();
      });
      const seen: string[] = [];
      policy.on('circuit-state', ({ from, to }) => seen.push(`${from}->${to}`));
      await trip((fn) => policy.execute(fn));
      expect(seen).to.deep.equal(['closed->open', 'open->isolated']);
    });
  });

  describe('listener failures', () => {
    it('a policy event listener that rejects causes no unhandled rejection', async () => {
      const policy = Policy.builder('async-listeners').fallback({ value: 'fb' }).build();
      for (const event of ['success', 'failure', 'attempt', 'fallback'] as const) {
        policy.on(event, async () => {
          throw new Error(`listener of ${event}`);
        });
      }
      let result: unknown;
      const unhandled = await unhandledDuring(async () => {
        result = await policy.execute(() => Promise.reject(new Error('x')));
        await policy.execute(() => 'ok');
      });
      expect(result).to.equal('fb');
      expect(unhandled.map(String)).to.deep.equal([]);
    });

    it('an onStateChange listener that rejects causes no unhandled rejection', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const policy = Policy.builder('state').circuitBreaker(breaker).build();
      breaker.onStateChange(async () => {
        throw new Error('state listener');
      });
      policy.on('circuit-state', () => Promise.reject(new Error('event listener')));
      const seen: string[] = [];
      breaker.onStateChange(({ to }) => seen.push(to));
      const unhandled = await unhandledDuring(async () => {
        await trip((fn) => policy.execute(fn));
        breaker.reset();
      });
      expect(unhandled.map(String)).to.deep.equal([]);
      expect(seen).to.deep.equal(['open', 'closed']);
    });

    it('a registry listener that rejects or throws neither fails nor leaks', async () => {
      const registry = new PolicyRegistry();
      registry.onRegister(async () => {
        throw new Error('async registry listener');
      });
      registry.onRegister(() => {
        throw new Error('sync registry listener');
      });
      const unhandled = await unhandledDuring(async () => {
        registry.register(Policy.builder('late').build());
      });
      expect(unhandled.map(String)).to.deep.equal([]);
      expect(registry.names()).to.include('late');
    });

    it('a listener returning a thenable whose then throws breaks nothing', async () => {
      const policy = Policy.builder('thenable').build();
      policy.on('success', () => ({
        get then(): never {
          throw new Error('hostile then');
        },
      }));
      const unhandled = await unhandledDuring(async () => {
        expect(await policy.execute(() => 'ok')).to.equal('ok');
      });
      expect(unhandled.map(String)).to.deep.equal([]);
    });
  });

  describe('fallback that rethrows', () => {
    it('is not counted or reported as a fallback', async () => {
      const policy = Policy.builder('rethrow')
        .fallback({
          method: (error: unknown) => {
            throw error;
          },
        })
        .build();
      const events: string[] = [];
      policy.on('fallback', () => events.push('fallback'));
      policy.on('failure', () => events.push('failure'));
      const run = settle(policy.execute(() => Promise.reject(new Error('boom'))));
      await flush();
      expect((run.reason as Error).message).to.equal('boom');
      expect(events).to.deep.equal(['failure']);
      expect(policy.metrics().fallbacks).to.equal(0);
    });

    it('an async method that rejects supplies no value: a later success is not a fallback', async () => {
      const policy = Policy.builder('reject-later')
        .retry({ maxAttempts: 2, delay: 0 })
        .fallback({ method: () => Promise.reject(new Error('no substitute')) })
        .build();
      const successes: boolean[] = [];
      policy.on('success', (e) => successes.push(e.fallback));
      let n = 0;
      const value = await policy.execute(() =>
        ++n === 1 ? Promise.reject(new Error('first')) : 'second',
      );
      expect(value).to.equal('second');
      expect(successes).to.deep.equal([false]);
      // Taken once, over the first failure, which the method's own error replaced.
      expect(policy.metrics().fallbacks).to.equal(1);
    });

    it('is not reported with the OpenTelemetry outcome fallback', async () => {
      const reader = new TestReader();
      const provider = new MeterProvider({ readers: [reader] });
      try {
        const policy = Policy.builder('otel-rethrow')
          .fallback({ method: () => Promise.reject(new Error('no substitute')) })
          .build();
        instrument(policy, { meter: provider.getMeter('test') });
        await policy.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
        // Taken (`bulwark.fallbacks`, with the failure it replaced), but the call failed.
        expect(await otelCounts(reader)).to.deep.equal({ calls: { failure: 1 }, fallbacks: 1 });
      } finally {
        await provider.shutdown();
      }
    });

    it('a method that succeeds is still a fallback', async () => {
      const policy = Policy.builder('recovers')
        .fallback({ method: async () => 'cached' })
        .build();
      const successes: boolean[] = [];
      policy.on('success', (e) => successes.push(e.fallback));
      expect(await policy.execute(() => Promise.reject(new Error('x')))).to.equal('cached');
      expect(successes).to.deep.equal([true]);
      expect(policy.metrics().fallbacks).to.equal(1);
    });
  });

  describe('OpenTelemetry and hostile errors', () => {
    it('counts a call whose thunk rejects with a hostile Proxy', async () => {
      const reader = new TestReader();
      const provider = new MeterProvider({ readers: [reader] });
      try {
        const policy = Policy.builder('hostile').build();
        instrument(policy, { meter: provider.getMeter('test') });
        const error = hostile();
        const run = settle(policy.execute(() => Promise.reject(error)));
        await flush();
        expect(run.reason).to.equal(error);
        expect(await otelCounts(reader)).to.deep.equal({ calls: { failure: 1 }, fallbacks: 0 });
      } finally {
        await provider.shutdown();
      }
    });
  });
});
