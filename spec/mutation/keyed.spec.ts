// The keyed holder and stage where their bookkeeping shows: the drop listeners, the moment an
// idle key goes, how far a full holder looks past busy keys, the clock a stage times its keys
// with, and the state subscriptions of a keyed breaker stage (one per primitive, none left once
// nobody listens, none for a dropped key).
import { expect } from 'chai';
import { EventHub } from '../../src/pipeline/events.js';
import { Counters } from '../../src/pipeline/metrics.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import type { Step } from '../../src/pipeline/engine.js';
import { InMemoryBulkheadStore } from '../../src/strategies/bulkhead/store.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitStateChange } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { StageDescriptor } from '../../src/strategies/descriptor.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { keyedState } from '../../src/strategies/keyed/stage.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush } from '../support/promises.js';

const host = (ctx: ExecutionContext) => ctx.data.get('host') as string;
const on = (h: string) => ({ data: { host: h } });

describe('Keyed holder: bookkeeping', () => {
  it('names itself in option errors', () => {
    expect(() => new Keyed(() => ({}), 5 as never)).to.throw(
      TypeError,
      'Keyed options must be an object, got 5',
    );
    expect(() => new Keyed(() => ({}), { maxKey: 3 } as never)).to.throw(
      TypeError,
      'Keyed: unknown option `maxKey` (did you mean `maxKeys`?)',
    );
  });

  it('tells each drop listener of each entry dropped, until it unsubscribes', () => {
    const keyed = new Keyed((key) => ({ key }));
    const first: string[] = [];
    const second: string[] = [];
    const offFirst = keyed.onDrop((e) => first.push(e.key));
    keyed.onDrop((e) => second.push(e.key));
    keyed.get('a');
    keyed.get('b');
    keyed.delete('a');
    offFirst();
    keyed.delete('b');
    expect([first, second]).to.deep.equal([['a'], ['a', 'b']]);
  });

  it('drops a key exactly idleTimeout after its last use, on the next use', () => {
    const clock = new ManualClock();
    const keyed = new Keyed((key) => ({ key }), { idleTimeout: 1000, clock });
    const a = keyed.get('a');
    clock.tick(999);
    expect(keyed.get('a'), 'used 999 ms ago').to.equal(a);
    clock.tick(1000);
    expect(keyed.get('a'), 'unused for 1000 ms').to.not.equal(a);
  });

  it('does not put off dropping an idle key when another key is made', () => {
    const clock = new ManualClock();
    const keyed = new Keyed((key) => ({ key }), { idleTimeout: 1000, clock });
    const a = keyed.get('a');
    clock.tick(500);
    keyed.get('b');
    clock.tick(500);
    expect(keyed.get('a'), 'a unused for 1000 ms').to.not.equal(a);
  });

  it('looks past at most 32 keys in use for one to drop, however far over maxKeys', () => {
    const busy = (key: string) => key.startsWith('busy');
    const keyed = new Keyed((key) => ({ key, 'bulwark.inUse': () => busy(key) }), {
      maxKeys: 33,
      resting: (item) => !busy(item.key),
    });
    for (let i = 0; i < 32; i++) keyed.get(`busy${i}`);
    keyed.get('x');
    keyed.get('y'); // 34 > 33: 32 busy keys looked past, x not reached
    expect(keyed.keys()).to.include('x');
    expect(keyed.size).to.equal(34);
    // The keys in use it looked past went just before y; x, at rest, is first now, and y after
    // the keys in use, out of reach again: z drops x only.
    expect(keyed.keys()).to.deep.equal([
      'x',
      ...Array.from({ length: 32 }, (_, i) => `busy${i}`),
      'y',
    ]);
    keyed.get('z');
    expect(keyed.keys()).to.deep.equal([
      'y',
      ...Array.from({ length: 32 }, (_, i) => `busy${i}`),
      'z',
    ]);
    expect(keyed.size).to.equal(34);
  });

  it('looks at a bounded number of keys per new key while a burst keeps them all in use', () => {
    let checks = 0;
    const keyed = new Keyed(
      (key) => ({
        key,
        'bulwark.inUse': () => {
          checks++;
          return true;
        },
      }),
      { maxKeys: 10, resting: () => false },
    );
    for (let i = 0; i < 2000; i++) keyed.get(`k${i}`);
    expect(keyed.size).to.equal(2000);
    // 32 looks for each of the 1990 keys past maxKeys (the excess plus 32 each would be ~2 million).
    expect(checks).to.be.at.most(1990 * 32);
  });

  it('looks at a bounded number of keys per new key when none is at rest, and stays at maxKeys', () => {
    let checks = 0;
    const keyed = new Keyed((key) => ({ key }), {
      maxKeys: 40,
      resting: () => {
        checks++;
        return false;
      },
    });
    for (let i = 0; i < 2000; i++) keyed.get(`k${i}`);
    expect(keyed.size).to.equal(40);
    expect(keyed.droppedBusy).to.equal(1960);
    // All 32 looked at, the first dropped and the others moved on: 32 checks per key.
    expect(checks).to.equal(1960 * 32);
    expect(keyed.keys()).to.include('k1999');
  });

  it('drops one at rest among the first 32 rather than any that is not', () => {
    const keyed = new Keyed((key) => ({ key }), {
      maxKeys: 33,
      resting: (item) => item.key === 'rest',
    });
    for (let i = 0; i < 31; i++) keyed.get(`held${i}`);
    keyed.get('rest');
    keyed.get('late');
    keyed.get('new'); // 34 > 33: 31 looked past, then one at rest
    expect(keyed.keys()).to.not.include('rest');
    expect(keyed.droppedBusy).to.equal(0);
    keyed.get('rest'); // 32 not at rest looked past, the least recently used of them goes
    expect(keyed.keys()).to.not.include('held0');
    expect(keyed.keys()).to.include('late');
    expect(keyed.keys().slice(-1)).to.deep.equal(['rest']);
    expect(keyed.droppedBusy).to.equal(1);
  });

  it('catches up with every key over maxKeys once keys come out of use', () => {
    const inUse = new Set<string>();
    const keyed = new Keyed((key) => ({ key, 'bulwark.inUse': () => inUse.has(key) }), {
      maxKeys: 2,
      resting: () => false,
    });
    for (let i = 0; i < 32; i++) {
      inUse.add(`k${i}`);
      keyed.get(`k${i}`);
    }
    keyed.get('x');
    expect(keyed.size, 'every key looked at was in use').to.equal(33);
    inUse.clear();
    keyed.get('y'); // 32 over: all looked at go
    expect(keyed.keys()).to.have.length(2).and.include('y');
    expect(keyed.droppedBusy).to.equal(32);
  });

  it('takes an instance that is null or undefined as at rest', () => {
    const keyed = new Keyed((key) => (key === 'a' ? null : undefined), { maxKeys: 1 });
    keyed.get('a');
    keyed.get('b');
    expect(keyed.keys()).to.deep.equal(['b']);
  });

  it('keeps a key not at rest it looked past in its place, the new key the most recent', () => {
    const keyed = new Keyed((key) => ({ key }), {
      maxKeys: 2,
      resting: (item) => item.key !== 'a',
    });
    keyed.get('a');
    keyed.get('b');
    keyed.get('c'); // a is not at rest: kept where it was; b goes
    expect(keyed.keys()).to.deep.equal(['a', 'c']);
  });

  it('moves a key in use it looked past to just before the new key', () => {
    const keyed = new Keyed((key) => ({ key, 'bulwark.inUse': () => key === 'a' }), {
      maxKeys: 2,
      resting: (item) => item.key !== 'a',
    });
    keyed.get('a');
    keyed.get('b');
    keyed.get('c');
    keyed.get('d'); // a in use, looked past twice; b then c go
    expect(keyed.keys()).to.deep.equal(['a', 'd']);
    keyed.get('a');
    keyed.get('e'); // d goes: a was used after it
    expect(keyed.keys()).to.deep.equal(['a', 'e']);
  });
});

