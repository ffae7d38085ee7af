import { expect } from 'chai';
import { BulkheadFullError } from '../../../src/errors.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import type {
  BulkheadStore,
  BulkheadStoreConfig,
  BulkheadTicket,
} from '../../../src/strategies/bulkhead/store.js';

/**
 * A store that decides remotely: each acquire is answered a turn later, and `inUse()` is the
 * last count it knows, which counts a slot only once its answer has arrived.
 */
class RemoteLikeStore implements BulkheadStore {
  max = 0;
  known = 0;
  configure(config: BulkheadStoreConfig): void {
    this.max = config.maxConcurrent;
  }
  tryAcquire(): false {
    return false;
  }
  acquire(): Promise<false | BulkheadTicket> {
    return new Promise((resolve) =>
      setImmediate(() => {
        if (this.known >= this.max) return resolve(false);
        this.known++;
        resolve(true);
      }),
    );
  }
  release(): void {
    this.known--;
  }
  inUse(): number {
    return this.known;
  }
}

describe('Bulkhead: an adaptive limit over a store that answers asynchronously', () => {
  it('admits a burst inside one round trip up to the limit as it is now, not its max', async () => {
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 2, min: 1, max: 5 });
    const bulkhead = new Bulkhead({ limit, store: new RemoteLikeStore() });
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls = Array.from({ length: 6 }, () =>
      bulkhead
        .execute(async () => {
          running++;
          most = Math.max(most, running);
          await gate;
          running--;
          return 'ran';
        })
        .catch((error: unknown) => (error instanceof BulkheadFullError ? 'full' : error)),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const outcomes = await Promise.all(calls);
    expect(most).to.equal(2);
    expect(outcomes.filter((o) => o === 'ran')).to.have.length(2);
    expect(outcomes.filter((o) => o === 'full')).to.have.length(4);
  });

  it('reports in availableSlots the acquisitions still out, as the limit counts them', async () => {
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 2, min: 1, max: 5 });
    const bulkhead = new Bulkhead({ limit, store: new RemoteLikeStore() });
    const first = bulkhead.execute(() => 'a');
    expect(bulkhead.availableSlots).to.equal(1);
    const second = bulkhead.execute(() => 'b');
    expect(bulkhead.availableSlots).to.equal(0);
    expect(await Promise.all([first, second])).to.deep.equal(['a', 'b']);
    expect(bulkhead.availableSlots).to.equal(2);
  });

  it('counts an acquisition whose store failed as answered', async () => {
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 1, min: 1, max: 5 });
    const store = new RemoteLikeStore();
    let fail = true;
    const acquire = store.acquire.bind(store);
    store.acquire = () => (fail ? Promise.reject(new Error('store down')) : acquire());
    const bulkhead = new Bulkhead({ limit, store });
    const error = await bulkhead.execute(() => 'no').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
    fail = false;
    expect(await bulkhead.execute(() => 'yes')).to.equal('yes');
  });
});

describe('Bulkhead: an adaptive limit, a queued caller and a store that fails', () => {
  it('serves a caller queued behind an acquisition the store failed', async () => {
    let calls = 0;
    let used = 0;
    const store: BulkheadStore = {
      configure() {},
      tryAcquire: () => false,
      acquire: () => {
        const call = ++calls;
        return new Promise((resolve, reject) =>
          setImmediate(() => {
            if (call === 1) return reject(new Error('blip'));
            used++;
            resolve(true);
          }),
        );
      },
      release() {
        used--;
      },
      inUse: () => used,
    };
    const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 1, min: 1, max: 4 });
    const bulkhead = new Bulkhead({ limit, maxQueue: 5, store });
    const first = bulkhead.execute(() => 'A').catch((error: Error) => error.message);
    const second = bulkhead.execute(() => 'B');
    expect(bulkhead.queued).to.equal(1);
    expect(await first).to.equal('blip');
    expect(await second).to.equal('B');
    expect(calls).to.equal(2);
  });
});
