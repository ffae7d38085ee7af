// The reload rules of docs/CONTRACT.md (R-REG-11 to R-REG-14), and R-POL-9 for a policy a
// registry hands out, on the built package.
import { expect } from 'chai';
import { OperationTimeoutError, Policy, PolicyRegistry, type RegistryReloadEvent } from 'bulwark';
import { inspect } from 'node:util';
import { ManualClock } from '../support/clock.js';
import { rejectionOf, thrownBy } from './support.js';

const config = (timeout: string, threshold = 1): Record<string, unknown> => ({
  'circuit-breaker': { inventory: { 'failure-threshold': threshold, 'recovery-timeout': '30s' } },
  policies: {
    pricing: [{ 'time-limiter': timeout }],
    stock: [{ 'circuit-breaker': 'inventory' }],
  },
});

describe('contract: registry reload', () => {
  it('R-REG-11: an invalid configuration throws the error loading it would, and changes nothing', () => {
    const registry = PolicyRegistry.fromConfig(config('1s'));
    const breaker = registry.circuitBreaker('inventory');
    const events: unknown[] = [];
    registry.on('reload', (e) => events.push(e));
    const bad = { ...config('2s', 2), retry: { default: { 'max-attempts': 0 } } };
    const loading = thrownBy(() => PolicyRegistry.fromConfig(bad));
    const reloading = thrownBy(() => registry.reload(bad));
    expect(reloading.message)
      .to.equal(loading.message)
      .and.match(/^resilience\.retry\.default\.max-attempts: /);
    expect(reloading).to.be.instanceOf(RangeError);
    expect(registry.circuitBreaker('inventory')).to.equal(breaker);
    expect(registry.policy('pricing').describe()).to.equal('1. timeout: 1000 ms');
    expect(events).to.deep.equal([]);
    registry.register(Policy.builder('mine').build());
    expect(() => registry.reload({ policies: { mine: [] } })).to.throw(Error, /already registered/);
  });

  it('R-REG-12: a policy handed out runs new calls under the new settings and lets calls in flight finish under theirs', async () => {
    const clock = new ManualClock();
    const registry = PolicyRegistry.fromConfig(config('1s'), { clock });
    const pricing = registry.policy('pricing');
    const before = rejectionOf(pricing.execute(() => new Promise(() => {})));
    registry.reload(config('3s'));
    expect(registry.policy('pricing')).to.equal(pricing);
    const after = rejectionOf(pricing.execute(() => new Promise(() => {})));
    await clock.advance(3_000);
    expect(await before)
      .to.be.instanceOf(OperationTimeoutError)
      .and.include({ timeoutMs: 1_000 });
    expect(await after)
      .to.be.instanceOf(OperationTimeoutError)
      .and.include({ timeoutMs: 3_000 });
    expect(pricing.metrics()).to.include({ calls: 2, failures: 2, timeouts: 2 });
  });

  it('R-POL-9: a policy a registry hands out prints and serialises as its current settings', () => {
    const registry = PolicyRegistry.fromConfig(config('1s'));
    const stock = registry.policy('stock');
    const settings = { name: 'stock', stages: [{ kind: 'circuit-breaker', name: 'inventory' }] };
    expect(JSON.parse(JSON.stringify({ stock }))).to.deep.equal({ stock: settings });
    registry.reload({ ...config('1s'), policies: { stock: [{ retry: 'default' }] } });
    const reloaded = { name: 'stock', stages: [{ kind: 'retry', name: 'default' }] };
    expect(stock.toJSON()).to.deep.equal(reloaded);
    expect(inspect(stock, { depth: Infinity, breakLength: Infinity })).to.equal(
      "Policy { name: 'stock', stages: [ { kind: 'retry', name: 'default' } ] }",
    );
  });

  it('R-REG-13: an unchanged primitive is kept; a changed breaker is a new object that stays open', async () => {
    const registry = PolicyRegistry.fromConfig(config('1s'), { clock: new ManualClock() });
    const stock = registry.policy('stock');
    await stock.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    const breaker = registry.circuitBreaker('inventory');
    registry.reload(config('2s'));
    expect(registry.circuitBreaker('inventory')).to.equal(breaker);
    registry.reload(config('2s', 4));
    const renewed = registry.circuitBreaker('inventory');
    expect(renewed).not.to.equal(breaker);
    expect(renewed.state).to.equal('open');
    expect(await rejectionOf(stock.execute(() => 'x'))).to.include({ retryAfterMs: 30_000 });
  });

  it('R-REG-13: a changed retry budget keeps what its window spent, and its refusals; hedge and chaos counters go on from their count at the reload', async () => {
    const clock = new ManualClock();
    const budget = (ratio: number): Record<string, unknown> => ({
      'retry-budget': { api: { ratio, 'min-per-second': 1 } },
      hedge: { h: { delay: ratio === 0.1 ? '1s' : '2s' } },
      policies: { p: [{ hedge: 'h' }] },
    });
    const registry = PolicyRegistry.fromConfig(budget(0.1), { clock });
    const api = registry.retryBudget('api');
    for (let i = 0; i < 100; i++) api.deposit();
    for (let i = 0; i < 25; i++) api.tryWithdraw();
    const old = registry.hedge('h');
    const hedged = registry
      .policy('p')
      .execute(
        (ctx) => new Promise((resolve) => clock.setTimeout(() => resolve(ctx.attempt), 2_000)),
      );
    await clock.advance(1_000);
    expect(registry.hedge('h')).to.include({ hedges: 1, running: 2 });
    registry.reload(budget(0.05));
    // 0.05 x 100 first attempts + 10 - 20 retries: nothing left, 5 refused.
    expect(registry.retryBudget('api')).to.include({ tokens: 0, refused: 5 });
    // The attempts of the call in flight run, and count, on the old hedge.
    expect(registry.hedge('h')).to.include({ hedges: 1, running: 0, wins: 0 });
    await clock.advance(1_000);
    expect(await hedged).to.equal(1);
    expect(old).to.include({ hedges: 1, running: 1, wins: 0 });
    expect(registry.hedge('h')).to.include({ hedges: 1, running: 0, wins: 0 });
  });

  it('R-REG-12: a policy configured again after a reload removed it is the same object, counting on', async () => {
    const registry = PolicyRegistry.fromConfig(config('1s'));
    const pricing = registry.policy('pricing');
    await pricing.execute(() => 1);
    registry.reload({ policies: { stock: [] } });
    expect(registry.names()).to.deep.equal(['stock']);
    registry.reload(config('2s'));
    expect(registry.policy('pricing')).to.equal(pricing);
    expect(pricing.describe()).to.equal('1. timeout: 2000 ms');
    await pricing.execute(() => 2);
    expect(registry.health().policies.pricing).to.include({ calls: 2, successes: 2 });
  });

  it('R-REG-13: options with the same values in another spelling are unchanged', () => {
    const registry = PolicyRegistry.fromConfig(config('1s'));
    const breaker = registry.circuitBreaker('inventory');
    const respelled = config('1000ms');
    (respelled['circuit-breaker'] as Record<string, Record<string, unknown>>).inventory = {
      'failure-threshold': 1,
      'recovery-timeout': '30000ms',
      'half-open-max-calls': 1,
    };
    expect(registry.reload(respelled)).to.deep.equal({ added: [], removed: [], changed: [] });
    expect(registry.circuitBreaker('inventory')).to.equal(breaker);
  });

  it('R-REG-14: `reload` listeners receive, and reload returns, what was added, removed and changed', () => {
    const registry = PolicyRegistry.fromConfig(config('1s'));
    const events: RegistryReloadEvent[] = [];
    const off = registry.on('reload', (e) => events.push(e));
    registry.on('reload', () => {
      throw new Error('a faulty listener is ignored');
    });
    const next = config('2s', 2);
    delete (next.policies as Record<string, unknown>).stock;
    (next.policies as Record<string, unknown>).search = [{ retry: {} }];
    const result = registry.reload(next);
    expect(result).to.deep.equal({
      added: ['policies.search'],
      removed: ['policies.stock'],
      changed: ['circuit-breaker.inventory', 'policies.pricing'],
    });
    expect(Object.isFrozen(result.added)).to.equal(true);
    expect(events).to.deep.equal([result]);
    off();
    registry.reload(next);
    expect(events).to.have.length(1);
  });
});
