// A store shared between processes wakes the bulkhead's queue (`subscribe`'s `onFree`) when slots
// may have been freed elsewhere. A wake that comes while an `acquire` is out (the queue's ask, or
// a caller's own, not queued yet) must not be lost: the store may have refused that `acquire`
// already, its answer still on the way, and spent on the wake the next ask it would have made for
// the queue. The queue then asks again as the refusal is taken.
import { expect } from 'chai';
import sinon from 'sinon';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import type {
  BulkheadStore,
  BulkheadStoreConfig,
  BulkheadTicket,
} from '../../../src/strategies/bulkhead/store.js';
import { deferred, flush, settle, type Deferred, type Settled } from '../../support/promises.js';

/** A shared store whose every `acquire` waits for the spec's answer. */
class ScriptedStore implements BulkheadStore {
  readonly asks: Deferred<false | BulkheadTicket>[] = [];
  onFree: (() => void) | undefined;
  /** The answer to the next `acquire` in place of an ask the spec settles (a foreign thenable). */
  answerWith: PromiseLike<false | BulkheadTicket> | undefined;
  configure(_config: BulkheadStoreConfig): void {}
  tryAcquire(): false {
    return false;
  }
  acquire(): Promise<false | BulkheadTicket> {
    const answer = this.answerWith;
    this.answerWith = undefined;
    if (answer !== undefined) return answer as Promise<false | BulkheadTicket>;
    const ask = deferred<false | BulkheadTicket>();
    this.asks.push(ask);
    return ask.promise;
  }
  release(): void {}
  inUse(): number {
    return 0;
  }
  subscribe(onFree: () => void): void {
    this.onFree = onFree;
  }
  /** Refuses the oldest unanswered ask and, in the same turn, wakes the queue. */
  refuseAndWake(): void {
    (this.asks.shift() as Deferred<false | BulkheadTicket>).resolve(false);
    (this.onFree as () => void)();
  }
}

/** A bulkhead over a {@link ScriptedStore} whose first caller's own ask was refused: it queues. */
function firstQueued(): {
  store: ScriptedStore;
  bulkhead: Bulkhead;
  first: Settled<string>;
} {
  const store = new ScriptedStore();
  const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store });
  const first = settle(bulkhead.execute(() => 'first'));
  store.asks.shift()!.resolve(false);
  return { store, bulkhead, first };
}

describe('Bulkhead woken while an acquire is out', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });

  afterEach(() => {
    clock.restore();
  });

  it('asks again for the queue when the wake comes as its ask is refused', async () => {
    const { store, bulkhead, first } = firstQueued();
    await flush();
    expect(bulkhead.queued).to.equal(1);
    // The store's poll: the queue asks.
    store.onFree!();
    expect(store.asks, 'asks out').to.have.length(1);
    store.refuseAndWake();
    await flush();
    expect(store.asks, 'asks out').to.have.length(1);
    store.asks.shift()!.resolve('slot');
    await flush();
    expect(first).to.deep.include({ status: 'fulfilled', value: 'first' });
    expect(bulkhead.queued).to.equal(0);
  });

  it('asks for the queue when the wake comes as the ask of a caller about to queue is refused', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store });
    const controller = new AbortController();
    const calls = [
      settle(bulkhead.execute(() => 'first')),
      settle(bulkhead.execute(() => 'second', controller.signal)),
    ];
    store.refuseAndWake();
    store.refuseAndWake();
    await flush();
    expect(bulkhead.queued).to.equal(2);
    expect(store.asks, 'asks out').to.have.length(1);
    store.asks.shift()!.resolve('slot');
    await flush();
    expect(calls[0]).to.deep.include({ status: 'fulfilled', value: 'first' });
    expect(store.asks, 'asks out').to.have.length(1);
    store.asks.shift()!.resolve('slot');
    await flush();
    expect(calls[1]).to.deep.include({ status: 'fulfilled', value: 'second' });
  });

  it('asks no more than once for a wake that comes while nothing is out', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2, store });
    settle(bulkhead.execute(() => 'first'));
    store.asks.shift()!.resolve(false);
    await flush();
    store.onFree!();
    store.asks.shift()!.resolve(false);
    await flush();
    // Refused, with no wake meanwhile: the queue waits for the store's next wake.
    expect(store.asks, 'asks out').to.have.length(0);
    expect(bulkhead.queued).to.equal(1);
  });

  it('takes the answer to its ask once, though the store calls back twice', async () => {
    const { store, first } = firstQueued();
    await flush();
    // The queue's ask is answered by a thenable that refuses twice.
    store.answerWith = {
      then(onFulfilled) {
        onFulfilled?.(false);
        onFulfilled?.(false);
        return this as never;
      },
    };
    store.onFree!();
    await flush();
    expect(store.asks, 'asks out').to.have.length(0);
    // Its next poll is refused as the store wakes the queue: asked again, as for any other.
    store.onFree!();
    store.refuseAndWake();
    await flush();
    expect(store.asks, 'asks out').to.have.length(1);
    store.asks.shift()!.resolve('slot');
    await flush();
    expect(first).to.deep.include({ status: 'fulfilled', value: 'first' });
  });

  it('refuses the queue with the error of an answer whose then throws, and asks for it again later', async () => {
    const { store, bulkhead, first } = firstQueued();
    await flush();
    const failure = new Error('no answer');
    store.answerWith = {
      then() {
        throw failure;
      },
    };
    store.onFree!();
    await flush();
    expect(first).to.deep.include({ status: 'rejected', reason: failure });
    // Nothing is left out: a caller queued later is asked for at the store's next wake.
    const second = settle(bulkhead.execute(() => 'second'));
    store.asks.shift()!.resolve(false);
    await flush();
    store.onFree!();
    expect(store.asks, 'asks out').to.have.length(1);
    store.asks.shift()!.resolve('slot');
    await flush();
    expect(second).to.deep.include({ status: 'fulfilled', value: 'second' });
  });

  it('asks for the queue under an adaptive limit, whose refusal wakes it before the caller queues', async () => {
    const store = new ScriptedStore();
    const bulkhead = new Bulkhead({
      limit: new AdaptiveLimit({ min: 1, initial: 1, max: 2 }),
      maxQueue: 2,
      store,
    });
    const first = settle(bulkhead.execute(() => 'first'));
    store.asks.shift()!.resolve(false);
    await flush();
    expect(bulkhead.queued).to.equal(1);
    expect(store.asks, 'asks out').to.have.length(1);
    store.asks.shift()!.resolve('slot');
    await flush();
    expect(first).to.deep.include({ status: 'fulfilled', value: 'first' });
  });
});
