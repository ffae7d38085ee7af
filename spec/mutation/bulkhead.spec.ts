// The bulkhead's slots where they change hands: freed by another process and announced through
// the store's subscription, handed to a queued caller who gave up in the same turn, and counted
// while a caller is answered before its work settles.
import { expect } from 'chai';
import { BulkheadFullError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { BULKHEAD, BULKHEAD_STAGE } from '../../src/strategies/bulkhead/kind.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import {
  InMemoryBulkheadStore,
  type BulkheadStore,
  type BulkheadTicket,
} from '../../src/strategies/bulkhead/store.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { ManualClock } from '../support/clock.js';
import { deferred, flush, rejectionOf, settle } from '../support/promises.js';

/** Slots shared with "another process", which takes and frees them behind the bulkhead's back. */
class SharedSlots implements BulkheadStore {
  max = 0;
  inUseCount = 0;
  onFree: (() => void) | undefined;
  readonly remote: boolean;
  constructor(remote: boolean) {
    this.remote = remote;
  }
  configure(config: { maxConcurrent: number }): void {
    this.max = config.maxConcurrent;
  }
  tryAcquire(): false | BulkheadTicket {
    if (this.remote || this.inUseCount >= this.max) return false;
    this.inUseCount++;
    return true;
  }
  acquire(): false | BulkheadTicket | Promise<false | BulkheadTicket> {
    if (!this.remote) return this.tryAcquire();
    return Promise.resolve().then(() => {
      if (this.inUseCount >= this.max) return false;
      this.inUseCount++;
      return true;
    });
  }
  release(): void {
    this.inUseCount--;
  }
  inUse(): number {
    return this.inUseCount;
  }
  subscribe(onFree: () => void): void {
    this.onFree = onFree;
  }
  /** The other process frees a slot and says so. */
  freeElsewhere(): void {
    this.inUseCount--;
    this.onFree?.();
  }
}