describe('Keyed stage: a call on its key', () => {
  it("records a call's use of its key once, when the call ends", async () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer for idle keys' });
    const stage = stages.bulkhead({ key: host, idleTimeout: 1000, clock });
    const policy = Policy.builder('p').clock(clock).use(stage).build();
    await policy.execute(() => 1, on('a'));
    await policy.execute(() => 1, on('b'));
    const work = deferred<number>();
    const running = policy.execute(() => work.promise, on('a'));
    expect(stage.primitive.keys(), 'a starting a call keeps its place').to.deep.equal(['a', 'b']);
    clock.tick(600);
    work.resolve(1);
    await running;
    expect(stage.primitive.keys(), 'a ended last').to.deep.equal(['b', 'a']);
    clock.tick(999);
    await policy.execute(() => 1, on('c'));
    expect(stage.primitive.keys(), 'a idle 999 ms, b 1599 ms').to.deep.equal(['a', 'c']);
  });
});

describe('Keyed stage: clocks', () => {
  it("times its keys on the holder's own clock when it is not the policy's", async () => {
    const policyClock = new ManualClock(1_000_000);
    const clock = new ManualClock(0);
    const stage = stages.bulkhead({ key: host, idleTimeout: 1000, clock });
    const policy = Policy.builder('p').clock(policyClock).use(stage).build();
    await policy.execute(() => 1, on('a'));
    clock.tick(1000);
    await policy.execute(() => 1, on('b'));
    expect(policy.metrics().stages[0]).to.include({ keys: 1 });
  });

  it('reads the clock for a key taken after the first turn of the execution', async () => {
    const clock = new ManualClock(0);
    const stage = stages.bulkhead({ key: host, idleTimeout: 1000, clock });
    const policy = Policy.builder('p')
      .clock(clock)
      .retry({ maxAttempts: 2, delay: 2000, backoff: 1 })
      .use(stage)
      .build();
    await policy.execute(() => 1, on('a'));
    let calls = 0;
    const running = policy.execute(() => {
      calls++;
      if (calls === 1) throw new Error('again');
      return 1;
    }, on('x'));
    await clock.advance(2000); // the second attempt takes x at 2000: a is idle and goes
    await running;
    expect(policy.metrics().stages[1]).to.include({ keys: 1 });
  });
});

