// A hot deadline queue (one that keeps its timer through a loop of calls made one at a time) takes
// nodes without their start and reads one start for them later: never earlier than the calls
// began, so no deadline passes early.
import { expect } from 'chai';
import { OperationTimeoutError } from '../../src/errors.js';
import { DeadlineQueue, type DeadlineNode } from '../../src/internal/deadlines.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { ManualClock } from '../support/clock.js';
import { settle } from '../support/promises.js';

const SPAN = 100;

function node(dueAt: number, log: DeadlineNode[]): DeadlineNode {
  const n: DeadlineNode = {
    dueAt,
    prevDeadline: undefined,
    nextDeadline: undefined,
    queued: false,
    expire() {
      log.push(n);
    },
  };
  return n;
}

/** Adds and removes nodes with their start until the queue keeps its timer for the turn. */
function heat(queue: DeadlineQueue, now: number): void {
  for (let i = 0; i < 20; i++) {
    const n = node(now + SPAN, []);
    queue.add(n, now);
    queue.remove(n);
  }
}

const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('DeadlineQueue: nodes added without their start', () => {
  it('is hot only once it keeps its timer through the turn', async () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, SPAN);
    expect(queue.hot).to.equal(false);
    const first = node(SPAN, []);
    queue.add(first, 0);
    queue.remove(first);
    expect(queue.hot, 'one emptying clears the timer').to.equal(false);
    heat(queue, 0);
    expect(queue.hot).to.equal(true);
    await endOfTurn();
    expect(queue.hot, 'a new turn starts cold').to.equal(false);
  });

  it('reads their start when the turn ends, with one reading for all of them', async () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, SPAN);
    heat(queue, 0);
    clock.tick(7);
    const a = node(NaN, []);
    const b = node(NaN, []);
    queue.add(a, NaN);
    queue.add(b, NaN);
    const reads = clock.reads;
    expect(a.dueAt).to.be.NaN;
    await endOfTurn();
    expect(clock.reads - reads).to.equal(1);
    expect([a.dueAt, b.dueAt]).to.deep.equal([7 + SPAN, 7 + SPAN]);
  });

  it('expires them a span after that reading, never before', async () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, SPAN);
    const log: DeadlineNode[] = [];
    heat(queue, 0);
    clock.tick(7);
    const a = node(NaN, log);
    queue.add(a, NaN);
    await endOfTurn();
    clock.tick(SPAN - 1);
    expect(log).to.deep.equal([]);
    clock.tick(1);
    expect(log).to.deep.equal([a]);
    expect(queue.size).to.equal(0);
  });

  it('reads their start when the timer fires before the turn ends, and keeps them for a span', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, SPAN);
    const log: DeadlineNode[] = [];
    heat(queue, 0);
    clock.tick(SPAN - 10);
    const a = node(NaN, log);
    queue.add(a, NaN);
    clock.tick(10);
    expect(a.dueAt).to.equal(2 * SPAN);
    expect(log).to.deep.equal([]);
    clock.tick(SPAN - 1);
    expect(log).to.deep.equal([]);
    clock.tick(1);
    expect(log).to.deep.equal([a]);
  });

  it('gives them the start of a node added after them with its own, keeping the order', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, SPAN);
    const log: DeadlineNode[] = [];
    heat(queue, 0);
    const a = node(NaN, log);
    queue.add(a, NaN);
    clock.tick(3);
    const b = node(3 + SPAN, log);
    queue.add(b, 3);
    expect(a.dueAt).to.equal(3 + SPAN);
    const c = node(NaN, log);
    queue.add(c, NaN);
    expect(c.dueAt, 'a node after the reading waits for the next one').to.be.NaN;
    clock.tick(2);
    queue.readStarts();
    expect(c.dueAt).to.equal(5 + SPAN);
    clock.tick(SPAN - 3);
    expect(log).to.deep.equal([]);
    clock.tick(1);
    expect(log).to.deep.equal([a, b]);
    clock.tick(2);
    expect(log).to.deep.equal([a, b, c]);
  });

  it('leaves out a node removed before the reading, and reads for the ones after it', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock, SPAN);
    heat(queue, 0);
    const a = node(NaN, []);
    const b = node(NaN, []);
    queue.add(a, NaN);
    queue.add(b, NaN);
    queue.remove(a);
    clock.tick(5);
    queue.readStarts();
    expect(a.dueAt).to.be.NaN;
    expect(b.dueAt).to.equal(5 + SPAN);
  });
});