describe('Bulkhead: slots changing hands', () => {
  for (const remote of [false, true]) {
    describe(`a slot freed elsewhere and announced by a ${remote ? 'remote' : 'local'} store`, () => {
      it('goes to the queued caller of acquire(), who holds it until release()', async () => {
        const store = new SharedSlots(remote);
        const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
        store.inUseCount = 1;
        let granted = false;
        const waiting = bulkhead.acquire().then(() => (granted = true));
        await flush();
        expect(bulkhead.queued).to.equal(1);
        store.freeElsewhere();
        await waiting;
        expect(granted).to.equal(true);
        expect(store.inUseCount, 'the slot is held').to.equal(1);
        expect(bulkhead.queued).to.equal(0);
        bulkhead.release();
        expect(store.inUseCount).to.equal(0);
        expect(() => bulkhead.release(), 'only one slot was held').to.throw(Error, 'release()');
      });

      it('goes to a queued execute(), and back to the store when its work settles', async () => {
        const store = new SharedSlots(remote);
        const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
        store.inUseCount = 1;
        const work = deferred<string>();
        const call = bulkhead.execute(() => work.promise);
        await flush();
        store.freeElsewhere();
        await flush();
        expect(store.inUseCount, 'held by the call').to.equal(1);
        work.resolve('done');
        expect(await call).to.equal('done');
        expect(store.inUseCount).to.equal(0);
        expect(() => bulkhead.release(), 'execute’s slot is not the caller’s').to.throw(Error);
      });
    });
  }

  it('a queued caller who gives up in the turn its slot is handed over never starts fn, and the slot goes back', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    expect(bulkhead.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const reason = new Error('left');
    let calls = 0;
    const call = bulkhead.execute(() => ++calls, controller.signal);
    expect(bulkhead.queued).to.equal(1);
    bulkhead.release();
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    expect(calls).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.orphaned).to.equal(0);
  });

  it('passes fn the caller’s own signal, or one that never aborts', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    await bulkhead.execute((signal) => seen.push(signal), controller.signal);
    await bulkhead.execute((signal) => seen.push(signal));
    expect(seen).to.deep.equal([controller.signal, NEVER_ABORTED]);
  });

  it('counts an answered caller’s slot as orphaned until its work settles', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2 });
    const controller = new AbortController();
    const work = deferred<string>();
    const call = bulkhead.execute(() => work.promise, controller.signal);
    controller.abort(new Error('left'));
    await rejectionOf(call);
    expect(bulkhead.orphaned).to.equal(1);
    expect(bulkhead.availableSlots).to.equal(1);
    work.reject(new Error('late'));
    await flush();
    expect(bulkhead.orphaned).to.equal(0);
    expect(bulkhead.availableSlots).to.equal(2);
  });

  it('counts an answered caller once as orphaned however often its signal dispatches abort', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2 });
    const policy = Policy.builder<string>('p').bulkhead(bulkhead).build();
    const controller = new AbortController();
    const works = [deferred<string>(), deferred<string>()];
    const calls = [
      bulkhead.execute(() => works[0]!.promise, controller.signal),
      policy.execute(() => works[1]!.promise, { signal: controller.signal }),
    ];
    controller.abort(new Error('left'));
    // A signal's abort event can be dispatched again by hand (or by a hostile signal).
    controller.signal.dispatchEvent(new Event('abort'));
    for (const call of calls) await rejectionOf(call);
    expect(bulkhead.orphaned).to.equal(2);
    for (const work of works) work.resolve('late');
    await flush();
    expect([bulkhead.orphaned, bulkhead.availableSlots]).to.deep.equal([0, 2]);
  });

  it('rejects a caller when the queue is full, or at once when maxWait is 0, naming the limits', async () => {
    const clock = new ManualClock();
    const full = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    expect(full.tryAcquire()).to.equal(true);
    const queued = full.acquire();
    const error = await rejectionOf(full.acquire());
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect(error).to.include({ maxConcurrent: 1, maxQueue: 1 });
    full.release();
    await queued;

    const noWait = new Bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWait: 0, clock });
    expect(noWait.tryAcquire()).to.equal(true);
    expect(await rejectionOf(noWait.acquire())).to.be.instanceOf(BulkheadFullError);
    expect(noWait.queued).to.equal(0);
  });

  it('reports free slots within [0, maxConcurrent] whatever the store counts', () => {
    const store = new SharedSlots(false);
    const bulkhead = new Bulkhead({ maxConcurrent: 3, store });
    store.inUseCount = 5;
    expect(bulkhead.availableSlots).to.equal(0);
    store.inUseCount = -2;
    expect(bulkhead.availableSlots).to.equal(3);
    store.inUseCount = 1;
    expect(bulkhead.availableSlots).to.equal(2);
  });
});

/** A remote store under the spec's control: each `acquire` waits for the spec's answer. */
class ScriptedStore implements BulkheadStore {
  onFree: (() => void) | undefined;
  asked = 0;
  released: BulkheadTicket[] = [];
  readonly answers: Array<(answer: false | BulkheadTicket | Error) => void> = [];
  used = 1;
  configure(): void {}
  tryAcquire(): false {
    return false;
  }
  acquire(): Promise<false | BulkheadTicket> {
    this.asked++;
    return new Promise((resolve, reject) =>
      this.answers.push((a) => (a instanceof Error ? reject(a) : resolve(a))),
    );
  }
  release(ticket: BulkheadTicket): void {
    this.released.push(ticket);
  }
  inUse(): number {
    return this.used;
  }
  subscribe(onFree: () => void): void {
    this.onFree = onFree;
  }
  /** Answers the oldest pending acquire. */
  answer(a: false | BulkheadTicket | Error): void {
    this.answers.shift()?.(a);
  }
}

