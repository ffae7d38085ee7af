// The hedge and chaos rules of docs/CONTRACT.md (R-HEDGE-*, R-CHAOS-*), against the built package.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { Chaos, Hedge, InjectedFaultError, Policy, PolicyRegistry } from 'bulwark';
import { flush, rejectionOf, settle } from './support.js';

interface Pending {
  readonly attempt: number;
  readonly signal: AbortSignal;
  resolve(value: string): void;
  reject(error: unknown): void;
}

function recorder(): {
  calls: Pending[];
  thunk: (ctx: { attempt: number; signal: AbortSignal }) => Promise<string>;
} {
  const calls: Pending[] = [];
  return {
    calls,
    thunk: (ctx) =>
      new Promise<string>((resolve, reject) =>
        calls.push({ attempt: ctx.attempt, signal: ctx.signal, resolve, reject }),
      ),
  };
}

describe('contract: Hedge', () => {
  it('R-HEDGE-1: validates maxHedges, delay and on, naming the option', () => {
    expect(() => new Hedge({ maxHedges: 1.5 })).to.throw(RangeError, '`maxHedges`');
    expect(() => new Hedge({ delay: -2 })).to.throw(RangeError, '`delay`');
    expect(() => new Hedge({ delay: -1 })).to.throw(
      RangeError,
      "`delay` must be a finite duration >= 0 such as 250ms or 2s, or 'on-failure', got -1",
    );
    expect(() => new Hedge({ delay: 'later' })).to.throw(TypeError, '`delay`');
    expect(() => new Hedge({ on: true as never })).to.throw(TypeError, '`on`');
    const hedge = new Hedge();
    expect([hedge.maxHedges, hedge.delayMs]).to.deep.equal([1, 2000]);
    expect(new Hedge({ delay: 'on-failure' }).delayMs).to.equal(Infinity);
  });

  it('R-HEDGE-2, R-HEDGE-5: one attempt per delay, up to 1 + maxHedges, numbered in ctx.attempt; a failure starts the next in the next turn', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p').hedge({ maxHedges: 2, delay: 100, clock }).build();
    const { calls, thunk } = recorder();
    const call = settle(policy.execute(thunk));
    await clock.advance(100);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2]);
    calls[0]?.reject(new Error('down'));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(calls, 'not in the same turn').to.have.length(2);
    await clock.advance(0);
    expect(calls.map((c) => c.attempt)).to.deep.equal([1, 2, 3]);
    await clock.advance(1000);
    expect(calls).to.have.length(3);
    expect(new Set(calls.map((c) => c.signal)).size).to.equal(3);
    calls[2]?.resolve('three');
    await flush();
    expect(call).to.deep.include({ status: 'fulfilled', value: 'three' });
    // delay 0: all at once; 'on-failure': only when one fails.
    const all = recorder();
    settle(Policy.builder('p').hedge({ maxHedges: 2, delay: 0 }).build().execute(all.thunk));
    expect(all.calls).to.have.length(3);
    const lazy = recorder();
    settle(Policy.builder('p').hedge({ delay: 'on-failure', clock }).build().execute(lazy.thunk));
    await clock.advance(10_000);
    expect(lazy.calls).to.have.length(1);
    for (const c of [...all.calls, ...lazy.calls]) c.resolve('x');
  });

  it('R-HEDGE-3: the first acceptable outcome answers; the others are aborted with an AbortError and ignored', async () => {
    const policy = Policy.builder('p').hedge({ maxHedges: 1, delay: 0 }).build();
    const { calls, thunk } = recorder();
    const call = settle(policy.execute(thunk));
    calls[1]?.resolve('second');
    await flush();
    expect(call).to.deep.include({ status: 'fulfilled', value: 'second' });
    expect(calls[0]?.signal.aborted).to.equal(true);
    expect((calls[0]?.signal.reason as DOMException).name).to.equal('AbortError');
    calls[0]?.resolve('late');
    await flush();
    expect(call.value).to.equal('second');
  });

  it('R-HEDGE-4: `on` decides; with nothing acceptable the last outcome arrives; a throwing predicate fails the call', async () => {
    const policy = Policy.builder<number>('p')
      .hedge({ delay: 0, on: (o) => !o.ok || o.result < 0 })
      .build();
    const { calls, thunk } = recorder();
    const call = settle(policy.execute(thunk as never));
    const last = new Error('last');
    (calls[0] as Pending).resolve(-1 as never);
    calls[1]?.reject(last);
    await flush();
    expect(call).to.deep.include({ status: 'rejected', reason: last });
    const oops = new Error('oops');
    const throwing = Policy.builder('p')
      .hedge({
        delay: 0,
        on: () => {
          throw oops;
        },
      })
      .build();
    expect(await rejectionOf(throwing.execute(() => 'x'))).to.equal(oops);
  });
});

