// Where a timer belongs to the request that set it (Cloudflare Workers), every pending deadline
// and hedge delay arms a timer of its own, from its own call, so that each request's waits fire
// whatever becomes of the other requests'. `RequestClock` kills a request's timers when it ends.
import { expect } from 'chai';
import { BulkheadFullError, OperationTimeoutError } from '../../src/errors.js';
import { deadlineQueue, type DeadlineNode } from '../../src/internal/deadlines.js';
import { setOwnTimers } from '../../src/internal/timerMode.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import { ManualClock } from '../support/clock.js';
import { settle } from '../support/promises.js';
import { RequestClock } from '../support/requestClock.js';

function node(dueAt: number, log: number[]): DeadlineNode {
  return {
    dueAt,
    prevDeadline: undefined,
    nextDeadline: undefined,
    queued: false,
    expire: () => log.push(dueAt),
  };
}

/** Work that ends after `ms` on `clock`, its timer set by the request running now. */
function work<T>(clock: RequestClock, ms: number, value: T): Promise<T> {
  return new Promise((resolve) => clock.setTimeout(() => resolve(value), ms));
}

describe('own timers (a timer per pending wait, as Cloudflare Workers needs)', () => {
  let was: boolean;
  beforeEach(() => {
    was = setOwnTimers(true);
  });
  afterEach(() => setOwnTimers(was));

  describe('a deadline queue', () => {
    it('arms a timer per node, expires each at its own deadline, and clears a removed one', () => {
      const clock = new ManualClock();
      const queue = deadlineQueue(clock);
      const log: number[] = [];
      const nodes = [10, 20, 30].map((d) => node(d, log));
      for (const n of nodes) queue.add(n, 0);
      expect(clock.pending()).to.equal(3);
      expect(queue.size).to.equal(3);
      queue.remove(nodes[1]!);
      expect(clock.pending()).to.equal(2);
      clock.tick(10);
      expect(log).to.deep.equal([10]);
      clock.tick(20);
      expect(log).to.deep.equal([10, 30]);
      expect(clock.pending()).to.equal(0);
      expect(queue.hasTimer).to.equal(false);
      expect(queue.size).to.equal(0);
    });

    it('holds no timer after a loop of calls settled one after another in one turn', () => {
      const clock = new ManualClock();
      const queue = deadlineQueue(clock);
      for (let i = 0; i < 100; i++) {
        const n = node(100, []);
        queue.add(n, 0);
        queue.remove(n);
      }
      expect(clock.pending()).to.equal(0);
      expect(queue.hasTimer).to.equal(false);
      const log: number[] = [];
      queue.add(node(50, log), 0);
      clock.tick(50);
      expect(log).to.deep.equal([50]);
    });

    it('sets a timer that fired before the deadline again, at least 1 ms ahead', () => {
      let now = 0;
      const timers: Array<{ fn: () => void; ms: number }> = [];
      const queue = deadlineQueue({
        now: () => now,
        setTimeout: (fn, ms) => timers.push({ fn, ms }),
        clearTimeout: () => {},
      });
      const log: number[] = [];
      queue.add(node(10, log), 0);
      now = 9.5;
      timers[0]!.fn();
      expect(log).to.deep.equal([]);
      expect(timers[1]?.ms).to.equal(1);
      now = 10;
      timers[1]!.fn();
      expect(log).to.deep.equal([10]);
    });
  });

  describe('with timers that die with their request', () => {
    it('times out a call whose request started after another one that has ended', async () => {
      const clock = new RequestClock();
      const limiter = new TimeLimiter({ timeout: 300, clock });
      const a = settle(clock.run('a', () => limiter.execute(() => work(clock, 100, 'a'))));
      await clock.advance(30);
      const b = settle(clock.run('b', () => limiter.execute(() => new Promise(() => {}))));
      await clock.advance(70);
      expect(a).to.deep.equal({ status: 'fulfilled', value: 'a' });
      clock.end('a');
      await clock.advance(230);
      expect(b.status).to.equal('rejected');
      expect(b.reason).to.be.instanceOf(OperationTimeoutError);
      expect(clock.now()).to.equal(330);
    });

    it("times out a policy's call alike, and every later one", async () => {
      const clock = new RequestClock();
      const policy = Policy.builder('p').clock(clock).timeout(300).build();
      settle(clock.run('a', () => policy.execute(() => work(clock, 100, 'a'))));
      await clock.advance(30);
      const b = settle(clock.run('b', () => policy.execute(() => new Promise(() => {}))));
      await clock.advance(70);
      clock.end('a');
      await clock.advance(230);
      expect(b.reason).to.be.instanceOf(OperationTimeoutError);
      clock.end('b');
      const c = settle(clock.run('c', () => policy.execute(() => new Promise(() => {}))));
      await clock.advance(300);
      expect(c.reason).to.be.instanceOf(OperationTimeoutError);
    });

    it('starts the hedge of a call whose request started after another one that has ended', async () => {
      const clock = new RequestClock();
      const hedge = new Hedge<string>({ maxHedges: 1, delay: 100, clock });
      const a = settle(clock.run('a', () => hedge.execute(() => work(clock, 30, 'a'))));
      await clock.advance(10);
      const b = settle(
        clock.run('b', () =>
          hedge.execute((_signal, attempt) =>
            attempt === 1 ? work(clock, 1500, 'first') : 'hedge',
          ),
        ),
      );
      await clock.advance(20);
      expect(a).to.deep.equal({ status: 'fulfilled', value: 'a' });
      clock.end('a');
      await clock.advance(80);
      expect(b).to.deep.equal({ status: 'fulfilled', value: 'hedge' });
      expect(clock.now()).to.equal(110);
    });

    it('keeps a timer of its own pending for every caller queued by a bulkhead', async () => {
      const clock = new RequestClock();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10, maxWait: 1000, clock });
      const calls = ['a', 'b', 'c', 'd'].map((r) =>
        settle(clock.run(r, () => bulkhead.execute(() => work(clock, 300, r)))),
      );
      for (const r of ['b', 'c', 'd']) expect(clock.pendingOf(r), r).to.equal(1);
      for (let i = 0; i < 4; i++) {
        await clock.advance(300);
        expect(calls[i]).to.deep.equal({ status: 'fulfilled', value: 'abcd'[i] });
        clock.end('abcd'[i]!);
      }
    });

    it('keeps a request waiting without a limit alive, and serves it', async () => {
      const clock = new RequestClock();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10, clock });
      const a = settle(clock.run('a', () => bulkhead.execute(() => work(clock, 500, 'a'))));
      const b = settle(clock.run('b', () => bulkhead.execute(() => work(clock, 500, 'b'))));
      expect(clock.pendingOf('b')).to.equal(1);
      await clock.advance(500);
      expect(a.status).to.equal('fulfilled');
      clock.end('a');
      await clock.advance(500);
      expect(b).to.deep.equal({ status: 'fulfilled', value: 'b' });
    });

    it("ends a queued caller's wait at its maxWait whatever became of the caller queued before it", async () => {
      const clock = new RequestClock();
      const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10, maxWait: 100, clock });
      settle(clock.run('a', () => bulkhead.execute(() => new Promise(() => {}))));
      settle(clock.run('b', () => bulkhead.execute(() => 'b')));
      await clock.advance(50);
      const c = settle(clock.run('c', () => bulkhead.execute(() => 'c')));
      await clock.advance(10);
      clock.end('b');
      await clock.advance(90);
      expect(c.status).to.equal('rejected');
      expect(c.reason).to.be.instanceOf(BulkheadFullError);
      expect(clock.now()).to.equal(150);
    });

    it('serves each caller waiting for tokens on time whatever became of the one served before', async () => {
      const clock = new RequestClock();
      const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: 1000, clock });
      const calls = ['a', 'b', 'c'].map((r) =>
        settle(clock.run(r, () => limiter.execute(() => r))),
      );
      for (const r of ['b', 'c']) expect(clock.pendingOf(r), r).to.equal(1);
      await clock.advance(0);
      expect(calls[0]?.status).to.equal('fulfilled');
      clock.end('a');
      await clock.advance(100);
      expect(calls[1]).to.deep.equal({ status: 'fulfilled', value: 'b' });
      clock.end('b');
      await clock.advance(100);
      expect(calls[2]).to.deep.equal({ status: 'fulfilled', value: 'c' });
    });

    it("gives a lost trial call's slot to a call waiting in HALF_OPEN whatever became of the one waiting before it", async () => {
      const clock = new RequestClock();
      // recoveryTimeout 10 s: a trial call that has not reported after 10 s is lost.
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: '10s',
        halfOpenWait: '30s',
      });
      await breaker.execute(() => Promise.reject(new Error('boom'))).catch(() => undefined);
      await clock.advance(10_000);
      expect(breaker.state).to.equal('half-open');
      clock.run('trial', () => void breaker.execute(() => new Promise<string>(() => {})));
      await clock.advance(1_000);
      const leaving = new AbortController();
      const a = settle(clock.run('a', () => breaker.execute(() => 'a', leaving.signal)));
      await clock.advance(1_000);
      const b = settle(clock.run('b', () => breaker.execute(() => 'b')));
      // Its wait's timer, and its own for the moment the trial call is taken as lost.
      expect(clock.pendingOf('b')).to.equal(2);
      leaving.abort(new Error('gone'));
      await clock.advance(0);
      expect(a.status).to.equal('rejected');
      clock.end('a');
      await clock.advance(8_000);
      expect(b).to.deep.equal({ status: 'fulfilled', value: 'b' });
      expect(clock.now()).to.equal(20_000);
      expect(clock.pendingOf('b'), 'its timers cleared').to.equal(0);
    });
  });
});
