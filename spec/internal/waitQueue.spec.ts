// The FIFO lines of waiting callers: the rate limiter's (WaitQueue, due times kept as gaps so a
// leaving caller moves those behind it up) and the bulkhead's, whose callers each have a deadline
// of their own (SlotQueue). One timer for the first due, callers leaving from anywhere.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { WaitQueue, type Waiter } from '../../src/internal/waitQueue.js';
import { SlotQueue } from '../../src/internal/slotQueue.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf, settle } from '../support/promises.js';

/** A queue whose due callers are answered with their `n`, logging `n@time`. */
function queue(clock: ManualClock, onAbort: (waiter: Waiter<number>) => number = () => 0) {
  const served: string[] = [];
  const aborted: number[] = [];
  const q = new WaitQueue<number>(
    clock,
    (waiter) => {
      served.push(`${waiter.n}@${clock.now()}`);
      waiter.resolve(waiter.n);
    },
    (waiter) => {
      aborted.push(waiter.n);
      return onAbort(waiter);
    },
  );
  return { q, served, aborted };
}

/** A queue with deadlines whose due callers are answered with their `n`, logging `n@time`. */
function slotQueue(clock: ManualClock) {
  const served: string[] = [];
  const q = new SlotQueue<number>(clock, (waiter, now) => {
    served.push(`${waiter.n}@${now}`);
    waiter.resolve(waiter.n);
  });
  return { q, served };
}

/** Takes everyone out of `q` in arrival order, as their `n`. */
function drain(q: WaitQueue<number> | SlotQueue<number>): number[] {
  const order: number[] = [];
  for (let waiter; (waiter = q.shift());) order.push(waiter.n);
  return order;
}

