// PolicyRegistry.reload of a retry budget, a hedge or a chaos stage whose options changed: the new
// object takes over what still applies (a budget's spending in its window, the counters); what
// the old one counts later, for calls in flight under the old settings, stays on the old one.
import { expect } from 'chai';
import { InjectedFaultError } from '../../src/strategies/chaos/Chaos.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf } from '../support/promises.js';

type Config = Record<string, unknown>;

describe('PolicyRegistry.reload: counters and spending that still apply', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock();
  });

  describe('a retry budget', () => {
    const budget = (ratio: number, window = '10s'): Config => ({
      'retry-budget': { api: { ratio, 'min-per-second': 1, window } },
      retry: { r: { 'max-attempts': 3, budget: 'api' } },
      policies: { p: [{ retry: 'r' }] },
    });

    /** 100 first attempts and 25 retries wanted at 0 (20 paid, 5 refused); 100 more at 5s. */
    function spend(registry: PolicyRegistry): void {
      const api = registry.retryBudget('api');
      for (let i = 0; i < 100; i++) api.deposit();
      for (let i = 0; i < 25; i++) api.tryWithdraw();
      clock.tick(5_000);
      for (let i = 0; i < 100; i++) api.deposit();
    }

    it('keeps what its window spent, under the new ratio, and its refusals', () => {
      const registry = PolicyRegistry.fromConfig(budget(0.1), { clock });
      spend(registry);
      const old = registry.retryBudget('api');
      expect(old).to.include({ tokens: 0.1 * 200 + 10 - 20, refused: 5 });
      const event = registry.reload(budget(0.15));
      expect(event.changed).to.include('retry-budget.api');
      const api = registry.retryBudget('api');
      expect(api).to.not.equal(old);
      // Not a fresh budget (10, its reserve): 0.15 x 200 first attempts + 10 - 20 retries.
      expect(api).to.include({ ratio: 0.15, tokens: 20, refused: 5 });
      // The counts of 0 s expire when the window has passed them, as in the old budget.
      clock.tick(4_999);
      expect(api.tokens).to.equal(20);
      clock.tick(1);
      expect(api.tokens).to.equal(0.15 * 100 + 10);
      expect(registry.health().primitives['retry-budget'].api).to.include({ refused: 5 });
    });

    it('stays drained when a reload tightens it during an outage', async () => {
      const registry = PolicyRegistry.fromConfig(budget(0.1), { clock });
      const p = registry.policy('p');
      let hits = 0;
      const down = (): Promise<never> => {
        hits++;
        return Promise.reject(new Error('down'));
      };
      const call = async (): Promise<void> => {
        const settled = p.execute(down).catch(() => undefined);
        // Retries yield: each waits for a timer of 0 ms.
        for (let i = 0; i < 3; i++) await clock.advance(0);
        await settled;
      };
      for (let i = 0; i < 200; i++) await call();
      const refused = registry.retryBudget('api').refused;
      expect(registry.retryBudget('api').tokens).to.equal(0);
      expect(refused).to.be.greaterThan(100);
      registry.reload(budget(0.01));
      expect(registry.retryBudget('api')).to.include({ tokens: 0, refused });
      hits = 0;
      for (let i = 0; i < 50; i++) await call();
      // Every call's first attempt, and the retries 0.01 x 50 more first attempts pay for.
      expect(hits).to.equal(50);
    });

    it('places each count at its time in a window of another length', () => {
      const longer = PolicyRegistry.fromConfig(budget(0.1), { clock });
      spend(longer);
      longer.reload(budget(0.1, '20s'));
      const api = longer.retryBudget('api');
      // 0.1 x 200 + 1 x 20 s - 20: all counted within the last 20 s.
      expect(api.tokens).to.equal(20);
      // At 20 s (buckets of 2 s) the counts of 0 s expire, those of 5 s are still in.
      clock.tick(14_999);
      expect(api.tokens).to.equal(20);
      clock.tick(1);
      expect(api.tokens).to.equal(0.1 * 100 + 20);

      clock = new ManualClock();
      const shorter = PolicyRegistry.fromConfig(budget(0.1), { clock });
      spend(shorter);
      shorter.reload(budget(0.1, '2s'));
      // Those of 0 s are older than a 2 s window: only the 100 first attempts of 5 s are left.
      expect(shorter.retryBudget('api')).to.include({ tokens: 0.1 * 100 + 2, refused: 5 });
    });
  });

  describe('a hedge', () => {
    const hedge = (delay: string): Config => ({
      hedge: { h: { 'max-hedges': 1, delay } },
      policies: { p: [{ hedge: 'h' }] },
    });
    // The first attempt takes 30 ms, a hedged one 5 ms: a hedge after 10 ms wins.
    const work = (ctx: ExecutionContext): Promise<number> =>
      new Promise((resolve) =>
        clock.setTimeout(() => resolve(ctx.attempt), ctx.attempt === 1 ? 30 : 5),
      );

    it('keeps its hedges and wins; the attempts still running on the old one count there', async () => {
      const registry = PolicyRegistry.fromConfig(hedge('10ms'), { clock });
      const p = registry.policy('p');
      const done = p.execute(work);
      await clock.advance(100);
      expect(await done).to.equal(2);
      const call = p.execute(work);
      await clock.advance(10);
      const old = registry.hedge('h');
      expect(old).to.include({ hedges: 2, wins: 1, running: 2 });
      registry.reload(hedge('20ms'));
      expect(registry.hedge('h')).to.not.equal(old);
      const state = { kind: 'hedge', name: 'h', maxHedges: 1, delayMs: 20 };
      expect(p.metrics().stages).to.deep.equal([{ ...state, running: 0, hedges: 2, wins: 1 }]);
      expect(registry.health().primitives.hedge.h).to.deep.equal({
        ...state,
        running: 0,
        hedges: 2,
        wins: 1,
      });
      await clock.advance(100);
      expect(await call).to.equal(2);
      // The call in flight won on the old object, which counts it.
      expect(old).to.include({ running: 0, hedges: 2, wins: 2 });
      expect(p.metrics().stages).to.deep.equal([{ ...state, running: 0, hedges: 2, wins: 1 }]);
      // Calls under the new settings count on from there.
      const next = p.execute(work);
      await clock.advance(100);
      expect(await next).to.equal(2);
      expect(registry.hedge('h')).to.include({ running: 0, hedges: 3, wins: 2 });
      expect(old).to.include({ running: 0, hedges: 2, wins: 2 });
    });

    it("carries a policy's own hedge stage's counters, across reloads one after another", async () => {
      const own = (delay: string): Config => ({
        policies: { p: [{ hedge: { 'max-hedges': 1, delay } }] },
      });
      const registry = PolicyRegistry.fromConfig(own('10ms'), { clock });
      const p = registry.policy('p');
      for (const delay of ['11ms', '12ms', '13ms']) {
        const done = p.execute(work);
        await clock.advance(100);
        expect(await done).to.equal(2);
        registry.reload(own(delay));
      }
      expect(p.metrics().stages[0]).to.include({ running: 0, hedges: 3, wins: 3, delayMs: 13 });
    });
  });

  describe('a chaos stage', () => {
    const chaos = (delay: string): Config => ({
      chaos: { c: { latency: { rate: 1, delay }, fault: { rate: 1 } } },
      policies: { p: [{ chaos: 'c' }] },
    });

    it('keeps its counters; what the old one injects into calls in flight counts there', async () => {
      const registry = PolicyRegistry.fromConfig(chaos('10ms'), { clock, chaos: true });
      const p = registry.policy('p');
      for (let i = 0; i < 3; i++) {
        const call = rejectionOf(p.execute(() => 'no'));
        await clock.advance(10);
        expect(await call).to.be.instanceOf(InjectedFaultError);
      }
      // A call delayed under the old settings: its fault comes after the reload.
      const inFlight = rejectionOf(p.execute(() => 'no'));
      const old = registry.chaos('c');
      expect(old).to.include({ delays: 4, faults: 3, results: 0 });
      registry.reload(chaos('20ms'));
      expect(registry.chaos('c')).to.not.equal(old);
      const state = { kind: 'chaos', name: 'c', enabled: true };
      expect(p.metrics().stages).to.deep.equal([{ ...state, faults: 3, delays: 4, results: 0 }]);
      await clock.advance(10);
      expect(await inFlight).to.be.instanceOf(InjectedFaultError);
      expect(old).to.include({ delays: 4, faults: 4, results: 0 });
      expect(p.metrics().stages).to.deep.equal([{ ...state, faults: 3, delays: 4, results: 0 }]);
      const next = rejectionOf(p.execute(() => 'no'));
      await clock.advance(20);
      expect(await next).to.be.instanceOf(InjectedFaultError);
      expect(registry.health().primitives.chaos.c).to.deep.equal({
        ...state,
        faults: 4,
        delays: 5,
        results: 0,
      });
    });
  });

  describe('an object replaced many times over', () => {
    const N = 50_000;

    /**
     * `first`, then N objects, each taking over from the one before (`takeOver`, called by the
     * caller with its own types, so that the run against dist/ reads the member by the name the
     * build gave it); the last one.
     */
    function chain<T>(first: T, make: () => T, takeOver: (next: T, old: T) => void): T {
      let last = first;
      for (let i = 0; i < N; i++) {
        const next = make();
        takeOver(next, last);
        last = next;
      }
      return last;
    }

    it('counts on itself alone, in one step, however many replaced it', () => {
      const options = { ratio: 0, minPerSecond: 0, clock };
      const budget = new RetryBudget(options);
      const newest = chain(
        budget,
        () => new RetryBudget(options),
        (next, old) => next.takeOver(old),
      );
      expect(budget.tryWithdraw()).to.equal(false);
      expect(budget.refused).to.equal(1);
      expect(newest.refused).to.equal(0);

      const hedge = new Hedge({ clock });
      const lastHedge = chain(
        hedge,
        () => new Hedge({ clock }),
        (next, old) => next.takeOver(old),
      );
      hedge.trackRun(1, true);
      hedge.won();
      expect(hedge).to.include({ running: 1, hedges: 1, wins: 1 });
      expect(lastHedge).to.include({ running: 0, hedges: 0, wins: 0 });

      const chaos = new Chaos({ fault: { rate: 1 }, clock });
      const lastChaos = chain(
        chaos as Chaos<unknown>,
        () => new Chaos({ fault: { rate: 1 }, clock }),
        (next, old) => next.takeOver(old),
      );
      chaos.faultFor({ attempt: 1 } as never);
      expect(chaos.faults).to.equal(1);
      expect(lastChaos.faults).to.equal(0);
    });
  });
});
