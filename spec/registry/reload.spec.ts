// PolicyRegistry.reload: all or nothing; stable policy handles whose new calls take the new
// settings while calls in flight finish under theirs; state that still applies is kept; a
// `reload` event lists what changed; and, under a loop of concurrent calls, no call is lost or
// counted twice.
import { expect } from 'chai';
import { CircuitOpenError, OperationTimeoutError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry, type RegistryReloadEvent } from '../../src/registry/PolicyRegistry.js';
import { CIRCUIT_BREAKER } from '../../src/strategies/circuit-breaker/kind.js';
import type { KindDescriptor } from '../../src/strategies/descriptor.js';
import { RATE_LIMITER } from '../../src/strategies/rate-limiter/kind.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, rejectionOf } from '../support/promises.js';

type Config = Record<string, unknown>;

const fail = (): Promise<never> => Promise.reject(new Error('down'));

function base(): Config {
  return {
    'rate-limiter': { api: { 'max-tokens': 5, 'refill-rate': 1 } },
    'circuit-breaker': {
      inventory: { 'failure-threshold': 1, 'recovery-timeout': '30s' },
    },
    policies: {
      pricing: [{ 'time-limiter': '1s' }],
      stock: [{ 'circuit-breaker': 'inventory' }],
      own: [{ 'circuit-breaker': { 'failure-threshold': 1, 'recovery-timeout': '10s' } }],
    },
  };
}

function withChanges(change: (c: Config) => void): Config {
  const c = structuredClone(base());
  change(c);
  return c;
}

