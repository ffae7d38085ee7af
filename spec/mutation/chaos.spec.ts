// Chaos, what a caller can tell apart: each option's message, what the standalone `execute` does
// with a signal, a switch and each injection, how many draws a call takes (and so which calls a
// seed hits), the events a policy reports, and an injected wait cut short by a deadline.
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import sinon from 'sinon';
import vm from 'node:vm';
import { instrument } from '../../src/otel/index.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Chaos, InjectedFaultError, type ChaosCall } from '../../src/strategies/chaos/Chaos.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { ManualClock } from '../support/clock.js';
import { flush, rejectionOf, settle } from '../support/promises.js';

/** What `new Chaos(options)` throws. */
function refusal(options: unknown): Error & { option?: string; expected?: string } {
  try {
    new Chaos(options as never);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`);
}

/** The outcome of each of `n` standalone calls: 'ok', 'fault' or the injected value. */
async function run(chaos: Chaos<string>, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      seen.push(await chaos.execute(() => 'ok'));
    } catch (error) {
      seen.push(error instanceof InjectedFaultError ? 'fault' : String(error));
    }
  }
  return seen;
}

describe('Chaos: options', () => {
  it('names the option and the value in every refusal', () => {
    const cases: [unknown, ErrorConstructor, string][] = [
      [5, TypeError, 'Chaos options must be an object, got 5'],
      [{ fault: null }, TypeError, '`fault` must be an object with `rate`, `error`, got null'],
      [{ latency: 3 }, TypeError, '`latency` must be an object with `rate`, `delay`, got 3'],
      [{ result: [] }, TypeError, '`result` must be an object with `rate`, `value`, got an array'],
      [
        { latency: { rate: 2, delay: 1 } },
        RangeError,
        '`latency.rate` must be a number in [0, 1], got 2',
      ],
      [
        { result: { rate: -1, value: 1 } },
        RangeError,
        '`result.rate` must be a number in [0, 1], got -1',
      ],
      [{ result: { value: 1 } }, TypeError, '`result.rate` is required, got undefined'],
      [
        { fault: { rate: 1, error: undefined } },
        TypeError,
        '`fault.error` must be an Error, a string or a function, got undefined',
      ],
    ];
    for (const [options, type, message] of cases) {
      const error = refusal(options);
      expect(error, JSON.stringify(options)).to.be.instanceOf(type);
      expect(error.message, JSON.stringify(options)).to.equal(message);
    }
    expect(refusal({ fault: {} })).to.deep.include({
      option: 'fault.rate',
      expected: 'a value',
      received: undefined,
    });
  });

  it('refuses a `fault.error` that is no Error, string or function, naming it and the value', async () => {
    const cases: [unknown, string][] = [
      [42, '42'],
      [null, 'null'],
      [{ message: 'down' }, 'an object'],
      [true, 'true'],
    ];
    for (const [error, shown] of cases) {
      const refused = refusal({ fault: { rate: 1, error } });
      expect(refused, shown).to.be.instanceOf(TypeError);
      expect(refused.message, shown).to.equal(
        `\`fault.error\` must be an Error, a string or a function, got ${shown}`,
      );
      expect(refused.option, shown).to.equal('fault.error');
    }
    const async = refusal({ fault: { rate: 1, error: async () => new Error('down') } });
    expect(async).to.be.instanceOf(TypeError);
    expect(async.message).to.equal(
      '`fault.error` must return what to throw synchronously; an async function returns a promise',
    );
    // An Error of any kind, from any realm, is taken as it is.
    const foreign = vm.runInNewContext('new RangeError("down")') as Error;
    const aborted = new DOMException('down', 'AbortError');
    for (const error of [foreign, aborted, new InjectedFaultError('down')]) {
      const chaos = new Chaos({ fault: { rate: 1, error } });
      expect(await rejectionOf(chaos.execute(() => 'ok'))).to.equal(error);
    }
  });

  it('takes any seed in [0, 2^32), both ends included', () => {
    expect(new Chaos({ seed: 0 }).seed).to.equal(0);
    expect(new Chaos({ seed: 0xffffffff }).seed).to.equal(0xffffffff);
  });

  it('takes a rate of 0 for each injection, which then never hits', async () => {
    const chaos = new Chaos<string>({
      fault: { rate: 0 },
      latency: { rate: 0, delay: 10 },
      result: { rate: 0, value: 'x' },
      clock: new ManualClock(0, { forbidTimers: 'no injected wait expected' }),
    });
    expect([chaos.faultRate, chaos.latencyRate, chaos.resultRate]).to.deep.equal([0, 0, 0]);
    expect(await run(chaos, 20)).to.deep.equal(Array<string>(20).fill('ok'));
    // In a policy too: a call nothing hits goes straight on, without a wait or an event.
    const policy = Policy.builder<string>('p').chaos(chaos).build();
    const events: unknown[] = [];
    policy.on('chaos', (e) => events.push(e));
    for (let i = 0; i < 5; i++) expect(await policy.execute(() => 'ok')).to.equal('ok');
    expect(events).to.deep.equal([]);
  });

  it('describes what it injects, and nothing else', () => {
    const describe = (options: object) => Policy.builder().chaos(options).build().describe();
    expect(describe({})).to.equal('1. chaos: nothing to inject');
    expect(describe({ latency: { rate: 0.1, delay: 5 } })).to.equal('1. chaos: latency 10% x 5 ms');
    expect(describe({ result: { rate: 0.5, value: 1 }, enabled: true })).to.equal(
      '1. chaos: results 50%',
    );
  });
});

