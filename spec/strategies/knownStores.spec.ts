// A store's optional `tryReserveKnown` / `tryAcquireKnown`: asked by the primitive's public
// `tryAcquire` alone; `acquire`, `execute` and policies keep asking `tryReserve` / `tryAcquire`,
// and a store without it works as before.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import {
  InMemoryBulkheadStore,
  type BulkheadStore,
  type BulkheadStoreConfig,
  type BulkheadTicket,
} from '../../src/strategies/bulkhead/store.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import {
  InMemoryRateLimiterStore,
  type RateLimiterStore,
  type RateLimiterStoreConfig,
} from '../../src/strategies/rate-limiter/store.js';
import { ManualClock } from '../support/clock.js';
import { flush } from '../support/promises.js';

/** A bucket that answers `tryReserve` with `false`, like a remote one, and logs what it is asked. */
class KnowingBucket implements RateLimiterStore {
  readonly local = new InMemoryRateLimiterStore();
  readonly asked: string[] = [];
  configure(config: RateLimiterStoreConfig): void {
    this.local.configure(config);
  }
  tryReserve(permits: number): boolean {
    this.asked.push(`tryReserve ${permits}`);
    return false;
  }
  tryReserveKnown(permits: number): boolean {
    this.asked.push(`tryReserveKnown ${permits}`);
    return this.local.tryReserve(permits);
  }
  reserve(permits: number, maxWaitMs: number): Promise<number> {
    this.asked.push(`reserve ${permits}`);
    return Promise.resolve(this.local.reserve(permits, maxWaitMs));
  }
  refund(permits: number): void {
    this.local.refund(permits);
  }
  available(): number {
    return this.local.available();
  }
}

/** Slots that answer `tryAcquire` with `false`, like a remote store, naming each slot it grants. */
class KnowingSlots implements BulkheadStore {
  readonly local = new InMemoryBulkheadStore();
  readonly asked: string[] = [];
  readonly released: BulkheadTicket[] = [];
  #next = 0;
  configure(config: BulkheadStoreConfig): void {
    this.local.configure(config);
  }
  tryAcquire(): false {
    this.asked.push('tryAcquire');
    return false;
  }
  tryAcquireKnown(): false | BulkheadTicket {
    this.asked.push('tryAcquireKnown');
    return this.local.tryAcquire() && `known-${++this.#next}`;
  }
  acquire(): Promise<false | BulkheadTicket> {
    this.asked.push('acquire');
    return Promise.resolve(this.local.tryAcquire() && `asked-${++this.#next}`);
  }
  release(ticket: BulkheadTicket): void {
    this.released.push(ticket);
    this.local.release();
  }
  inUse(): number {
    return this.local.inUse();
  }
}