describe('PolicyRegistry.reload', () => {
  let clock: ManualClock;
  let registry: PolicyRegistry;
  let events: RegistryReloadEvent[];

  beforeEach(() => {
    clock = new ManualClock();
    registry = PolicyRegistry.fromConfig(base(), { clock });
    events = [];
    registry.on('reload', (e) => events.push(e));
  });

  it('keeps the policy objects handed out; calls that start after it take the new settings', async () => {
    const pricing = registry.policy('pricing');
    expect(pricing).to.be.instanceOf(Policy);
    registry.reload(
      withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '5s' }])),
    );
    expect(registry.policy('pricing')).to.equal(pricing);
    expect(pricing.describe()).to.equal('1. timeout: 5000 ms');
    const call = rejectionOf(pricing.execute(() => new Promise(() => {})));
    await clock.advance(4_999);
    await clock.advance(1);
    const error = await call;
    expect(error).to.be.instanceOf(OperationTimeoutError).and.include({ timeoutMs: 5_000 });
  });

  it('gives the stages, and wraps functions, of the settings current at each call', async () => {
    const pricing = registry.policy('pricing');
    const wrapped = pricing.wrap((n: number) => new Promise<number>(() => void n));
    registry.reload(
      withChanges(
        (c) =>
          ((c.policies as Config).pricing = [
            { retry: { 'max-attempts': 1 } },
            { 'time-limiter': '2s' },
          ]),
      ),
    );
    expect(pricing.stages).to.deep.equal([
      { kind: 'retry', name: 'retry' },
      { kind: 'timeout', name: 'timeout' },
    ]);
    const call = rejectionOf(wrapped(1));
    await clock.advance(2_000);
    expect(await call)
      .to.be.instanceOf(OperationTimeoutError)
      .and.include({ timeoutMs: 2_000 });
  });

  it('covers every public member of Policy (a new one must follow reloads too)', () => {
    // `wrap` works through `execute`, `toJSON` through `name` and `stages`; the handle forwards
    // the others to the current policy.
    // Private members (`deferFor`, `emitEnd`, `refuse`, `settleRoot`, `watchBreakers`,
    // `whenDrained`) belong to a compiled pipeline.
    const privates = [
      'deferFor',
      'emitEnd',
      'refuse',
      'settleRoot',
      'watchBreakers',
      'whenDrained',
    ];
    const members = Object.getOwnPropertyNames(Policy.prototype).filter(
      (m) => m !== 'constructor' && !privates.includes(m),
    );
    expect(members.sort()).to.deep.equal([
      'describe',
      'execute',
      'metrics',
      'on',
      'toJSON',
      'wrap',
    ]);
    const pricing = registry.policy('pricing');
    expect(Object.keys(pricing).sort()).to.deep.equal(['name', 'stages']);
    expect(Object.isFrozen(pricing)).to.equal(true);
  });

  it('reports every event of a call in flight after the reload, a hedge started late too', async () => {
    const hedged = PolicyRegistry.fromConfig(
      { policies: { api: [{ hedge: { 'max-hedges': 1, delay: '100ms' } }] } },
      { clock },
    );
    const api = hedged.policy('api');
    const seen: string[] = [];
    api.on('hedge', (e) => seen.push(`hedge ${e.attempt}`));
    api.on('success', () => seen.push('success'));
    const slow = deferred<string>();
    const call = api.execute((ctx) => (ctx.attempt === 1 ? slow.promise : 'second'));
    hedged.reload({ policies: { api: [{ hedge: { 'max-hedges': 1, delay: '5s' } }] } });
    await clock.advance(100);
    expect(await call).to.equal('second');
    expect(seen).to.deep.equal(['hedge 2', 'success']);
    slow.resolve('first');
  });

  it('lets calls in flight finish under the settings they started with', async () => {
    const pricing = registry.policy('pricing');
    const started = rejectionOf(pricing.execute(() => new Promise(() => {})));
    registry.reload(
      withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '5s' }])),
    );
    const after = rejectionOf(pricing.execute(() => new Promise(() => {})));
    await clock.advance(1_000);
    expect(await started)
      .to.be.instanceOf(OperationTimeoutError)
      .and.include({ timeoutMs: 1_000 });
    await clock.advance(4_000);
    expect(await after)
      .to.be.instanceOf(OperationTimeoutError)
      .and.include({ timeoutMs: 5_000 });
  });

  it('emits reload with what was added, removed and changed (and returns the same)', () => {
    const result = registry.reload(
      withChanges((c) => {
        const policies = c.policies as Config;
        delete policies.stock;
        policies.pricing = [{ 'time-limiter': '2s' }];
        policies.search = [{ retry: { 'max-attempts': 2 } }];
        delete (c['circuit-breaker'] as Config).inventory;
        (c['rate-limiter'] as Config).api = { 'max-tokens': 9, 'refill-rate': 1 };
        c.bulkhead = { db: { 'max-concurrent': 3 } };
      }),
    );
    expect(events).to.deep.equal([result]);
    expect(result).to.deep.equal({
      added: ['bulkhead.db', 'policies.search'],
      removed: ['circuit-breaker.inventory', 'policies.stock'],
      changed: ['rate-limiter.api', 'policies.pricing'],
    });
    expect(registry.names()).to.deep.equal(['pricing', 'own', 'search']);
    expect(() => registry.policy('stock')).to.throw(Error, /Unknown policy "stock"/);
  });

  it('passes reload events to every listener in order, also when a listener reloads', () => {
    const fresh = PolicyRegistry.fromConfig({});
    const seen: string[][] = [];
    let reloaded = false;
    fresh.on('reload', () => {
      if (reloaded) return;
      reloaded = true;
      fresh.reload({ policies: { second: [{ retry: { 'max-attempts': 2 } }] } });
    });
    fresh.on('reload', (event) => seen.push(['later', ...event.added, '-', ...event.removed]));
    fresh.reload({ policies: { first: [{ retry: { 'max-attempts': 2 } }] } });
    expect(seen).to.deep.equal([
      ['later', 'policies.first', '-'],
      ['later', 'policies.second', '-', 'policies.first'],
    ]);
    expect(fresh.names()).to.deep.equal(['second']);
  });

  it('changes nothing, and reports nothing, when the configuration is the same', () => {
    const breaker = registry.circuitBreaker('inventory');
    const stock = registry.policy('stock');
    expect(registry.reload(base())).to.deep.equal({ added: [], removed: [], changed: [] });
    expect(registry.circuitBreaker('inventory')).to.equal(breaker);
    expect(registry.policy('stock')).to.equal(stock);
  });

  describe('state that still applies is kept', () => {
    it('keeps an open shared breaker whose options are unchanged: the same object', async () => {
      const breaker = registry.circuitBreaker('inventory');
      await registry
        .policy('stock')
        .execute(fail)
        .catch(() => undefined);
      registry.reload(
        withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '2s' }])),
      );
      expect(registry.circuitBreaker('inventory')).to.equal(breaker);
      expect(breaker.state).to.equal('open');
    });

    it('keeps a breaker open, for the rest of its open time, when its options changed', async () => {
      const stock = registry.policy('stock');
      await stock.execute(fail).catch(() => undefined);
      await clock.advance(10_000);
      const before = registry.circuitBreaker('inventory');
      registry.reload(
        withChanges(
          (c) =>
            ((c['circuit-breaker'] as Config).inventory = {
              'failure-threshold': 3,
              'recovery-timeout': '30s',
              'window-size': 20,
            }),
        ),
      );
      expect(events[0]?.changed).to.deep.equal(['circuit-breaker.inventory', 'policies.stock']);
      const after = registry.circuitBreaker('inventory');
      expect(after).not.to.equal(before);
      expect(after.state).to.equal('open');
      const refusal = await rejectionOf(stock.execute(() => 'x'));
      expect(refusal).to.be.instanceOf(CircuitOpenError).and.include({ retryAfterMs: 20_000 });
      await clock.advance(20_000);
      expect(await stock.execute(() => 'probe')).to.equal('probe');
      // Closed again, under the new threshold: three failures trip it, not one.
      await stock.execute(fail).catch(() => undefined);
      await stock.execute(fail).catch(() => undefined);
      expect(after.state).to.equal('closed');
    });

    it('keeps the window when its shape is unchanged, and starts an empty one when it is not', async () => {
      const stock = registry.policy('stock');
      const reloadWith = (options: Config): void => {
        registry.reload(withChanges((c) => ((c['circuit-breaker'] as Config).inventory = options)));
      };
      reloadWith({ 'failure-threshold': 5, 'window-size': 10 });
      await stock.execute(fail).catch(() => undefined);
      await stock.execute(() => 'ok');
      reloadWith({ 'failure-threshold': 6, 'window-size': 10 });
      expect(registry.circuitBreaker('inventory').metrics).to.include({
        bufferedCalls: 2,
        failedCalls: 1,
      });
      reloadWith({ 'failure-threshold': 6, 'window-size': 4 });
      expect(registry.circuitBreaker('inventory').metrics).to.include({ bufferedCalls: 0 });
    });

    it("keeps a policy's own breaker open when only another stage changed", async () => {
      const own = registry.policy('own');
      await own.execute(fail).catch(() => undefined);
      registry.reload(
        withChanges(
          (c) =>
            ((c.policies as Config).own = [
              { 'time-limiter': '3s' },
              { 'circuit-breaker': { 'failure-threshold': 1, 'recovery-timeout': '10s' } },
            ]),
        ),
      );
      const refusal = await rejectionOf(own.execute(() => 'x'));
      expect(refusal).to.be.instanceOf(CircuitOpenError).and.include({ retryAfterMs: 10_000 });
    });

    it("carries a changed rate limiter's tokens, capped at its new size", () => {
      const api = registry.rateLimiter('api');
      for (let i = 0; i < 4; i++) api.tryAcquire();
      registry.reload(
        withChanges(
          (c) => ((c['rate-limiter'] as Config).api = { 'max-tokens': 5, 'refill-rate': 2 }),
        ),
      );
      expect(registry.rateLimiter('api').availableTokens).to.equal(1);
      registry.reload(
        withChanges(
          (c) => ((c['rate-limiter'] as Config).api = { 'max-tokens': 1, 'refill-rate': 2 }),
        ),
      );
      clock.tick(60_000);
      expect(registry.rateLimiter('api').availableTokens).to.equal(1);
    });

    it('builds each changed primitive that takes state over once, with that state', async () => {
      const built: string[] = [];
      const counting = (kind: KindDescriptor<object>): (() => void) => {
        const Primitive = kind.Primitive as new (options: unknown) => object;
        (kind as { Primitive: unknown }).Primitive = class extends Primitive {
          constructor(options: unknown) {
            super(options);
            built.push(kind.kind);
          }
        };
        return () => ((kind as { Primitive: unknown }).Primitive = Primitive);
      };
      const restore = [counting(CIRCUIT_BREAKER), counting(RATE_LIMITER)];
      try {
        await registry
          .policy('stock')
          .execute(fail)
          .catch(() => undefined);
        registry.reload(
          withChanges((c) => {
            (c['circuit-breaker'] as Config).inventory = {
              'failure-threshold': 2,
              'recovery-timeout': '30s',
            };
            (c['rate-limiter'] as Config).api = { 'max-tokens': 6, 'refill-rate': 1 };
          }),
        );
      } finally {
        for (const undo of restore) undo();
      }
      expect(built.sort()).to.deep.equal(['circuit-breaker', 'rate-limiter']);
      expect(registry.circuitBreaker('inventory').state).to.equal('open');
    });

    it('reports a default entry no longer configured as removed, also when a policy still refers to it', () => {
      registry.reload(
        withChanges((c) => {
          c.retry = { default: { 'max-attempts': 4 } };
          (c.policies as Config).search = [{ retry: 'default' }];
        }),
      );
      expect(registry.retry('default').maxAttempts).to.equal(4);
      const result = registry.reload(
        withChanges((c) => ((c.policies as Config).search = [{ retry: 'default' }])),
      );
      expect(result).to.deep.equal({
        added: [],
        removed: ['retry.default'],
        changed: ['policies.search'],
      });
      expect(registry.retry('default').maxAttempts).to.equal(3);
    });

    it('keeps a primitive whose options are spelled differently but have the same values', async () => {
      const bulkhead = (db: Config): Config =>
        withChanges((c) => {
          c.bulkhead = { db };
          (c.policies as Config).query = [{ bulkhead: 'db' }];
        });
      registry.reload(bulkhead({ 'max-concurrent': 2, 'max-queue': 1, 'max-wait': '1s' }));
      const db = registry.bulkhead('db');
      const query = registry.policy('query');
      const held = [deferred(), deferred()];
      const first = held.map((d) => query.execute(() => d.promise));
      await flush();
      const queued = query.execute(() => Promise.resolve('late'));
      await flush();
      // 1000 ms is the 1s before: the same bulkhead, still full and its queue too, so a fourth
      // call is refused.
      expect(
        registry.reload(bulkhead({ 'max-concurrent': 2, 'max-queue': 1, 'max-wait': 1000 })),
      ).to.deep.equal({ added: [], removed: [], changed: [] });
      expect(registry.bulkhead('db')).to.equal(db);
      expect(await rejectionOf(query.execute(() => Promise.resolve('later')))).to.have.property(
        'name',
        'BulkheadFullError',
      );
      held.forEach((d) => d.resolve(undefined));
      await Promise.all(first);
      expect(await queued).to.equal('late');

      // A default written out or left out, a duration in other units: the same settings.
      const breaker = registry.circuitBreaker('inventory');
      const same: Array<[string, Config]> = [
        ['bulkhead.db', { 'max-concurrent': 2, 'max-queue': 1, 'max-wait': 1000 }],
        ['bulkhead.db', { maxConcurrent: 2, 'max-queue': 1, 'max-wait': '1000ms' }],
      ];
      for (const [, db] of same) {
        expect(registry.reload(bulkhead(db)).changed).to.deep.equal([]);
      }
      expect(registry.bulkhead('db')).to.equal(db);
      const breakerSpelled = withChanges((c) => {
        (c['circuit-breaker'] as Config).inventory = {
          'failure-threshold': 1,
          'recovery-timeout': '30000ms',
          'window-type': 'count',
        };
      });
      expect(registry.reload(breakerSpelled).changed).to.deep.equal([]);
      expect(registry.circuitBreaker('inventory')).to.equal(breaker);

      registry.reload(withChanges((c) => (c.bulkhead = { pool: { 'max-concurrent': 10 } })));
      const pool = registry.bulkhead('pool');
      expect(
        registry.reload(withChanges((c) => (c.bulkhead = { pool: {} }))).changed,
      ).to.deep.equal([]);
      expect(registry.bulkhead('pool')).to.equal(pool);
      // A value that does differ still makes a new one.
      registry.reload(withChanges((c) => (c.bulkhead = { pool: { 'max-concurrent': 9 } })));
      expect(registry.bulkhead('pool')).not.to.equal(pool);
    });

    it('keeps a primitive whose options differ only by a default derived from another', () => {
      const cases: Array<[string, Config, Config, () => unknown]> = [
        ['bulkhead', { 'max-concurrent': 10 }, { limit: 10 }, () => registry.bulkhead('x')],
        ['bulkhead', {}, { limit: 10 }, () => registry.bulkhead('x')],
        [
          'circuit-breaker',
          {},
          { 'max-recovery-timeout': '30s' },
          () => registry.circuitBreaker('x'),
        ],
        ['circuit-breaker', {}, { 'half-open-max-calls': 0 }, () => registry.circuitBreaker('x')],
        ['circuit-breaker', {}, { 'minimum-calls': 10 }, () => registry.circuitBreaker('x')],
        [
          'circuit-breaker',
          { 'window-type': 'time' },
          { 'window-type': 'time', 'minimum-calls': 10 },
          () => registry.circuitBreaker('x'),
        ],
        [
          'retry',
          { 'max-delay': '2s' },
          { 'max-delay': '2s', 'max-retry-after': 2000 },
          () => registry.retry('x'),
        ],
        ['retry', {}, { backoff: 1, 'backoff-type': 'exponential' }, () => registry.retry('x')],
      ];
      for (const [kind, before, after, get] of cases) {
        const at = (x: Config): Config =>
          withChanges((c) => (c[kind] = { ...(c[kind] as Config | undefined), x }));
        registry.reload(at(before));
        const old = get();
        expect(
          registry.reload(at(after)).changed,
          `${kind} ${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
        ).to.deep.equal([]);
        expect(get()).to.equal(old);
      }
      // A derived default that does differ still makes a new one.
      const breakerAt = (x: Config): Config =>
        withChanges((c) => ((c['circuit-breaker'] as Config).x = x));
      registry.reload(breakerAt({}));
      const breaker = registry.circuitBreaker('x');
      registry.reload(breakerAt({ 'max-recovery-timeout': '31s' }));
      expect(registry.circuitBreaker('x')).not.to.equal(breaker);
    });

    it('rebuilds a primitive built on demand when the default settings change', () => {
      const adhoc = registry.bulkhead('adhoc');
      expect(adhoc.maxConcurrent).to.equal(10);
      registry.reload(withChanges((c) => (c.bulkhead = { default: { 'max-concurrent': 4 } })));
      expect(events[0]).to.deep.equal({
        added: ['bulkhead.default'],
        removed: [],
        changed: ['bulkhead.adhoc'],
      });
      expect(registry.bulkhead('adhoc').maxConcurrent).to.equal(4);
    });
  });

  describe('an invalid configuration changes nothing', () => {
    const bad: Array<[string, (c: Config) => void, RegExp]> = [
      [
        'a bad value',
        (c) => ((c['rate-limiter'] as Config).api = { 'max-tokens': 0 }),
        /^RangeError: resilience\.rate-limiter\.api\.max-tokens: `max-tokens` must be a number >= 1, got 0$/,
      ],
      [
        'a typo',
        (c) => ((c['circuit-breaker'] as Config).inventory = { 'failure-treshold': 2 }),
        /resilience\.circuit-breaker\.inventory: unknown option `failure-treshold` \(did you mean `failure-threshold`\?\)/,
      ],
      [
        'an unknown reference',
        (c) => ((c.policies as Config).stock = [{ 'circuit-breaker': 'inventroy' }]),
        /resilience\.policies\.stock\[0\]\.circuit-breaker: "inventroy" is not a configured circuit-breaker/,
      ],
      [
        'code',
        (c) => ((c['circuit-breaker'] as Config).inventory = { 'record-on': [] }),
        /the option `record-on` cannot come from configuration/,
      ],
      [
        'a bad snapshot',
        (c) => ((c['rate-limiter'] as Config).api = { 'initial-state': {} }),
        /^TypeError: resilience\.rate-limiter\.api\.initial-state: /,
      ],
    ];
    for (const [what, change, message] of bad) {
      it(`${what}: the same error as loading it, and the registry as it was`, async () => {
        const stock = registry.policy('stock');
        await stock.execute(fail).catch(() => undefined);
        const breaker = registry.circuitBreaker('inventory');
        const before = registry.health();
        const config = withChanges((c) => {
          (c['circuit-breaker'] as Config).inventory = { 'failure-threshold': 2 };
          (c.policies as Config).pricing = [{ 'time-limiter': '9s' }];
          change(c);
        });
        let loading: unknown;
        try {
          PolicyRegistry.fromConfig(config);
        } catch (e) {
          loading = e;
        }
        let reloading: unknown;
        try {
          registry.reload(config);
        } catch (e) {
          reloading = e;
        }
        expect(String(reloading)).to.match(message).and.equal(String(loading));
        expect(reloading).to.have.property('constructor', (loading as Error).constructor);
        expect(events).to.deep.equal([]);
        expect(registry.circuitBreaker('inventory')).to.equal(breaker);
        expect(registry.policy('pricing').describe()).to.equal('1. timeout: 1000 ms');
        expect(registry.health()).to.deep.equal(before);
      });
    }

    it('refuses a configured policy named as a registered one', () => {
      registry.register(Policy.builder('mine').build());
      expect(() =>
        registry.reload(
          withChanges((c) => ((c.policies as Config).mine = [{ 'time-limiter': '1s' }])),
        ),
      ).to.throw(Error, 'resilience.policies.mine: a policy named "mine" is already registered');
      expect(registry.names()).to.deep.equal(['pricing', 'stock', 'own', 'mine']);
    });
  });

  describe('listeners and metrics of a policy handed out', () => {
    it('keep their listeners, which also hear the calls still running under the old settings', async () => {
      const pricing = registry.policy('pricing');
      const seen: string[] = [];
      pricing.on('success', ({ durationMs }) => seen.push(`success ${durationMs}`));
      const work = deferred<string>();
      const old = pricing.execute(() => work.promise);
      registry.reload(
        withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '5s' }])),
      );
      await pricing.execute(() => 'new');
      expect(pricing.metrics(), 'one call in flight').to.include({ calls: 2, successes: 1 });
      await clock.advance(300);
      work.resolve('old');
      await old;
      expect(seen).to.deep.equal(['success 0', 'success 300']);
      const m = pricing.metrics();
      expect(m).to.include({ calls: 2, successes: 2, failures: 0 });
    });

    it('report a breaker kept across a reload once per state change', async () => {
      const stock = registry.policy('stock');
      const moves: string[] = [];
      stock.on('circuit-state', ({ from, to }) => moves.push(`${from}->${to}`));
      // A call in flight keeps the old pipeline, which holds the same breaker, draining.
      const work = deferred<string>();
      const inFlight = stock.execute(() => work.promise);
      registry.reload(
        withChanges(
          (c) =>
            ((c.policies as Config).stock = [
              { 'time-limiter': '2s' },
              { 'circuit-breaker': 'inventory' },
            ]),
        ),
      );
      await stock.execute(fail).catch(() => undefined);
      expect(moves).to.deep.equal(['closed->open']);
      work.resolve('late');
      expect(await inFlight).to.equal('late');
    });

    it('leave no listener on a policy swapped out once its last call has settled', async () => {
      const pricing = registry.policy('pricing');
      const [key] = Object.getOwnPropertySymbols(pricing);
      const generations = (pricing as unknown as Record<symbol, { current: Policy }>)[
        key as symbol
      ];
      const old = generations?.current as Policy;
      const hub = (old as unknown as { parts: { hub: { has(event: string): boolean } } }).parts.hub;
      pricing.on('success', () => undefined);
      pricing.on('circuit-state', () => undefined);
      const work = deferred<string>();
      const inFlight = pricing.execute(() => work.promise);
      registry.reload(
        withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '5s' }])),
      );
      expect(hub.has('success'), 'while its call runs').to.equal(true);
      expect(hub.has('circuit-state'), 'state events come from the current policy').to.equal(false);
      work.resolve('done');
      await inFlight;
      for (const event of ['success', 'failure', 'circuit-state']) {
        expect(hub.has(event), event).to.equal(false);
      }
    });

    it('watch a policy swapped out until its last call settles without making that call read the clock', async () => {
      const pricing = registry.policy('pricing');
      const work = deferred<string>();
      const old = pricing.execute(() => work.promise);
      registry.reload(
        withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '5s' }])),
      );
      const reads = clock.reads;
      work.resolve('old');
      expect(await old).to.equal('old');
      expect(clock.reads - reads, 'clock reads while the old call settled').to.equal(0);
      // Its counters were folded in as it drained.
      expect(pricing.metrics()).to.include({ calls: 1, successes: 1, failures: 0 });
      await pricing.execute(() => 'new');
      expect(pricing.metrics()).to.include({ calls: 2, successes: 2 });
    });

    it('stop listening where the unsubscribe function says, across reloads', async () => {
      const pricing = registry.policy('pricing');
      let heard = 0;
      const off = pricing.on('success', () => heard++);
      registry.reload(
        withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '5s' }])),
      );
      off();
      await pricing.execute(() => 'x');
      expect(heard).to.equal(0);
    });

    it('tells instrumentation of the policies a reload adds', () => {
      const added: string[] = [];
      registry.onRegister((policy) => added.push(policy.name));
      registry.reload(withChanges((c) => ((c.policies as Config).search = [{ retry: {} }])));
      expect(added).to.deep.equal(['search']);
    });

    it('keeps a policy no longer configured working under its last settings', async () => {
      const stock = registry.policy('stock');
      registry.reload(withChanges((c) => delete (c.policies as Config).stock));
      expect(await stock.execute(() => 'still')).to.equal('still');
    });

    it('gives a policy configured again, after a reload removed it, the same object, its counts and listeners', async () => {
      const pricing = registry.policy('pricing');
      const heard: string[] = [];
      pricing.on('success', () => heard.push('success'));
      const told: string[] = [];
      registry.onRegister((policy) => told.push(policy.name));
      for (let i = 0; i < 3; i++) await pricing.execute(() => i);
      registry.reload(withChanges((c) => delete (c.policies as Config).pricing));
      expect(registry.names()).to.not.include('pricing');
      await pricing.execute(() => 'while removed');
      const event = registry.reload(
        withChanges((c) => ((c.policies as Config).pricing = [{ 'time-limiter': '10ms' }])),
      );
      expect(event.added).to.deep.equal(['policies.pricing']);
      expect(registry.policy('pricing')).to.equal(pricing);
      expect(told, 'instrumentation hears of it again').to.deep.equal(['pricing']);
      expect(pricing.describe()).to.equal('1. timeout: 10 ms');
      const late = rejectionOf(pricing.execute(() => new Promise(() => {})));
      await clock.advance(10);
      expect(await late)
        .to.be.instanceOf(OperationTimeoutError)
        .and.include({ timeoutMs: 10 });
      await pricing.execute(() => 'back');
      expect(heard).to.have.length(5);
      const counts = { calls: 6, successes: 5, failures: 1 };
      expect(pricing.metrics()).to.include(counts);
      expect(registry.health().policies.pricing).to.include(counts);
    });

    it('builds a policy configured again anew on a host without WeakRef and FinalizationRegistry, holding none removed', async () => {
      const names = ['WeakRef', 'FinalizationRegistry'] as const;
      const saved = names.map((name) => Object.getOwnPropertyDescriptor(globalThis, name)!);
      for (const name of names) delete (globalThis as Record<string, unknown>)[name];
      let pricing: Policy;
      let again: Policy;
      try {
        const bare = PolicyRegistry.fromConfig(base(), { clock });
        pricing = bare.policy('pricing');
        bare.reload(withChanges((c) => delete (c.policies as Config).pricing));
        expect(await pricing.execute(() => 'while removed')).to.equal('while removed');
        bare.reload(base());
        again = bare.policy('pricing');
      } finally {
        names.forEach((name, i) => Object.defineProperty(globalThis, name, saved[i]!));
      }
      expect(again).to.not.equal(pricing);
      expect(await again.execute(() => 'anew')).to.equal('anew');
    });

    it('keeps the own stages of a policy configured again when their options are unchanged', async () => {
      const own = registry.policy('own');
      await own.execute(fail).catch(() => undefined);
      expect(own.metrics().stages[0]).to.include({ state: 'open' });
      const config = base();
      registry.reload(withChanges((c) => delete (c.policies as Config).own));
      const event = registry.reload(config);
      expect(event.added).to.deep.equal(['policies.own']);
      expect(registry.policy('own')).to.equal(own);
      expect(await rejectionOf(own.execute(() => 'no'))).to.be.instanceOf(CircuitOpenError);
    });
  });

  it('loses no call and counts none twice under a loop of concurrent calls and reloads', async () => {
    const pricing = registry.policy('pricing');
    let successEvents = 0;
    let failureEvents = 0;
    pricing.on('success', () => successEvents++);
    pricing.on('failure', () => failureEvents++);
    const calls: Array<Promise<unknown>> = [];
    const works: Array<ReturnType<typeof deferred<string>>> = [];
    const ROUNDS = 20;
    const PER_ROUND = 25;
    const resolved = new Set<number>();
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) {
        const work = deferred<string>();
        works.push(work);
        calls.push(pricing.execute(() => work.promise).catch((e: unknown) => e));
      }
      // Settle some of the calls in flight, in another order than they started, then reload.
      for (let i = works.length - 1; i >= 0; i -= 3) {
        works[i]?.resolve('ok');
        resolved.add(i);
      }
      await flush();
      const started = (round + 1) * PER_ROUND;
      expect(pricing.metrics(), `before reload ${round}`).to.include({
        calls: started,
        successes: resolved.size,
      });
      registry.reload(
        withChanges(
          (c) => ((c.policies as Config).pricing = [{ 'time-limiter': `${1 + (round % 3)}s` }]),
        ),
      );
    }
    for (const work of works) work.resolve('ok');
    const outcomes = await Promise.all(calls);
    expect(outcomes).to.have.length(ROUNDS * PER_ROUND);
    expect(outcomes.every((o) => o === 'ok')).to.equal(true);
    const m = pricing.metrics();
    expect(m).to.include({ calls: ROUNDS * PER_ROUND, successes: ROUNDS * PER_ROUND, failures: 0 });
    expect(successEvents).to.equal(ROUNDS * PER_ROUND);
    expect(failureEvents).to.equal(0);
    // Every old pipeline has drained: nothing is left waiting on the clock.
    expect(clock.pending()).to.equal(0);
  });
});
