// The adaptive limit where its arithmetic and bounds show: the options it checks, each term of
// the long-run latency, the edges of each algorithm's comparisons, what `sample` answers, and the
// slots a bulkhead takes under it from a store that refuses.
import { expect } from 'chai';
import {
  AdaptiveLimit,
  AdaptiveSlots,
  AdaptiveTicket,
} from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import type { BulkheadStore, BulkheadTicket } from '../../src/strategies/bulkhead/store.js';
import { ManualClock } from '../support/clock.js';
import { window } from '../strategies/bulkhead/support.js';

describe('AdaptiveLimit: options, terms and edges', () => {
  describe('options', () => {
    it('names itself when its options are not an object', () => {
      expect(() => new AdaptiveLimit(5 as never)).to.throw(
        TypeError,
        'AdaptiveLimit options must be an object, got 5',
      );
    });

    it('takes max equal to min, and refuses an initial limit outside [min, max]', () => {
      expect(new AdaptiveLimit({ min: 5, max: 5 }).limit).to.equal(5);
      expect(() => new AdaptiveLimit({ min: 5, initial: 3 })).to.throw(
        RangeError,
        '`initial` must be an integer in [5, 1000], got 3',
      );
      expect(() => new AdaptiveLimit({ initial: 0 })).to.throw(
        RangeError,
        '`initial` must be an integer >= 1, got 0',
      );
    });

    it('names minSamples, tolerance, backoffRatio, smoothing and longWindow in their errors', () => {
      expect(() => new AdaptiveLimit({ minSamples: 0 })).to.throw(
        RangeError,
        '`minSamples` must be an integer >= 1, got 0',
      );
      expect(() => new AdaptiveLimit({ tolerance: 0.5 })).to.throw(
        RangeError,
        '`tolerance` must be a number >= 1, got 0.5',
      );
      expect(() => new AdaptiveLimit({ algorithm: 'aimd', backoffRatio: 0 })).to.throw(
        RangeError,
        '`backoffRatio` must be a number in (0, 1), got 0',
      );
      expect(() => new AdaptiveLimit({ smoothing: 0 })).to.throw(
        RangeError,
        '`smoothing` must be a number in (0, 1], got 0',
      );
      expect(() => new AdaptiveLimit({ smoothing: 1.5 })).to.throw(
        RangeError,
        '`smoothing` must be a number in (0, 1], got 1.5',
      );
      // @ts-expect-error: `smoothing` is for 'gradient2' only
      expect(() => new AdaptiveLimit({ algorithm: 'aimd', smoothing: 0.5 })).to.throw(
        TypeError,
        "`smoothing` must be unset unless algorithm is 'gradient2', got 0.5",
      );
      expect(() => new AdaptiveLimit({ longWindow: 0 })).to.throw(
        RangeError,
        '`longWindow` must be an integer >= 1, got 0',
      );
    });

    it('uses the tolerance it is given, 1 included', () => {
      // aimd falls once the window is slower than tolerance x the long-run latency.
      const strict = new AdaptiveLimit({ algorithm: 'aimd', tolerance: 1, window: 900 });
      window(strict, 0, 10);
      expect(window(strict, 1000, 11)).to.equal(18); // 21 x 0.9
      const loose = new AdaptiveLimit({ algorithm: 'aimd', tolerance: 3, window: 900 });
      window(loose, 0, 10);
      expect(window(loose, 1000, 25)).to.equal(22);
    });

    it('uses the backoffRatio it is given', () => {
      const limit = new AdaptiveLimit({ algorithm: 'aimd', backoffRatio: 0.5, window: 900 });
      expect(window(limit, 0, 10, 20, 1)).to.equal(10);
      expect(new AdaptiveLimit({ algorithm: 'aimd', backoffRatio: 0.01 }).limit).to.equal(20);
    });

    it('uses the smoothing it is given', () => {
      // Target 20 x 1 + 4 = 24: half of the way is 22.
      const limit = new AdaptiveLimit({ smoothing: 0.5, window: 900 });
      expect(window(limit, 0, 10)).to.equal(22);
    });
  });

  describe('the long-run latency', () => {
    it('averages windows no slower than it over longWindow windows (factor 2 / (n + 1))', () => {
      const limit = new AdaptiveLimit({ longWindow: 3, window: 900 }); // factor 0.5
      window(limit, 0, 10);
      expect(limit.baselineMs).to.equal(10);
      window(limit, 1000, 8);
      expect(limit.baselineMs).to.equal(9);
      // A slower window above `min` leaves it.
      window(limit, 2000, 12);
      expect(limit.baselineMs).to.equal(9);
    });

    it('averages every window once the limit is down to min', () => {
      const limit = new AdaptiveLimit({ min: 5, initial: 5, max: 5, longWindow: 3, window: 900 });
      window(limit, 0, 10);
      window(limit, 1000, 14);
      expect(limit.baselineMs).to.equal(12);
    });

    it('comes down by 5% a window while over twice the window latency, not at twice', () => {
      const limit = new AdaptiveLimit({ longWindow: 3, window: 900 });
      window(limit, 0, 30);
      window(limit, 1000, 10); // 30 -> 20: exactly twice, kept
      expect(limit.baselineMs).to.equal(20);
      window(limit, 2000, 5); // 20 -> 12.5, over twice 5: x 0.95
      expect(limit.baselineMs).to.be.closeTo(11.875, 1e-9);
    });

    it('takes a negative latency as 0, for the window start and the average', () => {
      const limit = new AdaptiveLimit({ window: 1000, minSamples: 2 });
      // The window begins at 1000 (not at 1050): a sample ending at 2000 closes it.
      expect(limit.sample(1000, -50, 20, false)).to.equal(false);
      limit.sample(2000, 10, 20, false);
      expect(limit.baselineMs).to.equal(5);
    });
  });

  describe('edges', () => {
    it('counts the most calls in flight in the window, not the last', () => {
      const limit = new AdaptiveLimit({ algorithm: 'aimd', window: 900 });
      for (let i = 0; i < 9; i++) limit.sample(i * 100, 10, 10, false);
      limit.sample(900, 10, 1, false);
      expect(limit.limit).to.equal(21);
    });

    it('answers from sample whether the limit rose: not when it held or fell', () => {
      const limit = new AdaptiveLimit({ algorithm: 'aimd', window: 1, minSamples: 1 });
      expect(limit.sample(10, 10, 20, false)).to.equal(true); // 21
      expect(limit.sample(20, 10, 1, false)).to.equal(false); // under half full: held
      expect(limit.limit).to.equal(21);
      expect(limit.sample(30, 10, 21, true)).to.equal(false); // fell
      expect(limit.limit).to.equal(18);
    });

    it("'aimd' holds at exactly tolerance x the long-run latency", () => {
      const limit = new AdaptiveLimit({ algorithm: 'aimd', window: 900 });
      window(limit, 0, 10);
      expect(window(limit, 1000, 15)).to.equal(22);
    });

    it("'aimd' holds the estimate at min, so the next rise starts from min", () => {
      const limit = new AdaptiveLimit({ algorithm: 'aimd', min: 10, initial: 10, window: 900 });
      expect(window(limit, 0, 10, 10, 1)).to.equal(10);
      expect(window(limit, 1000, 10, 10)).to.equal(11);
    });

    it("'gradient2' takes a window of latency 0 as holding", () => {
      const limit = new AdaptiveLimit({ smoothing: 1, window: 900 });
      expect(window(limit, 0, 0)).to.equal(24);
    });

    it("'gradient2' falls with the share of failures even when latency holds exactly", () => {
      const limit = new AdaptiveLimit({ initial: 100, tolerance: 1, smoothing: 1, window: 900 });
      expect(window(limit, 0, 10, 100, 3)).to.equal(74); // gradient 1, at most 0.7
    });

    it("'gradient2' neither rises nor moves at all in a window under half full that holds", () => {
      const limit = new AdaptiveLimit({ smoothing: 1, window: 900 });
      expect(window(limit, 0, 10, 5)).to.equal(20);
      expect(window(limit, 1000, 10)).to.equal(24);
    });

    it("'gradient2' still falls in a window under half full whose latency grew", () => {
      // A warm-up of one window: the second, slower one is not averaged in.
      const limit = new AdaptiveLimit({ initial: 20, smoothing: 1, window: 900, longWindow: 1 });
      window(limit, 0, 10, 5); // the long-run latency is 10, the limit held
      expect(window(limit, 1000, 60, 5)).to.equal(14); // gradient 0.5: 10 + 4
      expect(limit.baselineMs).to.equal(10);
    });

    it("'gradient2' keeps the estimate at min when it would fall below", () => {
      const limit = new AdaptiveLimit({ min: 10, initial: 10, smoothing: 1, window: 900 });
      window(limit, 0, 10);
      expect(limit.limit).to.equal(13); // 10 + sqrt(10)
      const low = new AdaptiveLimit({ min: 10, initial: 10, smoothing: 1, window: 900 });
      window(low, 0, 10, 10, 5); // gradient 0.5: 5 + 3.16, held to 10
      expect(low.limit).to.equal(10);
      expect(window(low, 1000, 10)).to.equal(13); // from 10, not from 8.16
    });
  });
});