describe('stores deciding tryAcquire on what they know', () => {
  describe('RateLimiter', () => {
    it('asks tryReserveKnown for tryAcquire, with its permits', () => {
      const store = new KnowingBucket();
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, store });
      expect([limiter.tryAcquire(2), limiter.tryAcquire(2)]).to.deep.equal([true, false]);
      expect(store.asked).to.deep.equal(['tryReserveKnown 2', 'tryReserveKnown 2']);
    });

    it('keeps acquire, execute and a policy on tryReserve and reserve', async () => {
      const store = new KnowingBucket();
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, store });
      await limiter.acquire();
      await limiter.execute(() => 'ran');
      await Policy.builder('known')
        .rateLimiter(limiter)
        .build()
        .execute(() => 'ran');
      expect(store.asked).to.deep.equal([
        'reserve 1',
        'tryReserve 1',
        'reserve 1',
        'tryReserve 1',
        'reserve 1',
      ]);
    });

    it('answers false without asking while callers are queued here', async () => {
      const store = new KnowingBucket();
      const limiter = new RateLimiter({
        maxTokens: 1,
        refillRate: 1,
        maxWait: '10s',
        clock: new ManualClock(),
        store,
      });
      await limiter.acquire();
      void limiter.acquire().catch(() => undefined);
      await flush();
      expect(limiter.queued).to.equal(1);
      store.asked.length = 0;
      expect(limiter.tryAcquire()).to.equal(false);
      expect(store.asked).to.deep.equal([]);
    });

    it('asks tryReserve for tryAcquire of a store without tryReserveKnown', () => {
      const store = new KnowingBucket() as RateLimiterStore;
      (store as { tryReserveKnown?: unknown }).tryReserveKnown = undefined;
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, store });
      expect(limiter.tryAcquire()).to.equal(false);
      expect((store as KnowingBucket).asked).to.deep.equal(['tryReserve 1']);
    });

    it('reads tryReserveKnown once, when the limiter is made, and calls it on the store', () => {
      const knowing = new KnowingBucket();
      const limiter = new RateLimiter({ maxTokens: 3, refillRate: 1, store: knowing });
      // Taken off the store afterwards: the limiter keeps what it found.
      const known = knowing.tryReserveKnown;
      (knowing as { tryReserveKnown?: unknown }).tryReserveKnown = undefined;
      expect(limiter.tryAcquire()).to.equal(true);
      expect(knowing.asked).to.deep.equal(['tryReserveKnown 1']);

      const plain = new KnowingBucket();
      (plain as { tryReserveKnown?: unknown }).tryReserveKnown = undefined;
      const other = new RateLimiter({ maxTokens: 3, refillRate: 1, store: plain });
      // Given to the store afterwards: not asked.
      plain.tryReserveKnown = known;
      expect(other.tryAcquire()).to.equal(false);
      expect(plain.asked).to.deep.equal(['tryReserve 1']);
    });

    it('refuses a store whose tryReserveKnown is not a function', () => {
      const store = Object.assign(new KnowingBucket(), { tryReserveKnown: 1 });
      expect(() => new RateLimiter({ store: store as unknown as RateLimiterStore })).to.throw(
        TypeError,
        'store',
      );
    });
  });

  describe('Bulkhead', () => {
    it('asks tryAcquireKnown for tryAcquire, and releases that very ticket', () => {
      const store = new KnowingSlots();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
      expect([bulkhead.tryAcquire(), bulkhead.tryAcquire()]).to.deep.equal([true, false]);
      bulkhead.release();
      expect(store.asked).to.deep.equal(['tryAcquireKnown', 'tryAcquireKnown']);
      expect(store.released).to.deep.equal(['known-1']);
    });

    it('keeps acquire, execute and a policy on tryAcquire and acquire', async () => {
      const store = new KnowingSlots();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
      await bulkhead.acquire();
      bulkhead.release();
      await bulkhead.execute(() => 'ran');
      await Policy.builder('known')
        .bulkhead(bulkhead)
        .build()
        .execute(() => 'ran');
      expect(store.asked).to.deep.equal([
        'acquire',
        'tryAcquire',
        'acquire',
        'tryAcquire',
        'acquire',
      ]);
    });

    it('asks tryAcquireKnown through an adaptive limit, within the limit as it is now', () => {
      const store = new KnowingSlots();
      const limit = new AdaptiveLimit({ algorithm: 'aimd', initial: 1, min: 1, max: 4 });
      const bulkhead = new Bulkhead({ limit, store });
      expect([bulkhead.tryAcquire(), bulkhead.tryAcquire()]).to.deep.equal([true, false]);
      expect(store.asked).to.deep.equal(['tryAcquireKnown']);
      bulkhead.release();
      expect(store.released).to.deep.equal(['known-1']);
    });

    it('asks tryAcquire for tryAcquire of a store without tryAcquireKnown', () => {
      const store = new KnowingSlots();
      (store as { tryAcquireKnown?: unknown }).tryAcquireKnown = undefined;
      const bulkhead = new Bulkhead({ maxConcurrent: 1, store });
      expect(bulkhead.tryAcquire()).to.equal(false);
      expect(store.asked).to.deep.equal(['tryAcquire']);
    });

    it('refuses a store whose tryAcquireKnown is not a function', () => {
      const store = Object.assign(new KnowingSlots(), { tryAcquireKnown: 'yes' });
      expect(() => new Bulkhead({ store: store as unknown as BulkheadStore })).to.throw(
        TypeError,
        'store',
      );
    });
  });
});