describe('A timeout stage in a hot queue', () => {
  /** Calls made one at a time, settled within the turn: the limiter's queue turns hot. */
  async function heatPolicy(policy: Policy<unknown>): Promise<void> {
    for (let i = 0; i < 20; i++) await policy.execute(async () => 1);
  }

  it('times a call that never settles out a full timeout after the turn it started in', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder().clock(clock).timeout({ timeout: 1000, clock }).build();
    await heatPolicy(policy);
    clock.tick(7);
    const reads = clock.reads;
    const call = settle(policy.execute(() => new Promise(() => {})));
    expect(clock.reads, 'no clock read for the call itself').to.equal(reads);
    await endOfTurn();
    await clock.advance(999);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
    expect(call.reason).to.be.instanceOf(OperationTimeoutError);
  });

  it('answers ctx.deadline and ctx.remaining from a start read when first asked', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder().clock(clock).timeout({ timeout: 1000, clock }).build();
    await heatPolicy(policy);
    clock.tick(7);
    let kept: ExecutionContext | undefined;
    const seen: number[] = [];
    const reads = clock.reads;
    // `arguments`, not a parameter: the policy does not read the start for it at `execute`.
    const call = policy.execute(function () {
      // eslint-disable-next-line prefer-rest-params -- reaching the context without declaring it
      const ctx = arguments[0] as ExecutionContext;
      kept = ctx;
      expect(clock.reads, 'not read before it is asked for').to.equal(reads);
      clock.tick(2);
      seen.push(ctx.deadline, ctx.remaining);
      return Promise.resolve(1);
    });
    await call;
    expect(seen).to.deep.equal([1009, 1000]);
    clock.tick(5);
    expect(kept?.deadline, 'the reading is kept').to.equal(1009);
  });

  it('keeps the start it read for a call still running when the turn ends', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder().clock(clock).timeout({ timeout: 1000, clock }).build();
    await heatPolicy(policy);
    clock.tick(7);
    let kept: ExecutionContext | undefined;
    const call = settle(
      // `arguments`, not a parameter: the policy does not read the start for it at `execute`.
      policy.execute(function () {
        // eslint-disable-next-line prefer-rest-params -- reaching the context without declaring it
        kept = arguments[0] as ExecutionContext;
        clock.tick(2);
        expect(kept.deadline).to.equal(1009);
        return new Promise(() => {});
      }),
    );
    clock.tick(3);
    await endOfTurn();
    expect(kept?.deadline, 'not read again at the end of the turn').to.equal(1009);
    await clock.advance(996);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
  });

  it('times a call whose thunk takes the context from the start read at `execute`', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder().clock(clock).timeout({ timeout: 1000, clock }).build();
    await heatPolicy(policy);
    clock.tick(7);
    const seen: number[] = [];
    const call = settle(
      policy.execute((ctx: ExecutionContext) => {
        clock.tick(2);
        seen.push(ctx.startedAt, ctx.deadline);
        return new Promise(() => {});
      }),
    );
    clock.tick(3);
    await endOfTurn();
    expect(seen).to.deep.equal([7, 1007]);
    await clock.advance(994);
    expect(call.status).to.equal('pending');
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
  });

  it('answers a deadline asked for only after the call settled from the time it is asked', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder().clock(clock).timeout({ timeout: 1000, clock }).build();
    await heatPolicy(policy);
    let kept: ExecutionContext | undefined;
    // `arguments`, not a parameter: the policy does not read the start for it at `execute`.
    await policy.execute(function () {
      // eslint-disable-next-line prefer-rest-params -- reaching the context without declaring it
      kept = arguments[0] as ExecutionContext;
      return Promise.resolve(1);
    });
    clock.tick(5);
    expect(kept?.deadline).to.equal(1005);
    expect(kept?.remaining).to.equal(1000);
  });
});
