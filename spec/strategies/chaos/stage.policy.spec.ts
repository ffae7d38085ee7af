// The chaos stage, white-box through a policy: what it injects and how often, determinism with a
// seed, the switch (a boolean or per call) and what it costs when off, and the option checks.
import { expect } from 'chai';
import { isResilienceError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Chaos, InjectedFaultError } from '../../../src/strategies/chaos/Chaos.js';
import { ManualClock } from '../../support/clock.js';
import { flush, rejectionOf, settle } from '../../support/promises.js';

/** Runs `n` calls one after another; returns each outcome as 'ok', 'fault' or 'result'. */
async function outcomes(policy: Policy<string, string>, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      seen.push(await policy.execute(() => 'ok'));
    } catch (error) {
      seen.push(error instanceof InjectedFaultError ? 'fault' : String(error));
    }
  }
  return seen;
}

describe('Chaos stage', () => {
  it('fails about `rate` of the calls with an InjectedFaultError, without calling the work', async () => {
    const policy = Policy.builder<string>('p')
      .chaos({ fault: { rate: 0.3 }, seed: 7 })
      .build();
    let called = 0;
    let faults = 0;
    for (let i = 0; i < 2000; i++) {
      try {
        await policy.execute(() => {
          called++;
          return 'ok';
        });
      } catch (error) {
        expect(error).to.be.instanceOf(InjectedFaultError);
        expect((error as InjectedFaultError).code).to.equal('INJECTED_FAULT');
        faults++;
      }
    }
    expect(faults / 2000).to.be.within(0.27, 0.33);
    expect(called).to.equal(2000 - faults);
    expect(policy.metrics().stages[0]).to.deep.include({ faults, delays: 0, results: 0 });
  });

  it('is deterministic with a seed: the same calls get the same injections on every run', async () => {
    const make = (seed: number) =>
      Policy.builder<string>('p')
        .chaos({ fault: { rate: 0.5 }, result: { rate: 0.2, value: 'injected' }, seed })
        .build();
    const first = await outcomes(make(42), 50);
    expect(await outcomes(make(42), 50)).to.deep.equal(first);
    expect(await outcomes(make(43), 50)).not.to.deep.equal(first);
    expect(first).to.include('fault').and.to.include('injected').and.to.include('ok');
  });

  it('injects results instead of running the work, and errors as given', async () => {
    const given = new Error('given');
    const policy = Policy.builder<string>('p')
      .chaos({ fault: { rate: 1, error: given } })
      .build();
    expect(await rejectionOf(policy.execute(() => 'ok'))).to.equal(given);
    const message = Policy.builder('p')
      .chaos({ fault: { rate: 1, error: 'dependency down' } })
      .build();
    const error = await rejectionOf(message.execute(() => 'ok'));
    expect(error).to.be.instanceOf(InjectedFaultError);
    expect((error as Error).message).to.equal('dependency down');
    const made = Policy.builder('p')
      .chaos({
        fault: {
          rate: 1,
          error: (call: { attempt: number }) => new RangeError(`#${call.attempt}`),
        },
      })
      .build();
    expect(((await rejectionOf(made.execute(() => 'ok'))) as Error).message).to.equal('#1');
    let called = false;
    const value = Policy.builder<string>('p')
      .chaos({ result: { rate: 1, value: 'canned' } })
      .build();
    expect(
      await value.execute(() => {
        called = true;
        return 'real';
      }),
    ).to.equal('canned');
    expect(called).to.equal(false);
  });

  it('injects latency on its clock before the call goes on, and the wait honours the signal', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p')
      .chaos({ latency: { rate: 1, delay: '1s' }, clock })
      .build();
    const events: unknown[] = [];
    policy.on('chaos', (e) => events.push(e));
    let called = false;
    const result = settle(
      policy.execute(() => {
        called = true;
        return 'ok';
      }),
    );
    await clock.advance(999);
    expect(called).to.equal(false);
    await clock.advance(1);
    expect(result).to.deep.include({ status: 'fulfilled', value: 'ok' });
    expect(events).to.deep.equal([
      { policy: 'p', stage: 'chaos', injection: 'latency', delayMs: 1000 },
    ]);
    const controller = new AbortController();
    const aborted = settle(policy.execute(() => 'ok', { signal: controller.signal }));
    controller.abort('gone');
    await flush();
    expect(aborted).to.deep.include({ status: 'rejected', reason: 'gone' });
    expect(clock.pending()).to.equal(0);
  });

  it('an enclosing timeout cuts injected latency short', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .timeout({ timeout: 100, clock })
      .chaos({ latency: { rate: 1, delay: '5s' }, clock })
      .build();
    const result = settle(policy.execute(() => 'ok'));
    await clock.advance(100);
    expect(result.status).to.equal('rejected');
    expect((result.reason as Error).name).to.equal('OperationTimeoutError');
    expect(clock.pending()).to.equal(0);
  });

  it('counts a fault or result only once injected: not for a call that ends during its latency', async () => {
    const clock = new ManualClock();
    for (const injection of ['fault', 'result'] as const) {
      const policy = Policy.builder<string>('p')
        .chaos({
          latency: { rate: 1, delay: 50 },
          ...(injection === 'fault' ? { fault: { rate: 1 } } : { result: { rate: 1, value: 'x' } }),
          clock,
        })
        .build();
      const events: string[] = [];
      policy.on('chaos', (e) => events.push(e.injection));
      const controller = new AbortController();
      const aborted = settle(policy.execute(() => 'ok', { signal: controller.signal }));
      await clock.advance(10);
      controller.abort('gone');
      await clock.advance(60);
      expect(aborted).to.deep.include({ status: 'rejected', reason: 'gone' });
      expect(events).to.deep.equal(['latency']);
      expect(policy.metrics().stages[0]).to.deep.include({ delays: 1, faults: 0, results: 0 });
      await settle(policy.execute(() => 'ok'));
      await clock.advance(50);
      await flush();
      expect(events).to.deep.equal(['latency', 'latency', injection]);
      expect(policy.metrics().stages[0]).to.deep.include({
        delays: 2,
        faults: injection === 'fault' ? 1 : 0,
        results: injection === 'result' ? 1 : 0,
      });
    }
    const chaos = new Chaos({ latency: { rate: 1, delay: 50 }, fault: { rate: 1 }, clock });
    const controller = new AbortController();
    const aborted = settle(chaos.execute(() => 'ok', controller.signal));
    controller.abort('gone');
    await clock.advance(60);
    expect(aborted).to.deep.include({ status: 'rejected', reason: 'gone' });
    expect([chaos.delays, chaos.faults]).to.deep.equal([1, 0]);
  });

  it('reports each injection as a chaos event', async () => {
    const policy = Policy.builder<string>('p')
      .chaos({ fault: { rate: 1 } })
      .build();
    const events: { injection: string; error?: unknown }[] = [];
    policy.on('chaos', (e) => events.push(e));
    const error = await rejectionOf(policy.execute(() => 'ok'));
    expect(events).to.deep.equal([{ policy: 'p', stage: 'chaos', injection: 'fault', error }]);
  });

  it('switched off, runs every call and draws nothing: a later switch-on sees the same sequence', async () => {
    const noDraw = () => {
      throw new Error('no draw expected');
    };
    const off = new Chaos({ fault: { rate: 1 }, enabled: false });
    (off as unknown as { plan: unknown }).plan = noDraw;
    const policy = Policy.builder<string>('p').chaos(off).build();
    expect(await outcomes(policy, 5)).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(policy.describe()).to.equal('1. chaos: off');
    expect(policy.metrics().stages[0]).to.deep.include({ enabled: false, faults: 0 });
  });

  it('decides per call with an `enabled` function of the context; a throwing switch fails the call', async () => {
    const policy = Policy.builder<string>('p')
      .chaos({
        fault: { rate: 1 },
        enabled: (call) => call.data.get('chaos') === true,
      })
      .build();
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    expect(
      await rejectionOf(policy.execute(() => 'ok', { data: { chaos: true } })),
    ).to.be.instanceOf(InjectedFaultError);
    const oops = new Error('switch');
    const throwing = Policy.builder('p')
      .chaos({
        fault: { rate: 1 },
        enabled: () => {
          throw oops;
        },
      })
      .build();
    expect(await rejectionOf(throwing.execute(() => 'ok'))).to.equal(oops);
  });

  it('inside a retry, each attempt is a call of its own', async () => {
    const policy = Policy.builder<string>('p')
      .retry({ maxAttempts: 3, delay: 0 })
      .chaos({ fault: { rate: 1 }, enabled: (call) => call.attempt < 3 })
      .build();
    expect(await policy.execute((ctx) => `attempt ${ctx.attempt}`)).to.equal('attempt 3');
    expect(policy.metrics().retries).to.equal(2);
  });

  it('describes itself', () => {
    expect(
      Policy.builder()
        .chaos({
          fault: { rate: 0.3 },
          latency: { rate: 0.1, delay: '1s' },
          result: { rate: 0.05, value: null },
          seed: 42,
        })
        .build()
        .describe(),
    ).to.equal('1. chaos: faults 30%, latency 10% x 1000 ms, results 5%, seed 42');
    expect(
      Policy.builder()
        .chaos({ fault: { rate: 1 }, enabled: () => true })
        .build()
        .describe(),
    ).to.equal('1. chaos: faults 100%, when enabled');
  });

  it('refuses bad options, naming the option', () => {
    const cases: [unknown, ErrorConstructor, string][] = [
      [{ fault: { rate: 1.5 } }, RangeError, '`fault.rate` must be a number in [0, 1], got 1.5'],
      [{ fault: {} }, TypeError, '`fault.rate` is required'],
      [{ fault: 0.3 }, TypeError, '`fault` must be an object with `rate`, `error`, got 0.3'],
      [
        { fault: { rate: 0.1, eror: 1 } },
        TypeError,
        'Chaos: unknown option `fault.eror` (did you mean `fault.error`?)',
      ],
      [{ result: { rate: 0.1, value: 1, rate2: 0 } }, TypeError, 'unknown option `result.rate2`'],
      [{ latency: { rate: 0.1 } }, TypeError, '`latency.delay` is required'],
      [{ latency: { rate: 0.1, delay: 0 } }, RangeError, '`latency.delay` must be a duration > 0'],
      [
        { latency: { rate: 0.1, delay: -1 } },
        RangeError,
        '`latency.delay` must be a duration > 0, got -1',
      ],
      [{ result: { rate: 0.1 } }, TypeError, '`result.value` is required'],
      [{ enabled: 'yes' }, TypeError, '`enabled` must be a boolean or a function, got "yes"'],
      // One check and one message for every bad seed.
      [{ seed: -1 }, RangeError, '`seed` must be an integer in [0, 2^32), got -1'],
      [{ seed: 2 ** 32 }, RangeError, '`seed` must be an integer in [0, 2^32), got 4294967296'],
      [{ seed: 0.5 }, RangeError, '`seed` must be an integer in [0, 2^32), got 0.5'],
      [{ seed: '42' }, TypeError, '`seed` must be an integer in [0, 2^32), got "42"'],
      [{ faults: {} }, TypeError, 'Chaos: unknown option `faults` (did you mean `fault`?)'],
    ];
    for (const [options, type, message] of cases) {
      expect(() => new Chaos(options as never), JSON.stringify(options)).to.throw(type, message);
    }
    // The error carries the option's path and the value received.
    expect(() => new Chaos({ latency: { rate: 1, delay: 5, dealy: 3 } } as never))
      .to.throw(TypeError)
      .that.deep.includes({ option: 'latency.dealy', received: 3 });
    expect(() => new Chaos({ seed: 2.5 }))
      .to.throw(RangeError)
      .that.deep.includes({ option: 'seed', received: 2.5 });
  });
});

