import { expect } from 'chai';
import type { Clock } from '../../src/internal/clock.js';
import { DeadlineQueue, type DeadlineNode } from '../../src/internal/deadlines.js';

/** A hand-made clock whose timers run only when `advance` passes them. */
function manualClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock & { advance(ms: number): void; pending(): number } = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (!next || entry[1].at < next[1].at) next = entry;
        if (!next || next[1].at > end) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    pending: () => timers.size,
  };
  return clock;
}

function node(deadline: number, log: number[]): DeadlineNode {
  return {
    deadline,
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
    const clock = manualClock();
    const queue = new DeadlineQueue(clock);
    const log: number[] = [];
    for (const d of [10, 20, 30]) queue.add(node(d, log), 0);
    expect(clock.pending()).to.equal(1);
    clock.advance(9);
    expect(log).to.deep.equal([]);
    clock.advance(1);
    expect(log).to.deep.equal([10]);
    clock.advance(20);
    expect(log).to.deep.equal([10, 20, 30]);
    expect(clock.pending()).to.equal(0);
    expect(queue.hasTimer).to.equal(false);
  });

  it('never expires a node removed before its deadline', () => {
    const clock = manualClock();
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
    clock.advance(100);
    expect(log).to.deep.equal([30]);
    queue.remove(c); // already gone: no effect
    expect(queue.size).to.equal(0);
  });

  it('re-arms for the new head when the timer fires after the head was removed', () => {
    const clock = manualClock();
    const queue = new DeadlineQueue(clock);
    const log: number[] = [];
    const a = node(10, log);
    queue.add(a, 0);
    queue.add(node(50, log), 0);
    queue.remove(a);
    clock.advance(10);
    expect(log).to.deep.equal([]);
    expect(clock.pending()).to.equal(1);
    clock.advance(40);
    expect(log).to.deep.equal([50]);
  });

  it('clears its timer when the queue empties, on a clock whose timers cannot be unref’d', () => {
    const clock = manualClock();
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
    clock.advance(40);
    expect(log).to.deep.equal([40]);
  });

  it('stops its host timer keeping the process alive when the queue empties, and resumes for a new node', () => {
    const handles: Array<{ refed: boolean; cleared: boolean; ms: number }> = [];
    const clock: Clock = {
      now: () => 0,
      setTimeout(_fn, ms) {
        const handle = {
          refed: true,
          cleared: false,
          ms,
          ref() {
            handle.refed = true;
          },
          unref() {
            handle.refed = false;
          },
        };
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
    expect(handles[0]?.refed).to.equal(true);
    expect(queue.hasTimer).to.equal(true);
    queue.remove(a);
    // Sequential calls cost no new timer: the one pending only stops counting.
    expect(handles[0]?.refed).to.equal(false);
    expect(queue.hasTimer).to.equal(false);
    queue.add(node(100, []), 0);
    expect(handles).to.have.length(1);
    expect(handles[0]?.refed).to.equal(true);
    expect(queue.hasTimer).to.equal(true);
  });
});