/** Counts the state listeners of every breaker subscribed meanwhile. */
function countListeners(): { live: () => number; restore: () => void } {
  const original = CircuitBreaker.prototype.onStateChange;
  let live = 0;
  CircuitBreaker.prototype.onStateChange = function (this: CircuitBreaker, listener) {
    const off = original.call(this, listener);
    live++;
    let on = true;
    return () => {
      if (on) live--;
      on = false;
      off();
    };
  };
  return { live: () => live, restore: () => (CircuitBreaker.prototype.onStateChange = original) };
}

/** A keyed breaker stage's step, made by hand, with its holder. */
function keyedBreakerStep(): { step: Step; keyed: Keyed<CircuitBreaker> } {
  const stage = stages.circuitBreaker({ key: host, failureThreshold: 1 });
  const keyed = stage.primitive as unknown as Keyed<CircuitBreaker>;
  const env = {
    policy: 'p',
    hub: new EventHub(),
    counters: new Counters(),
    clock: keyed.clock,
    entry: () => undefined,
  };
  const step = (stage.descriptor as unknown as StageDescriptor<Keyed<CircuitBreaker>>).step(
    keyed,
    env,
    undefined,
  );
  return { step, keyed };
}

describe('Keyed stage: state subscriptions', () => {
  let listeners: ReturnType<typeof countListeners>;
  beforeEach(() => {
    listeners = countListeners();
  });
  afterEach(() => listeners.restore());

  it('keeps one subscription per breaker for any number of listeners, and none once all leave', async () => {
    const { step, keyed } = keyedBreakerStep();
    keyed.get('a');
    // The holder's drop listeners: one while anyone listens.
    let drops = 0;
    const onDrop = keyed.onDrop.bind(keyed);
    keyed.onDrop = (listener) => {
      const off = onDrop(listener);
      drops++;
      return () => {
        drops--;
        off();
      };
    };
    const seen: string[] = [];
    const offOne = step.watchState?.((c: CircuitStateChange) => seen.push(`one ${c.to}`));
    const offTwo = step.watchState?.((c: CircuitStateChange) => seen.push(`two ${c.to}`));
    expect([listeners.live(), drops]).to.deep.equal([1, 1]);
    offOne?.();
    keyed.get('a').onFailure(new Error('x'));
    await flush();
    expect(seen, 'the other listener still hears').to.deep.equal(['two open']);
    offTwo?.();
    expect([listeners.live(), drops]).to.deep.equal([0, 0]);
    // Listening again subscribes again, once.
    const offThree = step.watchState?.((c: CircuitStateChange) => seen.push(`three ${c.to}`));
    keyed.get('a').reset();
    await flush();
    expect(seen).to.deep.equal(['two open', 'three closed']);
    expect(listeners.live()).to.equal(1);
    offThree?.();
    offThree?.();
    expect(listeners.live()).to.equal(0);
  });

  it('subscribes a breaker made before anyone listened once, and none while nobody listens', async () => {
    const { step, keyed } = keyedBreakerStep();
    keyed.get('early');
    const seen: unknown[] = [];
    const off = step.watchState?.((c: CircuitStateChange) => seen.push(c));
    keyed.get('early').onFailure(new Error('x'));
    await flush();
    expect(seen).to.deep.equal([{ from: 'closed', to: 'open', key: 'early' }]);
    off?.();
    const policy = Policy.builder('p').circuitBreaker({ key: host }).build();
    await policy.execute(() => 1, on('quiet'));
    expect(listeners.live()).to.equal(0);
  });

  it('unsubscribes from a dropped breaker, and drops a key it never stepped without fault', async () => {
    const { step, keyed } = keyedBreakerStep();
    const dropped = keyed.get('a');
    const seen: unknown[] = [];
    const off = step.watchState?.((c: CircuitStateChange) => seen.push(c));
    expect(listeners.live()).to.equal(1);
    keyed.delete('a');
    expect(listeners.live()).to.equal(0);
    dropped.onFailure(new Error('x'));
    await flush();
    expect(seen).to.deep.equal([]);
    // Made by hand while watched: no step of this stage, nothing to unsubscribe.
    keyed.get('by-hand');
    expect(() => keyed.delete('by-hand')).to.not.throw();
    off?.();
  });

  it('lets a policy listen for circuit-state over a keyed bulkhead', async () => {
    const policy = Policy.builder('p').bulkhead({ key: host }).build();
    await policy.execute(() => 1, on('a'));
    const off = policy.on('circuit-state', () => undefined);
    await policy.execute(() => 1, on('b'));
    off();
  });
});