/** A store whose slots another process may hold: it refuses while `full`. */
class RefusingStore implements BulkheadStore {
  full = false;
  held = 0;
  configure(): void {}
  tryAcquire(): false | BulkheadTicket {
    if (this.full) return false;
    this.held++;
    return true;
  }
  acquire(): false | BulkheadTicket {
    return this.tryAcquire();
  }
  release(): void {
    this.held--;
  }
  inUse(): number {
    return this.held;
  }
}

describe('Bulkhead slots under an adaptive limit', () => {
  it('takes slots by hand up to the limit', () => {
    const bulkhead = new Bulkhead({ limit: new AdaptiveLimit({ initial: 2 }) });
    expect([bulkhead.tryAcquire(), bulkhead.tryAcquire(), bulkhead.tryAcquire()]).to.deep.equal([
      true,
      true,
      false,
    ]);
  });

  it('takes no slot the store refuses, by hand or for a waiting caller', async () => {
    const store = new RefusingStore();
    const bulkhead = new Bulkhead({ limit: new AdaptiveLimit({ initial: 2 }), store });
    store.full = true;
    expect(bulkhead.tryAcquire()).to.equal(false);
    const waiting = new Bulkhead({
      limit: new AdaptiveLimit({ initial: 2 }),
      store,
      maxQueue: 1,
      maxWait: 0,
    });
    let error: unknown;
    try {
      await waiting.acquire();
    } catch (e) {
      error = e;
    }
    expect((error as Error).name).to.equal('BulkheadFullError');
    expect(store.held).to.equal(0);
  });
});