describe('contract: Chaos', () => {
  it('R-CHAOS-1: validates each option, naming it', () => {
    expect(() => new Chaos({ fault: { rate: -0.1 } })).to.throw(RangeError, '`fault.rate`');
    expect(() => new Chaos({ latency: { rate: 1 } as never })).to.throw(
      TypeError,
      '`latency.delay`',
    );
    expect(() => new Chaos({ result: { rate: 1 } as never })).to.throw(TypeError, '`result.value`');
    expect(() => new Chaos({ enabled: 1 as never })).to.throw(TypeError, '`enabled`');
    expect(() => new Chaos({ seed: 0.5 })).to.throw(RangeError, '`seed`');
    expect(() => new Chaos({ fault: { rate: 1, error: 42 as never } })).to.throw(
      TypeError,
      '`fault.error`',
    );
    expect(() => new Chaos({ fault: { rate: 1, error: async () => new Error() } })).to.throw(
      TypeError,
      '`fault.error`',
    );
  });

  it('R-CHAOS-2: faults and results answer without running the work; latency waits, then runs it', async () => {
    let ran = 0;
    const work = () => {
      ran++;
      return 'real';
    };
    const fault = await rejectionOf(
      Policy.builder('p')
        .chaos({ fault: { rate: 1 } })
        .build()
        .execute(work),
    );
    expect(fault).to.be.instanceOf(InjectedFaultError);
    expect((fault as InjectedFaultError).code).to.equal('INJECTED_FAULT');
    expect(
      await Policy.builder('p')
        .chaos({ result: { rate: 1, value: 'fake' } })
        .build()
        .execute(work),
    ).to.equal('fake');
    expect(ran).to.equal(0);
    const clock = new ManualClock();
    const slow = settle(
      Policy.builder('p')
        .chaos({ latency: { rate: 1, delay: 300 }, clock })
        .build()
        .execute(work),
    );
    await clock.advance(299);
    expect(ran).to.equal(0);
    await clock.advance(1);
    expect(slow).to.deep.include({ status: 'fulfilled', value: 'real' });
  });

  it('R-CHAOS-3: the same seed gives the same injections', async () => {
    const sequence = async (seed: number) => {
      const policy = Policy.builder('p')
        .chaos({ fault: { rate: 0.5 }, seed })
        .build();
      const out: boolean[] = [];
      for (let i = 0; i < 40; i++) out.push(await policy.execute(() => true).catch(() => false));
      return out;
    };
    const first = await sequence(9);
    expect(await sequence(9)).to.deep.equal(first);
    expect(first).to.include(true).and.to.include(false);
  });

  it('R-CHAOS-4: enabled false injects nothing; a function decides per call', async () => {
    const off = Policy.builder('p')
      .chaos({ fault: { rate: 1 }, enabled: false })
      .build();
    expect(await off.execute(() => 'ok')).to.equal('ok');
    const perCall = Policy.builder('p')
      .chaos({ fault: { rate: 1 }, enabled: (call) => call.data.has('chaos') })
      .build();
    expect(await perCall.execute(() => 'ok')).to.equal('ok');
    expect(await rejectionOf(perCall.execute(() => 'ok', { data: { chaos: 1 } }))).to.be.instanceOf(
      InjectedFaultError,
    );
  });

  it('R-CHAOS-6: configuration builds an active chaos stage only with chaos: true', async () => {
    const config = {
      chaos: { drill: { fault: { rate: 1 } } },
      policies: { p: [{ chaos: 'drill' }] },
    };
    expect(() => PolicyRegistry.fromConfig(config)).to.throw(
      TypeError,
      /^resilience\.chaos\.drill: /,
    );
    const registry = PolicyRegistry.fromConfig(config, { chaos: true });
    expect(await rejectionOf(registry.policy('p').execute(() => 'ok'))).to.be.instanceOf(
      InjectedFaultError,
    );
    expect(() =>
      PolicyRegistry.fromConfig({ chaos: { drill: { fault: { rate: 1 }, enabled: false } } }),
    ).not.to.throw();
  });
});