describe('Bulkhead: asking a remote store for its queue', () => {
  it('asks nothing when a slot frees elsewhere and nobody waits', async () => {
    const store = new ScriptedStore();
    new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    store.onFree?.();
    await flush();
    expect(store.asked).to.equal(0);
  });

  it('keeps a caller queued when the slot freed elsewhere is taken again before it is asked for', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    let granted = false;
    const waiting = bulkhead.acquire().then(() => (granted = true));
    store.answer(false);
    await flush();
    expect(bulkhead.queued).to.equal(1);
    store.onFree?.();
    store.answer(false);
    await flush();
    expect([granted, bulkhead.queued]).to.deep.equal([false, 1]);
    store.onFree?.();
    store.answer('lease');
    await flush();
    expect([granted, bulkhead.queued]).to.deep.equal([true, 0]);
    await waiting;
  });

  it('asks again for the next caller after a grant or a refusal', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 2, store });
    const order: string[] = [];
    const a = bulkhead.acquire().then(() => order.push('a'));
    const b = bulkhead.acquire().then(() => order.push('b'));
    store.answer(false);
    store.answer(false);
    await flush();
    expect(bulkhead.queued).to.equal(2);
    store.onFree?.();
    store.answer('s1');
    await flush();
    // Served one, it asks at once for the next.
    store.answer(false);
    await flush();
    expect([order, bulkhead.queued]).to.deep.equal([['a'], 1]);
    store.onFree?.();
    store.answer('s2');
    await flush();
    expect(order).to.deep.equal(['a', 'b']);
    await Promise.all([a, b]);
  });

  for (const how of ['throws', 'rejects']) {
    it(`rejects its queued callers with the error when the store ${how} instead of answering`, async () => {
      const store = new ScriptedStore();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store });
      const queued = [bulkhead.acquire(), bulkhead.acquire()].map((p) =>
        p.then(
          () => 'granted',
          (error: unknown) => error,
        ),
      );
      store.answer(false);
      store.answer(false);
      await flush();
      expect(bulkhead.queued).to.equal(2);
      const failure = new Error('store down');
      store.acquire = () => {
        if (how === 'throws') throw failure;
        return Promise.reject(failure);
      };
      expect(() => store.onFree?.()).not.to.throw();
      await flush();
      expect(bulkhead.queued).to.equal(0);
      expect(await Promise.all(queued)).to.deep.equal([failure, failure]);
    });
  }

  it('rejects a caller with the error the store throws', async () => {
    const store = new ScriptedStore();
    const failure = new Error('store down');
    store.acquire = () => {
      throw failure;
    };
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    expect(await rejectionOf(bulkhead.acquire())).to.equal(failure);
    expect(await rejectionOf(bulkhead.execute(() => 'no'))).to.equal(failure);
  });

  it('never asks the store for a caller whose signal has already aborted', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    const reason = new Error('gone');
    expect(await rejectionOf(bulkhead.acquire(AbortSignal.abort(reason)))).to.equal(reason);
    expect(store.asked).to.equal(0);
  });

  it('leaves no caller in the queue who left while the store decided', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store });
    const controller = new AbortController();
    const reason = new Error('left');
    const call = bulkhead.acquire(controller.signal);
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    store.answer(false);
    await flush();
    expect(bulkhead.queued).to.equal(0);
  });

  it('keeps a slot granted to execute() from a stray release()', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
    const work = deferred<string>();
    const call = bulkhead.execute(() => work.promise);
    store.answer('lease');
    await flush();
    expect(() => bulkhead.release()).to.throw(Error, 'without a held slot');
    work.resolve('done');
    expect(await call).to.equal('done');
    expect(store.released).to.deep.equal(['lease']);
  });

  it('sends a newcomer behind a queued caller even when the store has a slot now', async () => {
    let free = 0;
    const asked: string[] = [];
    const store: BulkheadStore = {
      configure() {},
      tryAcquire: () => false,
      acquire: () => {
        asked.push('acquire');
        return free > 0 && free-- > 0;
      },
      release: () => void free++,
      inUse: () => 1 - free,
    };
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store });
    const first = settle(bulkhead.acquire());
    free = 1;
    const second = settle(bulkhead.acquire());
    await flush();
    expect([first.status, second.status]).to.deep.equal(['pending', 'pending']);
    expect(bulkhead.queued).to.equal(2);
    expect(asked, 'the newcomer does not ask').to.have.length(1);
  });
});