describe('Keyed stage: state and description', () => {
  it('leaves out of the refusing list a primitive whose check throws', () => {
    const keyed = new Keyed((key) => ({ key }));
    keyed.get('hostile');
    keyed.get('refusing');
    const descriptor = {
      refusing: (p: { key: string }) => {
        if (p.key === 'hostile') throw new Error('store down');
        return true;
      },
      state: () => ({ open: true }),
    } as unknown as StageDescriptor<{ key: string }>;
    expect(keyedState(descriptor, keyed)).to.deep.include({
      keys: 2,
      refusingKeys: 1,
      refusing: [{ key: 'refusing', open: true }],
    });
  });

  it('reports its state when run by hand', () => {
    const stage = stages.rateLimiter({ key: host, maxKeys: 7 });
    expect(stage.state()).to.deep.equal({
      keys: 0,
      maxKeys: 7,
      busyKeys: 0,
      droppedBusy: 0,
      refusingKeys: 0,
      refusing: [],
    });
  });

  it('describes one key and its idle timeout, and refuses an infinite one', () => {
    const policy = Policy.builder('p')
      .bulkhead({ key: host, maxKeys: 1, idleTimeout: '1m', maxConcurrent: 2 })
      .build();
    expect(policy.describe()).to.equal(
      '1. bulkhead: per key (at most 1 key, idle 60000 ms): 2 concurrent calls, no queue',
    );
    expect(() =>
      Policy.builder('p').bulkhead({ key: host, idleTimeout: Infinity, maxConcurrent: 2 }),
    ).to.throw(RangeError, '`idleTimeout` must be a finite duration, got Infinity');
  });

  it('refuses a store without per-key views', () => {
    for (const store of [new InMemoryBulkheadStore(), null]) {
      expect(() => stages.bulkhead({ key: host, store: store as never })).to.throw(
        TypeError,
        '`store` must be a store with per-key views',
      );
    }
  });

  it('does not bring back a key deleted while its call ran', async () => {
    const stage = stages.bulkhead({ key: host });
    const policy = Policy.builder('p').use(stage).build();
    let finish = (): void => undefined;
    const running = policy.execute(() => new Promise<void>((r) => (finish = r)), on('a'));
    const holder = stage.primitive as unknown as Keyed<unknown>;
    expect(holder.delete('a')).to.equal(true);
    finish();
    await running;
    expect(holder.keys()).to.deep.equal([]);
  });
});
