// What the Redis breaker hands its script: the settings the script reads, and nothing of the
// breaker's own (its clock, its window type, already turned into `timed`); and what a breaker
// on a new key of a store costs: its keys and the commands it sends, its script arguments being
// made once for every key with the same settings.
import { expect } from 'chai';
import sinon from 'sinon';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import * as script from '../../src/redis/scripts/breaker.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { flush, ScriptedAdapter } from './scripted.js';

/** An adapter answering every call at once as a closed circuit, keeping what it was sent. */
class ClosedAdapter extends ScriptedAdapter {
  readonly sent: { readonly keys: readonly string[]; readonly args: readonly string[] }[] = [];

  protected override respond(
    _command: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    this.sent.push({ keys, args });
    const op = args[0];
    if (op === 'acquire') return Promise.resolve([1, 'closed', 0, 0]);
    return Promise.resolve(op === 'record' ? ['closed', 0, 0, 0, '0'] : 'closed');
  }

  /** What was sent for `key`'s store, by operation. */
  of(store: RedisCircuitBreakerStore): Map<string, readonly string[]> {
    const calls = new Map<string, readonly string[]>();
    for (const { keys, args } of this.sent) {
      if (keys[0] === store.redisKey) calls.set(String(args[0]), args);
    }
    return calls;
  }
}

describe('RedisCircuitBreakerStore settings', function () {
  let clock: sinon.SinonFakeTimers;

  beforeEach(function () {
    clock = sinon.useFakeTimers();
  });

  afterEach(function () {
    clock.restore();
    sinon.restore();
  });

  function breakerOn(
    store: RedisCircuitBreakerStore,
    options: CircuitBreakerOptions = {},
  ): CircuitBreaker {
    return new CircuitBreaker({ ...options, store });
  }

  it('gives the breaker script only what it reads', async function () {
    const adapter = new ClosedAdapter();
    const store = new RedisCircuitBreakerStore({ client: adapter, key: 'settings' });
    breakerOn(store, { failureRateThreshold: 0.5, windowType: 'time', windowDuration: '30s' });
    await store.acquire();
    await flush();
    const sent = adapter.of(store);
    expect([...sent.keys()]).to.have.members(['state', 'acquire']);
    for (const { keys, args } of adapter.sent) {
      expect(keys).to.deep.equal([store.redisKey, `${store.redisKey}:w`]);
      for (const arg of args) expect(arg).to.be.a('string');
      // failure rate, timed, window duration, buckets
      expect([args[3], args[5], args[7], args[8]]).to.deep.equal(['0.5', '1', '30000', '30']);
    }
  });

  it('shares the script arguments of one set of settings among the views of a store', async function () {
    const adapter = new ClosedAdapter();
    const store = new RedisCircuitBreakerStore({ client: adapter, key: 'hosts' });
    const views = ['a.example', 'b.example', 'c.example'].map((host) => store.forKey(host));
    const stores = [store, ...views, views[0]!.forKey('d.example')];
    for (const each of stores) breakerOn(each, { failureThreshold: 3 });
    for (const each of stores) {
      await each.acquire();
      await each.record({ failure: true, slow: false });
    }
    await flush();
    const [first, ...others] = stores.map((each) => adapter.of(each));
    expect(first!.get('record')?.[1]).to.equal('3');
    for (const sent of others) {
      // The very arrays the first store sent: made once, not once per key.
      for (const op of ['state', 'acquire', 'record'])
        expect(sent.get(op)).to.equal(first!.get(op));
    }
  });

  it('makes a view no command before it sends one, and each once', async function () {
    const command = sinon.spy(script.BreakerCalls.prototype, 'command');
    const scriptCommand = sinon.spy(script.BREAKER, 'command');
    const adapter = new ClosedAdapter();
    const store = new RedisCircuitBreakerStore({ client: adapter, key: 'tenants' });
    const views = Array.from({ length: 50 }, (_, i) => store.forKey(`tenant-${i}`));
    // A breaker asks its store for the state once, at construction.
    for (const view of views) breakerOn(view);
    expect(command.callCount).to.equal(50);
    for (const view of views) await view.acquire();
    for (const view of views) await view.acquire();
    await flush();
    expect(command.callCount).to.equal(100);
    expect(scriptCommand.callCount).to.equal(0);
  });

  it('keeps the arguments of each set of settings apart, however many a store serves', async function () {
    const adapter = new ClosedAdapter();
    const store = new RedisCircuitBreakerStore({ client: adapter, key: 'mixed' });
    // More settings than a store keeps, twice over: each view sends its own.
    for (const round of [0, 1]) {
      for (let threshold = 1; threshold <= 20; threshold++) {
        const view = store.forKey(`${round}-${threshold}`);
        breakerOn(view, { failureThreshold: threshold, recoveryTimeout: 1000 * threshold });
        await view.acquire();
        await flush();
        const sent = adapter.of(view).get('acquire');
        expect(sent?.slice(0, 3)).to.deep.equal([
          'acquire',
          String(threshold),
          String(1000 * threshold),
        ]);
      }
    }
  });

  it('tells settings apart by every field the script reads', function () {
    const shape: script.BreakerShape = {
      failureThreshold: 5,
      recoveryTimeoutMs: 30_000,
      recoveryBackoff: 1,
      maxRecoveryTimeoutMs: 30_000,
      failureRateThreshold: undefined,
      slowCallRateThreshold: 0.5,
      windowSize: 100,
      windowDurationMs: 60_000,
      minimumCalls: 10,
      halfOpenMaxCalls: 1,
      timed: false,
      buckets: 60,
      idleTtlMs: 3_600_000,
      probeLeaseMs: 30_000,
    };
    const signature = script.breakerSignature(shape);
    expect(script.breakerSignature({ ...shape })).to.equal(signature);
    for (const field of Object.keys(shape) as (keyof script.BreakerShape)[]) {
      const value = shape[field];
      const other =
        typeof value === 'boolean' ? !value : value === undefined ? 0.25 : Number(value) + 1;
      expect(script.breakerSignature({ ...shape, [field]: other }), field).to.not.equal(signature);
    }
    // And a threshold of 0 is not an absent one.
    expect(script.breakerSignature({ ...shape, failureRateThreshold: 0 })).to.not.equal(signature);
  });
});