describe('Chaos standalone', () => {
  it('runs the work unless it injects, and waits out injected latency', async () => {
    const clock = new ManualClock();
    const chaos = new Chaos({ latency: { rate: 1, delay: 50 }, clock });
    const result = settle(chaos.execute(() => 'ok'));
    await clock.advance(49);
    expect(result.status).to.equal('pending');
    await clock.advance(1);
    expect(result).to.deep.include({ status: 'fulfilled', value: 'ok' });
    const faulty = new Chaos({ fault: { rate: 1 } });
    expect(await rejectionOf(faulty.execute(() => 'ok'))).to.be.instanceOf(InjectedFaultError);
    expect(faulty.faults).to.equal(1);
  });
});

describe('Chaos stage: an injected fault as the dependency failing', () => {
  it('is no ResilienceError: a retry that leaves refusals alone retries it', async () => {
    const fault = new InjectedFaultError();
    expect(isResilienceError(fault)).to.equal(false);
    expect([fault.name, fault.code]).to.deep.equal(['InjectedFaultError', 'INJECTED_FAULT']);
    let calls = 0;
    const policy = Policy.builder<string>('p')
      .retry({ maxAttempts: 2, retryOn: (e) => !isResilienceError(e) })
      .chaos({ fault: { rate: 1 }, enabled: () => ++calls === 1 })
      .build();
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    expect(policy.metrics().retries).to.equal(1);
  });
});