describe('Chaos standalone', () => {
  it('with an aborted signal rejects with its reason, without running the work or drawing', async () => {
    const chaos = new Chaos({ fault: { rate: 1 } });
    const controller = new AbortController();
    controller.abort('gone');
    let ran = false;
    const error = await rejectionOf(
      chaos.execute(() => {
        ran = true;
      }, controller.signal),
    );
    expect(error).to.equal('gone');
    expect(ran).to.equal(false);
    expect(chaos.faults).to.equal(0);
  });

  it('switched off, runs the work and injects nothing', async () => {
    const chaos = new Chaos<string>({ fault: { rate: 1 }, enabled: false });
    expect(await run(chaos, 3)).to.deep.equal(['ok', 'ok', 'ok']);
    expect(chaos.faults).to.equal(0);
  });

  it('switched on with `enabled: true`, injects into every call', async () => {
    const chaos = new Chaos<string>({ fault: { rate: 1 }, enabled: true });
    expect(await run(chaos, 2)).to.deep.equal(['fault', 'fault']);
  });

  it('asks `enabled` and `fault.error` with the call: attempt 1, its own data, no policy name', async () => {
    const calls: ChaosCall[] = [];
    const chaos = new Chaos({
      fault: {
        rate: 1,
        error: (call: ChaosCall) => {
          calls.push(call);
          return new Error('made');
        },
      },
      enabled: (call) => {
        calls.push(call);
        return true;
      },
    });
    expect(((await rejectionOf(chaos.execute(() => 'ok'))) as Error).message).to.equal('made');
    expect(calls).to.have.length(2);
    expect(calls[0]).to.equal(calls[1]);
    expect(calls[0]).to.deep.equal({ attempt: 1, data: new Map(), policyName: '' });
  });

  it('answers with the injected value instead of running the work, and counts it', async () => {
    const chaos = new Chaos({ result: { rate: 1, value: 'canned' } });
    let ran = false;
    const value = await chaos.execute(() => {
      ran = true;
      return 'real';
    });
    expect(value).to.equal('canned');
    expect(ran).to.equal(false);
    expect(chaos.results).to.equal(1);
  });

  it('fails with a default InjectedFaultError saying where it came from', async () => {
    const error = await rejectionOf(new Chaos({ fault: { rate: 1 } }).execute(() => 'ok'));
    expect(error).to.be.instanceOf(InjectedFaultError);
    expect((error as Error).message).to.equal('Fault injected by a chaos stage');
    expect(new InjectedFaultError().message).to.equal('Fault injected by a chaos stage');
  });

  it('sets no timer for a call without injected latency, and counts each delayed call', async () => {
    const quiet = new Chaos({
      fault: { rate: 1 },
      clock: new ManualClock(0, { forbidTimers: 'no wait expected' }),
    });
    expect(await rejectionOf(quiet.execute(() => 'ok'))).to.be.instanceOf(InjectedFaultError);
    const clock = new ManualClock();
    const slow = new Chaos({ latency: { rate: 1, delay: 20 }, clock });
    for (let i = 1; i <= 2; i++) {
      const call = settle(slow.execute(() => 'ok'));
      await clock.advance(20);
      expect(call).to.deep.include({ status: 'fulfilled', value: 'ok' });
      expect(slow.delays).to.equal(i);
    }
  });
});

// With seed 42, a fault at rate 0.5 (one draw a call), and a fault and a result (two draws a call).
const SEED_42_FAULTS = 'ok fault ok ok fault ok fault ok ok fault fault ok'.split(' ');
const SEED_42_BOTH = 'x ok fault fault x fault x fault ok fault x x'.split(' ');