/** An in-memory store that counts how often its slots in use are asked for. */
class CountingStore extends RefusingStore {
  reads = 0;
  override inUse(): number {
    this.reads++;
    return super.inUse();
  }
}

describe('Bulkhead slots under an adaptive limit: reads of the store', () => {
  it('asks the store for its slots in use once per acquire and once per end', async () => {
    const store = new CountingStore();
    const limit = new AdaptiveLimit({ initial: 4 });
    const bulkhead = new Bulkhead({ limit, store });
    const samples: number[] = [];
    const sample = limit.sample.bind(limit);
    limit.sample = (now, rtt, inflight, failed) => {
      samples.push(inflight);
      return sample(now, rtt, inflight, failed);
    };
    expect(bulkhead.tryAcquire()).to.equal(true);
    expect(store.reads, 'tryAcquire').to.equal(1);
    store.reads = 0;
    expect(await bulkhead.execute(() => 'ok')).to.equal('ok');
    expect(store.reads, 'one acquire and one end').to.equal(2);
    // The call's sample counts the slot held by hand and its own.
    expect(samples).to.deep.equal([2]);
  });

  it('counts a slot granted at once as one more than the slots in use before it', () => {
    const store = new CountingStore();
    const slots = new AdaptiveSlots(store, new AdaptiveLimit({ initial: 4 }));
    slots.configure({ maxConcurrent: 1000, clock: new ManualClock(5) });
    const first = slots.acquire() as AdaptiveTicket;
    const second = slots.tryAcquire() as AdaptiveTicket;
    expect([first.inflight, second.inflight, first.start]).to.deep.equal([1, 2, 5]);
    expect(store.reads).to.equal(2);
  });

  it('reads the slots in use once a store that answers later grants the slot', async () => {
    const store = new CountingStore();
    let grant!: (ticket: BulkheadTicket) => void;
    store.acquire = () => {
      store.held++;
      return new Promise<BulkheadTicket>((resolve) => (grant = resolve)) as never;
    };
    const slots = new AdaptiveSlots(store, new AdaptiveLimit({ initial: 4 }));
    slots.configure({ maxConcurrent: 1000, clock: new ManualClock() });
    const pending = slots.acquire() as Promise<AdaptiveTicket>;
    store.held += 2; // slots taken elsewhere meanwhile
    grant('lease');
    const ticket = await pending;
    expect(ticket).to.be.instanceOf(AdaptiveTicket);
    expect([ticket.inner, ticket.inflight]).to.deep.equal(['lease', 3]);
  });
});
