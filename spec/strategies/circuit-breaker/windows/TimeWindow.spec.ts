import { expect } from 'chai';
import { bucketsFor } from '../../../../src/strategies/circuit-breaker/admissions.js';
import { TimeWindow } from '../../../../src/strategies/circuit-breaker/windows/TimeWindow.js';

function totals(w: TimeWindow): [number, number, number] {
  return [w.calls, w.failures, w.slowCalls];
}

describe('TimeWindow', () => {
  it('uses one bucket per second, between 10 and 60 buckets', () => {
    expect(bucketsFor(60_000)).to.equal(60);
    expect(bucketsFor(30_000)).to.equal(30);
    expect(bucketsFor(10_000)).to.equal(10);
    expect(bucketsFor(2_000)).to.equal(10);
    expect(bucketsFor(500)).to.equal(10);
    expect(bucketsFor(300_000)).to.equal(60);
    expect(new TimeWindow(60_000).buckets).to.equal(60);
  });

  it('counts outcomes, failures and slow calls recorded within the window', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, 0);
    w.record(false, true, 2_500);
    w.record(true, true, 9_000);
    expect(totals(w)).to.deep.equal([3, 2, 2]);
  });

  it('keeps an outcome until just before the bucket windowDuration after its own begins', () => {
    const w = new TimeWindow(10_000); // 10 buckets of 1s
    w.record(true, false, 0);
    w.expire(9_999);
    expect(totals(w)).to.deep.equal([1, 1, 0]);
    w.expire(10_000);
    expect(totals(w)).to.deep.equal([0, 0, 0]);
  });

  it('drops an outcome recorded mid-bucket at the same boundary as the rest of its bucket', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, 500);
    w.record(false, false, 999);
    w.record(false, true, 1_000);
    w.expire(9_999.5);
    expect(totals(w)).to.deep.equal([3, 1, 1]);
    w.expire(10_000);
    expect(totals(w)).to.deep.equal([1, 0, 1]);
    w.expire(10_999);
    expect(totals(w)).to.deep.equal([1, 0, 1]);
    w.expire(11_000);
    expect(totals(w)).to.deep.equal([0, 0, 0]);
  });

  it('slides bucket by bucket', () => {
    const w = new TimeWindow(10_000);
    for (let s = 0; s < 10; s++) w.record(s % 2 === 0, false, s * 1_000);
    expect(totals(w)).to.deep.equal([10, 5, 0]);
    for (let s = 10; s < 20; s++) {
      w.expire(s * 1_000);
      expect(w.calls, `at ${s}s`).to.equal(19 - s);
    }
  });

  it('records into a new bucket after expiring the old content of its slot', () => {
    const w = new TimeWindow(10_000);
    w.record(true, true, 3_000);
    w.record(false, false, 13_000); // same slot, ten buckets later
    expect(totals(w)).to.deep.equal([1, 0, 0]);
  });

  it('empties completely after a long idle time', () => {
    const w = new TimeWindow(10_000);
    for (let t = 0; t < 10_000; t += 700) w.record(true, true, t);
    w.expire(1e9);
    expect(totals(w)).to.deep.equal([0, 0, 0]);
    w.record(false, true, 1e9 + 1);
    expect(totals(w)).to.deep.equal([1, 0, 1]);
  });

  it('uses narrower buckets for short windows', () => {
    const w = new TimeWindow(2_000); // 10 buckets of 200ms
    w.record(true, false, 0);
    w.record(true, false, 150);
    w.record(true, false, 200);
    w.expire(1_999);
    expect(w.calls).to.equal(3);
    w.expire(2_000);
    expect(w.calls).to.equal(1);
    w.expire(2_200);
    expect(w.calls).to.equal(0);
  });

  it('treats a clock that steps back as standing still', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, 5_000);
    w.record(false, false, 4_000);
    expect(totals(w)).to.deep.equal([2, 1, 0]);
    w.expire(14_999);
    expect(w.calls).to.equal(2);
    w.expire(15_000);
    expect(w.calls).to.equal(0);
  });

  it('works with clock values that are not at zero, including negative ones', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, -2_500);
    w.record(true, false, 1e6);
    expect(w.calls).to.equal(1);
    const v = new TimeWindow(10_000);
    v.record(true, false, -2_500);
    v.expire(6_999);
    expect(v.calls).to.equal(1);
    v.expire(7_000);
    expect(v.calls).to.equal(0);
  });

  it('forgets everything on clear', () => {
    const w = new TimeWindow(10_000);
    w.record(true, true, 0);
    w.record(true, true, 1_000);
    w.clear();
    expect(totals(w)).to.deep.equal([0, 0, 0]);
    w.record(false, false, 1_500);
    expect(totals(w)).to.deep.equal([1, 0, 0]);
  });
});