describe('Chaos draws', () => {
  afterEach(() => sinon.restore());

  it('without a seed, draws from Math.random once per injection whose rate is above 0', async () => {
    const random = sinon.stub(Math, 'random').returns(0);
    const faulty = new Chaos<string>({ fault: { rate: 0.01 } });
    expect(await run(faulty, 2)).to.deep.equal(['fault', 'fault']);
    expect(random.callCount).to.equal(2);
    random.resetHistory();
    const clock = new ManualClock();
    const all = new Chaos<string>({
      latency: { rate: 0.01, delay: 1 },
      fault: { rate: 0.01 },
      result: { rate: 0.01, value: 'x' },
      clock,
    });
    const call = settle(all.execute(() => 'ok'));
    await clock.advance(1);
    expect((call.reason as Error).name).to.equal('InjectedFaultError');
    expect(random.callCount).to.equal(3);
    expect([all.delays, all.faults, all.results]).to.deep.equal([1, 1, 0]);
  });

  it('hits a call when its draw is below the rate, not when equal to it', async () => {
    sinon.stub(Math, 'random').returns(0.5);
    const clock = new ManualClock(0, { forbidTimers: 'no injected wait expected' });
    const even = new Chaos<string>({
      latency: { rate: 0.5, delay: 1 },
      fault: { rate: 0.5 },
      result: { rate: 0.5, value: 'x' },
      clock,
    });
    expect(await run(even, 3)).to.deep.equal(['ok', 'ok', 'ok']);
    const above = new Chaos<string>({ fault: { rate: 0.5000001 } });
    expect(await run(above, 1)).to.deep.equal(['fault']);
  });

  it('with a seed, gives the same injections in every version: the generator and the draws are fixed', async () => {
    const faults = new Chaos<string>({ fault: { rate: 0.5 }, seed: 42 });
    expect(await run(faults, 12)).to.deep.equal(SEED_42_FAULTS);
    // A result draw follows the fault draw of each call: the same faults no longer follow.
    const both = new Chaos<string>({
      fault: { rate: 0.5 },
      result: { rate: 0.5, value: 'x' },
      seed: 42,
    });
    expect(await run(both, 12)).to.deep.equal(SEED_42_BOTH);
    const results = new Chaos<string>({ result: { rate: 0.5, value: 'x' }, seed: 42 });
    expect(await run(results, 12)).to.deep.equal(
      SEED_42_FAULTS.map((o) => (o === 'fault' ? 'x' : o)),
    );
  });
});

describe('Chaos stage: events and waits', () => {
  afterEach(() => sinon.restore());

  it('reports an injected result with the value, and a throwing `fault.error` with what it threw', async () => {
    const events: unknown[] = [];
    const results = Policy.builder<string>('p')
      .chaos({ result: { rate: 1, value: 'canned' } })
      .build();
    results.on('chaos', (e) => events.push(e));
    expect(await results.execute(() => 'real')).to.equal('canned');
    expect(events).to.deep.equal([
      { policy: 'p', stage: 'chaos', injection: 'result', result: 'canned' },
    ]);
    events.length = 0;
    const oops = new Error('error factory failed');
    const throwing = Policy.builder<string>('p')
      .chaos({
        fault: {
          rate: 1,
          error: () => {
            throw oops;
          },
        },
      })
      .build();
    throwing.on('chaos', (e) => events.push(e));
    expect(await rejectionOf(throwing.execute(() => 'real'))).to.equal(oops);
    expect(events).to.deep.equal([
      { policy: 'p', stage: 'chaos', injection: 'fault', error: oops },
    ]);
  });

  it('a wait cut short by an enclosing deadline fails the call through the stages between', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .timeout({ timeout: 100, clock })
      .circuitBreaker(breaker)
      .chaos({ latency: { rate: 1, delay: 1000 }, clock })
      .build();
    const result = settle(policy.execute(() => 'ok'));
    await clock.advance(100);
    expect((result.reason as Error).name).to.equal('OperationTimeoutError');
    // The breaker inside the deadline saw the wait fail.
    expect(breaker.state).to.equal('open');
  });

  it('does not run the work when the deadline passes in the same turn as the injected wait ends', async () => {
    const timers = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const policy = Policy.builder<string>('p')
      .timeout({ timeout: 100 })
      .circuitBreaker(breaker)
      .chaos({ latency: { rate: 1, delay: 99 } })
      .build();
    let ran = false;
    const result = settle(
      policy.execute(() => {
        ran = true;
        return 'ok';
      }),
    );
    // Both timers run before any promise reaction: the wait has ended, the deadline passed.
    timers.tick(100);
    await flush();
    expect((result.reason as Error).name).to.equal('OperationTimeoutError');
    expect(ran).to.equal(false);
    // The stages inside the deadline hear of its failure.
    expect(breaker.metrics.failedCalls).to.equal(1);
  });
});

describe('Chaos gauge', () => {
  it('reports `bulwark.chaos.enabled` only for a chaos-kind stage whose state says on or off', async () => {
    class TestReader extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const custom = (name: string, enabled: unknown) => ({
      kind: 'chaos',
      name,
      execute: <T>(ctx: ExecutionContext, next: (ctx: ExecutionContext) => Promise<T>) => next(ctx),
      state: () => ({ enabled }),
    });
    const policy = Policy.builder('drill')
      .chaos({ enabled: false }, 'off')
      .use(custom('on', true))
      .use(custom('unknown', 'maybe'))
      .build();
    const stop = instrument(policy, { meter: provider.getMeter('spec') });
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'bulwark.chaos.enabled');
    const points = (metric?.dataPoints ?? []).map((p) => [p.attributes.primitive, p.value]);
    expect(points).to.deep.equal([
      ['off', 0],
      ['on', 1],
    ]);
    stop();
    await provider.shutdown();
  });
});