describe('Bulkhead: execute', () => {
  it('refuses a caller whose signal has aborted with its reason, not as full', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    expect(bulkhead.tryAcquire()).to.equal(true);
    const reason = new Error('gone');
    expect(await rejectionOf(bulkhead.execute(() => 'no', AbortSignal.abort(reason)))).to.equal(
      reason,
    );
  });

  it('gives the slot back in the caller’s turn when fn returns a value', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    void bulkhead.execute(() => 'now');
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('stops listening to the caller’s signal once the work settles', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    const controller = new AbortController();
    expect(await bulkhead.execute(() => Promise.resolve('done'), controller.signal)).to.equal(
      'done',
    );
    controller.abort(new Error('late'));
    expect(bulkhead.orphaned).to.equal(0);
  });

  it('refuses at once with no wait allowed, its stack starting at the caller', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 3, maxWait: 0 });
    expect(bulkhead.tryAcquire()).to.equal(true);
    const error = await rejectionOf(bulkhead.execute(() => 'no'));
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect((error as Error).stack).not.to.match(/Bulkhead\.(js|ts)/);
  });

  it('tells an adaptive limit how each call ended', async () => {
    const limit = new AdaptiveLimit();
    const failed: boolean[] = [];
    const sample = limit.sample.bind(limit);
    limit.sample = (now, rtt, inflight, f) => {
      failed.push(f);
      return sample(now, rtt, inflight, f);
    };
    const bulkhead = new Bulkhead({ limit });
    await bulkhead.execute(() => 'value');
    await rejectionOf(
      bulkhead.execute(() => {
        throw new Error('thrown');
      }),
    );
    await bulkhead.execute(() => Promise.resolve('later'));
    await rejectionOf(bulkhead.execute(() => Promise.reject(new Error('later'))));
    const controller = new AbortController();
    await bulkhead.execute(() => Promise.resolve('signal'), controller.signal);
    await rejectionOf(
      bulkhead.execute(() => Promise.reject(new Error('signal')), controller.signal),
    );
    await bulkhead.acquire();
    bulkhead.release();
    expect(failed).to.deep.equal([false, true, false, true, false, true, false]);
  });
});

describe('Bulkhead: maxWait in the queue', () => {
  it('keeps the deadline of a caller behind one who left the head of the queue', async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, maxWait: 100, clock });
    expect(bulkhead.tryAcquire()).to.equal(true);
    const leaving = new AbortController();
    const first = settle(bulkhead.acquire(leaving.signal));
    await clock.advance(50);
    const second = settle(bulkhead.acquire());
    await clock.advance(10);
    leaving.abort(new Error('left'));
    await clock.advance(89);
    expect([first.status, second.status]).to.deep.equal(['rejected', 'pending']);
    await clock.advance(1);
    expect(second.status).to.equal('rejected');
    expect(second.reason).to.be.instanceOf(BulkheadFullError);
  });
});

describe('Bulkhead: the limit option', () => {
  for (const [what, value] of [
    ['null', null],
    ['a function with a slots method', Object.assign(() => undefined, { slots: () => undefined })],
  ] as const) {
    it(`refuses ${what}, naming it`, () => {
      expect(() => new Bulkhead({ limit: value as never }))
        .to.throw(TypeError, '`limit` must be an integer >= 1 or an AdaptiveLimit')
        .with.property('option', 'limit');
    });
  }
});

