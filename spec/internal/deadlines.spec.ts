import { expect } from 'chai';
import type { Clock } from '../../src/internal/clock.js';
import { DeadlineQueue, type DeadlineNode } from '../../src/internal/deadlines.js';
import { ManualClock } from '../support/clock.js';

function node(deadline: number, log: number[]): DeadlineNode {
  return {
    dueAt: deadline,
    prevDeadline: undefined,
    nextDeadline: undefined,
    queued: false,
    expire() {
      log.push(deadline);
    },
  };
}

describe('DeadlineQueue', () => {
  it('expires nodes in order at their deadlines with a single timer', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock);
    const log: number[] = [];
    for (const d of [10, 20, 30]) queue.add(node(d, log), 0);
    expect(clock.pending()).to.equal(1);
    clock.tick(9);
    expect(log).to.deep.equal([]);
    clock.tick(1);
    expect(log).to.deep.equal([10]);
    clock.tick(20);
    expect(log).to.deep.equal([10, 20, 30]);
    expect(clock.pending()).to.equal(0);
    expect(queue.hasTimer).to.equal(false);
  });

  it('never expires a node removed before its deadline', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock);
    const log: number[] = [];
    const a = node(10, log);
    const b = node(20, log);
    const c = node(30, log);
    queue.add(a, 0);
    queue.add(b, 0);
    queue.add(c, 0);
    queue.remove(b);
    queue.remove(a);
    expect(queue.size).to.equal(1);
    clock.tick(100);
    expect(log).to.deep.equal([30]);
    queue.remove(c); // already gone: no effect
    expect(queue.size).to.equal(0);
  });

  it('re-arms for the new head when the timer fires after the head was removed', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock);
    const log: number[] = [];
    const a = node(10, log);
    queue.add(a, 0);
    queue.add(node(50, log), 0);
    queue.remove(a);
    clock.tick(10);
    expect(log).to.deep.equal([]);
    expect(clock.pending()).to.equal(1);
    clock.tick(40);
    expect(log).to.deep.equal([50]);
  });

  it('clears its timer when the queue empties, on a clock whose timers cannot be unref’d', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock);
    const log: number[] = [];
    const a = node(10, log);
    const b = node(20, log);
    queue.add(a, 0);
    queue.add(b, 0);
    queue.remove(a);
    expect(clock.pending(), 'still one waiting').to.equal(1);
    queue.remove(b);
    expect(clock.pending()).to.equal(0);
    expect(queue.hasTimer).to.equal(false);
    // The next node arms a new timer, and expires on time.
    queue.add(node(40, log), 30);
    expect(clock.pending()).to.equal(1);
    clock.tick(40);
    expect(log).to.deep.equal([40]);
  });

  it('clears a host timer when the queue empties and sets a new one for the next node', () => {
    const handles: Array<{ cleared: boolean; ms: number }> = [];
    const clock: Clock = {
      now: () => 0,
      setTimeout(_fn, ms) {
        // Shaped like Node's Timeout: one that could be unref'd or refreshed instead.
        const handle = { cleared: false, ms, ref() {}, unref() {}, refresh() {} };
        handles.push(handle);
        return handle;
      },
      clearTimeout(handle) {
        (handle as { cleared: boolean }).cleared = true;
      },
    };
    const queue = new DeadlineQueue(clock);
    const a = node(100, []);
    queue.add(a, 0);
    expect(handles).to.have.length(1);
    expect(queue.hasTimer).to.equal(true);
    queue.remove(a);
    // An idle queue holds no timer, not even one that no longer keeps the process alive.
    expect(handles[0]?.cleared).to.equal(true);
    expect(queue.hasTimer).to.equal(false);
    queue.add(node(100, []), 0);
    expect(handles).to.have.length(2);
    expect(handles[1]).to.include({ cleared: false, ms: 100 });
    expect(queue.hasTimer).to.equal(true);
  });

  it('keeps its timer through a loop of calls one at a time, and clears it when the turn ends', async () => {
    const handles: Array<{ cleared: boolean }> = [];
    const clock: Clock = {
      now: () => 0,
      setTimeout() {
        const handle = { cleared: false };
        handles.push(handle);
        return handle;
      },
      clearTimeout(handle) {
        (handle as { cleared: boolean }).cleared = true;
      },
    };
    const queue = new DeadlineQueue(clock);
    for (let i = 0; i < 100; i++) {
      const n = node(100, []);
      queue.add(n, 0);
      queue.remove(n);
    }
    // The first emptyings of the turn clear the timer as usual; past them one timer serves the
    // rest of the loop instead of a setTimeout and clearTimeout per call.
    expect(handles.length).to.be.within(2, 10);
    expect(handles.slice(0, -1).every((h) => h.cleared)).to.equal(true);
    expect(queue.hasTimer).to.equal(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(handles.every((h) => h.cleared)).to.equal(true);
    expect(queue.hasTimer).to.equal(false);
    // A new turn starts afresh: its first call's timer is cleared when the call leaves.
    const n = node(100, []);
    queue.add(n, 0);
    queue.remove(n);
    expect(queue.hasTimer).to.equal(false);
  });
});