describe('WaitQueue', () => {
  it('serves callers in order, each when it falls due, with one timer at a time', async () => {
    const clock = new ManualClock();
    const { q, served } = queue(clock);
    const first = settle(q.push(1, 10, undefined));
    void q.push(2, 30, undefined);
    expect(q.size).to.equal(2);
    expect(clock.pending(), 'one timer for the head').to.equal(1);
    await clock.advance(9);
    expect(served).to.deep.equal([]);
    await clock.advance(1);
    expect(served).to.deep.equal(['1@10']);
    expect(first).to.deep.include({ status: 'fulfilled', value: 1 });
    expect(clock.pending()).to.equal(1);
    await clock.advance(20);
    expect(served).to.deep.equal(['1@10', '2@30']);
    expect(q.size).to.equal(0);
    expect(clock.pending(), 'an empty queue holds no timer').to.equal(0);
  });

  it('keeps a later caller that falls due sooner behind the one ahead of it', async () => {
    const clock = new ManualClock();
    const { q, served } = queue(clock);
    void q.push(1, 50, undefined);
    void q.push(2, 10, undefined);
    await clock.advance(49);
    expect(served).to.deep.equal([]);
    await clock.advance(1);
    expect(served).to.deep.equal(['1@50', '2@50']);
  });

  it('rounds a fractional wait up, so the timer never fires before the head is due', () => {
    const clock = new ManualClock();
    const { q } = queue(clock);
    void q.push(1, 2.1, undefined);
    expect(clock.delays).to.deep.equal([3]);
  });

  it('sets no timer for a caller that waits forever, and hands it out through shift', () => {
    const clock = new ManualClock();
    const { q } = queue(clock);
    void q.push(7, Infinity, undefined);
    expect(clock.pending()).to.equal(0);
    const head = q.shift();
    expect(head?.n).to.equal(7);
    expect(q.size).to.equal(0);
    expect(q.shift()).to.equal(undefined);
  });

  it('shift takes the head, and clears the timer when the line empties', async () => {
    const clock = new ManualClock();
    const { q, served } = queue(clock);
    void q.push(1, 10, undefined);
    void q.push(2, 20, undefined);
    expect(q.shift()?.n).to.equal(1);
    expect(q.size).to.equal(1);
    expect(q.shift()?.n).to.equal(2);
    expect(clock.pending()).to.equal(0);
    await clock.advance(100);
    expect(served, 'a shifted caller is not served again').to.deep.equal([]);
  });

  it('rejects an aborting caller with its reason, removing its listener, and serves the rest as before', async () => {
    const clock = new ManualClock();
    const { q, served, aborted } = queue(clock);
    const controller = new AbortController();
    void q.push(1, 10, undefined);
    const second = q.push(2, 30, controller.signal);
    void q.push(3, 50, undefined);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    const reason = new Error('gone');
    controller.abort(reason);
    expect(await rejectionOf(second)).to.equal(reason);
    expect(aborted).to.deep.equal([2]);
    expect(q.size).to.equal(2);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    await clock.advance(50);
    expect(served).to.deep.equal(['1@10', '3@50']);
  });

  it('moves those behind a leaving caller up by what onAbort returns, never before the one ahead', async () => {
    const clock = new ManualClock();
    const shifts = new Map([
      [1, 5],
      [2, 15],
      [3, 100],
    ]);
    const { q, served } = queue(clock, (waiter) => shifts.get(waiter.n) ?? 0);
    const [c1, c2, c3] = [new AbortController(), new AbortController(), new AbortController()];
    void q.push(1, 10, c1.signal).catch(() => {});
    void q.push(2, 30, c2.signal).catch(() => {});
    void q.push(3, 50, c3.signal).catch(() => {});
    void q.push(4, 70, undefined);
    void q.push(5, 90, undefined);
    c2.abort();
    // 3 was due at 50: 15 sooner is 35. 4 and 5 move up too: 55 and 75.
    c3.abort();
    // 4 was due at 55: 100 sooner would be before 1, so it falls due with 1, at 10; 5 at 30.
    c1.abort();
    // The head leaves and gives 5 back: 4 at 5, 5 at 25.
    await clock.advance(4);
    expect(served).to.deep.equal([]);
    await clock.advance(1);
    expect(served).to.deep.equal(['4@5']);
    await clock.advance(20);
    expect(served).to.deep.equal(['4@5', '5@25']);
  });

  it("keeps a caller that falls due sooner than the one ahead at that one's due time when it leaves", async () => {
    const clock = new ManualClock();
    const { q, served } = queue(clock, () => 1);
    const controller = new AbortController();
    void q.push(1, 50, controller.signal).catch(() => {});
    void q.push(2, 10, undefined);
    controller.abort();
    await clock.advance(48);
    expect(served).to.deep.equal([]);
    await clock.advance(1);
    expect(served).to.deep.equal(['2@49']);
  });

  it('re-arms for the sooner due time when an aborting head moves the next caller up', async () => {
    const clock = new ManualClock();
    const { q, served } = queue(clock, () => 40);
    const controller = new AbortController();
    void q.push(1, 40, controller.signal).catch(() => {});
    void q.push(2, 60, undefined);
    await clock.advance(5);
    controller.abort();
    await clock.advance(0);
    // 2 was due at 60; 40 sooner is 20.
    expect(served).to.deep.equal([]);
    await clock.advance(15);
    expect(served).to.deep.equal(['2@20']);
    expect(clock.pending()).to.equal(0);
  });

  it('re-arms for the next caller when the head leaves without moving anyone up', async () => {
    const clock = new ManualClock();
    const { q, served } = queue(clock);
    const controller = new AbortController();
    void q.push(1, 10, controller.signal).catch(() => {});
    void q.push(2, 30, undefined);
    controller.abort();
    await clock.advance(29);
    expect(served).to.deep.equal([]);
    await clock.advance(1);
    expect(served).to.deep.equal(['2@30']);
  });

  describe('SlotQueue: with deadlines of their own, and callers moved in from another queue', () => {
    it('moves callers into an empty queue, each due at its own time, and places later ones by theirs', async () => {
      const clock = new ManualClock();
      const from = slotQueue(clock);
      const to = slotQueue(clock);
      void from.q.push(1, 500, undefined);
      void from.q.push(2, 900, undefined);
      await clock.advance(100);
      from.q.transferTo(to.q, () => {});
      expect([from.q.size, to.q.size]).to.deep.equal([0, 2]);
      expect(from.q.shift()).to.equal(undefined);
      // 1 and 2 keep 500 and 900; 3 and 4, queued now, fall due before 2, 4 before both.
      void to.q.push(3, 600, undefined);
      void to.q.push(4, 100, undefined);
      await clock.advance(1_000);
      expect(from.served).to.deep.equal([]);
      expect(to.served).to.deep.equal(['4@200', '1@500', '3@700', '2@900']);
      expect(clock.pending(), 'one timer at a time, none once empty').to.equal(0);
    });

    it('keeps arrival order for shift whatever the due order, and re-arms for each new first due', async () => {
      const clock = new ManualClock();
      const from = slotQueue(clock);
      const to = slotQueue(clock);
      void from.q.push(1, 10_000, undefined);
      void from.q.push(2, 10_000, undefined);
      from.q.transferTo(to.q, () => {});
      void to.q.push(3, 1_000, undefined);
      void to.q.push(4, 2_000, undefined);
      expect(clock.pending()).to.equal(1);
      await clock.advance(1_000);
      expect(to.served).to.deep.equal(['3@1000']);
      expect(drain(to.q)).to.deep.equal([1, 2, 4]);
      expect(clock.pending()).to.equal(0);
    });

    it('lets `bring` see each caller moved, in arrival order, and points its abort at the new queue', async () => {
      const clock = new ManualClock();
      const from = slotQueue(clock);
      const to = slotQueue(clock);
      const controller = new AbortController();
      void from.q.push(1, 50, undefined);
      const leaving = from.q.push(2, 30, controller.signal);
      const seen: number[] = [];
      from.q.transferTo(to.q, (waiter) => seen.push(waiter.n));
      expect(seen).to.deep.equal([1, 2]);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
      controller.abort(new Error('gone'));
      expect(await rejectionOf(leaving)).to.have.property('message', 'gone');
      expect(to.q.size).to.equal(1);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
      await clock.advance(50);
      expect(to.served).to.deep.equal(['1@50']);
    });

    it('mixes callers that wait forever with ones that do not', async () => {
      const clock = new ManualClock();
      const from = slotQueue(clock);
      const to = slotQueue(clock);
      void from.q.push(1, Infinity, undefined);
      void from.q.push(2, 300, undefined);
      from.q.transferTo(to.q, () => {});
      void to.q.push(3, 100, undefined);
      void to.q.push(4, 200, undefined);
      // 1, due never and last, leaves: 2's 300 is the last due time, and 5 goes after it.
      expect(to.q.shift()?.n).to.equal(1);
      void to.q.push(5, 400, undefined);
      void to.q.push(6, Infinity, undefined);
      await clock.advance(1_000);
      expect(to.served).to.deep.equal(['3@100', '4@200', '2@300', '5@400']);
      expect(drain(to.q)).to.deep.equal([6]);
      expect(clock.pending()).to.equal(0);
    });

    it('keeps everyone at their own due time when a caller leaves, first or not', async () => {
      const clock = new ManualClock();
      const { q, served } = slotQueue(clock);
      const [c1, c3] = [new AbortController(), new AbortController()];
      void q.push(1, 10, c1.signal).catch(() => {});
      void q.push(2, 30, undefined);
      void q.push(3, 40, c3.signal).catch(() => {});
      void q.push(4, 40, undefined);
      c3.abort();
      c1.abort();
      await clock.advance(29);
      expect(served).to.deep.equal([]);
      await clock.advance(11);
      expect(served).to.deep.equal(['2@30', '4@40']);
      expect(clock.pending()).to.equal(0);
    });

    it('answers at once a caller moved in past its due time', async () => {
      // The queue moved into reads a clock 50 ms ahead.
      const from = slotQueue(new ManualClock());
      const to = slotQueue(new ManualClock(50));
      void from.q.push(1, 10, undefined);
      from.q.transferTo(to.q, () => {});
      expect(to.served).to.deep.equal(['1@50']);
    });
  });
});
