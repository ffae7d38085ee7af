import { expect } from 'chai';
import sinon from 'sinon';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Stage } from '../../src/pipeline/Stage.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';

class Boom extends Error {}

function config(): Record<string, unknown> {
  return {
    'rate-limiter': { 'payment-api': { 'max-tokens': 10, 'refill-rate': 2 } },
    bulkhead: { pool: { 'max-concurrent': 2 } },
    'time-limiter': { default: { timeout: '5s' } },
    'circuit-breaker': { inventory: { 'failure-threshold': 1, 'recovery-timeout': '20s' } },
    retry: { patient: { 'max-attempts': 4 } },
    policies: {
      pricing: [
        { fallback: { value: null } },
        { 'rate-limiter': 'payment-api' },
        { 'time-limiter': '3s' },
      ],
      stock: [
        { bulkhead: 'pool' },
        { retry: 'patient' },
        { 'circuit-breaker': 'inventory' },
        { 'time-limiter': 'default' },
      ],
    },
  };
}

describe('PolicyRegistry.health', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('lists every policy with its metrics and every primitive kind by name', async () => {
    const registry = PolicyRegistry.fromConfig(config());
    await registry.policy('pricing').execute(() => 'ok');

    const health = registry.health();
    expect(Object.keys(health.policies)).to.deep.equal(['pricing', 'stock']);
    expect(health.policies.pricing).to.deep.equal(registry.policy('pricing').metrics());
    expect(health.policies.pricing?.calls).to.equal(1);
    expect(health.primitives).to.deep.equal({
      'rate-limiter': {
        'payment-api': {
          kind: 'rate-limiter',
          name: 'payment-api',
          availableTokens: 9,
          maxTokens: 10,
          queued: 0,
        },
      },
      bulkhead: {
        pool: {
          kind: 'bulkhead',
          name: 'pool',
          availableSlots: 2,
          maxConcurrent: 2,
          queued: 0,
          orphaned: 0,
        },
      },
      'time-limiter': { default: { kind: 'timeout', name: 'default', timeoutMs: 5000 } },
      'retry-budget': {},
      'circuit-breaker': {
        inventory: {
          kind: 'circuit-breaker',
          name: 'inventory',
          state: 'closed',
          failureRate: 0,
          slowCallRate: 0,
          bufferedCalls: 0,
          failedCalls: 0,
          slowCalls: 0,
        },
      },
      retry: { patient: { kind: 'retry', name: 'patient', maxAttempts: 4 } },
      hedge: {},
      chaos: {},
    });
  });

  it("shapes each primitive's state like its stage entry in a policy's metrics", () => {
    const registry = PolicyRegistry.fromConfig(config());
    const health = registry.health();
    const stages = [
      ...registry.policy('pricing').metrics().stages,
      ...registry.policy('stock').metrics().stages,
    ];
    const byKind = {
      'rate-limiter': 'rate-limiter',
      bulkhead: 'bulkhead',
      'time-limiter': 'timeout',
      'circuit-breaker': 'circuit-breaker',
      retry: 'retry',
    } as const;
    for (const [kind, stageKind] of Object.entries(byKind)) {
      const entries = health.primitives[kind as keyof typeof byKind];
      for (const [name, state] of Object.entries(entries)) {
        const stage = stages.find((s) => s.kind === stageKind && s.name === name);
        expect(stage, `${kind} ${name}`).to.not.equal(undefined);
        expect(state).to.deep.equal(stage);
      }
    }
  });

  it('shows live state: a tripped breaker, a busy bulkhead, spent tokens', async () => {
    const registry = PolicyRegistry.fromConfig(config());
    const tripped = registry
      .circuitBreaker('inventory')
      .execute(() => Promise.reject(new Boom('down')))
      .catch((e: unknown) => e);
    expect(await tripped).to.be.instanceOf(Boom);
    let release!: () => void;
    const held = registry.bulkhead('pool').execute(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    await registry.policy('pricing').execute(() => 'ok');

    let health = registry.health();
    expect(health.primitives['circuit-breaker'].inventory).to.include({
      state: 'open',
      failedCalls: 1,
      failureRate: 1,
    });
    expect(health.primitives.bulkhead.pool).to.include({ availableSlots: 1 });
    expect(health.primitives['rate-limiter']['payment-api']).to.include({ availableTokens: 9 });
    expect(health.policies.pricing).to.include({ calls: 1, successes: 1 });

    clock.tick(20_000);
    release();
    await held;
    health = registry.health();
    expect(health.primitives['circuit-breaker'].inventory).to.include({ state: 'half-open' });
    expect(health.primitives.bulkhead.pool).to.include({ availableSlots: 2 });
    expect(health.primitives['rate-limiter']['payment-api']).to.include({ availableTokens: 10 });
  });

  it('includes primitives and policies added after the registry was built', () => {
    const registry = new PolicyRegistry();
    expect(registry.health()).to.deep.equal({
      policies: {},
      primitives: {
        'rate-limiter': {},
        bulkhead: {},
        'time-limiter': {},
        'circuit-breaker': {},
        'retry-budget': {},
        retry: {},
        hedge: {},
        chaos: {},
      },
    });
    registry.rateLimiter('late');
    registry.register(Policy.builder('added').retry({ maxAttempts: 2 }).build());
    const health = registry.health();
    expect(Object.keys(health.primitives['rate-limiter'])).to.deep.equal(['late']);
    expect(health.policies.added?.stages).to.deep.equal([
      { kind: 'retry', name: 'retry', maxAttempts: 2 },
    ]);
  });

  it('survives JSON.stringify unchanged, whatever a custom stage reports', () => {
    const cyclic: Record<string, unknown> = { label: 'loop' };
    cyclic.self = cyclic;
    const odd: Stage = {
      kind: 'odd',
      execute: (ctx, next) => next(ctx),
      state: () => ({
        infinite: Infinity,
        notANumber: NaN,
        big: 12345678901234567890n,
        fn: () => 1,
        missing: undefined,
        when: new Date(0),
        list: [1, undefined, -Infinity, 'x'],
        cyclic,
      }),
    };
    const registry = new PolicyRegistry();
    registry.register(Policy.builder('odd').use(odd).build());

    const health = registry.health();
    expect(health.policies.odd?.stages).to.deep.equal([
      {
        infinite: null,
        notANumber: null,
        big: '12345678901234567890',
        when: '1970-01-01T00:00:00.000Z',
        list: [1, null, null, 'x'],
        cyclic: { label: 'loop' },
        kind: 'odd',
        name: 'odd',
      },
    ]);
    expect(JSON.parse(JSON.stringify(health))).to.deep.equal(health);
  });

  it("writes a hedge's delay on failure, Infinity in metrics(), as null", () => {
    const registry = PolicyRegistry.fromConfig({
      hedge: { quotes: { delay: 'on-failure' } },
      policies: { quotes: [{ hedge: 'quotes' }] },
    });
    expect(registry.policy('quotes').metrics().stages[0]).to.include({ delayMs: Infinity });
    const health = registry.health();
    expect(health.policies.quotes?.stages[0]).to.include({ kind: 'hedge', delayMs: null });
    expect(health.primitives.hedge.quotes).to.include({ delayMs: null });
    expect(JSON.parse(JSON.stringify(health))).to.deep.equal(health);
  });

  it('keeps a policy named like an Object.prototype member as a plain key', () => {
    const registry = new PolicyRegistry();
    registry.register(Policy.builder('__proto__').build());
    registry.register(Policy.builder('toString').build());
    const health = registry.health();
    expect(Object.getPrototypeOf(health.policies)).to.equal(Object.prototype);
    expect(Object.keys(health.policies)).to.deep.equal(['__proto__', 'toString']);
    expect(JSON.parse(JSON.stringify(health)).policies.__proto__).to.include({ calls: 0 });
  });

  it('returns a fresh copy each time', () => {
    const registry = PolicyRegistry.fromConfig(config());
    const first = registry.health();
    (first.primitives.bulkhead as Record<string, unknown>).pool = 'changed';
    expect(registry.health().primitives.bulkhead.pool).to.include({ availableSlots: 2 });
    expect(registry.health()).to.not.equal(registry.health());
  });
});

describe('PolicyRegistry.onRegister', () => {
  it('tells a listener of each policy registered until it unsubscribes', () => {
    const registry = PolicyRegistry.fromConfig(config());
    const seen: string[] = [];
    const unsubscribe = registry.onRegister((policy) => seen.push(policy.name));
    registry.register(Policy.builder('one').build());
    unsubscribe();
    unsubscribe();
    registry.register(Policy.builder('two').build());
    expect(seen).to.deep.equal(['one']);
  });

  it('registers the policy even when a listener throws', () => {
    const registry = new PolicyRegistry();
    const seen: string[] = [];
    registry.onRegister(() => {
      throw new Boom('listener');
    });
    registry.onRegister((policy) => seen.push(policy.name));
    registry.register(Policy.builder('kept').build());
    expect(registry.names()).to.deep.equal(['kept']);
    expect(seen).to.deep.equal(['kept']);
  });
});