describe('InMemoryBulkheadStore', () => {
  it('never counts below zero slots in use', () => {
    const store = new InMemoryBulkheadStore();
    store.configure({ maxConcurrent: 1, clock: new ManualClock() });
    store.release();
    expect(store.inUse()).to.equal(0);
    expect(store.tryAcquire()).to.equal(true);
    expect(store.tryAcquire(), 'one slot only').to.equal(false);
  });
});

describe('Bulkhead kind', () => {
  it('says "no queue" when no wait is allowed', () => {
    expect(BULKHEAD.describe(new Bulkhead({ maxQueue: 5, maxWait: 0 }))).to.equal(
      '10 concurrent calls, no queue',
    );
  });

  it('never drops a keyed bulkhead with a caller queued, even when its store has slots free', () => {
    let used = 1;
    const store = (): BulkheadStore => ({
      configure() {},
      tryAcquire: () => false,
      acquire: () => false,
      release: () => void used--,
      inUse: () => used,
    });
    const clock = new ManualClock();
    const bulkheads = new Keyed(
      () => new Bulkhead({ maxConcurrent: 1, maxQueue: 1, store: store() }),
      {
        maxKeys: 1,
        clock,
      },
    );
    void bulkheads
      .get('a')
      .acquire()
      .catch(() => undefined);
    used = 0;
    expect([bulkheads.get('a').queued, bulkheads.get('a').availableSlots]).to.deep.equal([1, 1]);
    bulkheads.get('b');
    expect(bulkheads.keys(), 'a has a caller queued').to.have.members(['a', 'b']);
  });

  it('reads a numeric limit from configuration as maxConcurrent', () => {
    const registry = PolicyRegistry.fromConfig({ bulkhead: { db: { limit: 4 } } });
    expect(registry.bulkhead('db').maxConcurrent).to.equal(4);
    expect(registry.bulkhead('db').adaptiveLimit).to.equal(undefined);
  });

  it('names a bad adaptive limit option as configuration writes it', () => {
    expect(() => PolicyRegistry.fromConfig({ bulkhead: { db: { limit: { max: 0 } } } }))
      .to.throw(
        RangeError,
        'resilience.bulkhead.db.limit.max: `limit.max` must be an integer >= 1, got 0',
      )
      .with.property('expected', 'an integer >= 1');
    expect(() => PolicyRegistry.fromConfig({ bulkhead: { db: { limit: { max: 0 } } } }))
      .to.throw(RangeError)
      .with.nested.property('cause.option', 'limit.max');
  });
});

describe('Bulkhead kind: names and gauges', () => {
  it('names itself when given a primitive of another kind', () => {
    expect(() => Policy.builder('p').bulkhead(new RateLimiter() as never)).to.throw(
      TypeError,
      '`options` must be Bulkhead options or a Bulkhead, got an instance of RateLimiter',
    );
  });

  it('lists a bulkhead with no slot free as refusing', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    expect(BULKHEAD_STAGE.refusing?.(bulkhead)).to.equal(false);
    expect(bulkhead.tryAcquire()).to.equal(true);
    expect(BULKHEAD_STAGE.refusing?.(bulkhead)).to.equal(true);
  });

  it('describes its gauges', () => {
    expect(BULKHEAD.gauges?.map((g) => [g.name, g.unit, g.description])).to.deep.equal([
      ['bulwark.bulkhead.available', '{slot}', 'Bulkhead slots free for new calls.'],
      ['bulwark.bulkhead.queued', '{call}', 'Calls waiting in a bulkhead queue for a slot.'],
      [
        'bulwark.bulkhead.limit',
        '{call}',
        'Calls a bulkhead admits at once now (moves under an adaptive limit).',
      ],
      [
        'bulwark.bulkhead.orphaned',
        '{call}',
        'Calls already answered (timed out or aborted) whose work still runs and holds a bulkhead slot.',
      ],
    ]);
  });
});
