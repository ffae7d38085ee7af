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

  it('keeps an outcome until the end of its bucket is windowDuration old', () => {
    const w = new TimeWindow(10_000); // 10 buckets of 1s
    w.record(true, false, 0);
    w.expire(10_000); // exactly windowDuration old: still in
    expect(totals(w)).to.deep.equal([1, 1, 0]);
    w.expire(10_999);
    expect(totals(w)).to.deep.equal([1, 1, 0]);
    w.expire(11_000); // its bucket ended at 1s
    expect(totals(w)).to.deep.equal([0, 0, 0]);
  });

  it('keeps an outcome recorded late in a bucket for a full windowDuration', () => {
    // The bucket [0, 1s) began 9.1 s before the failures at 10 s: all ten are of the last 10 s.
    const w = new TimeWindow(10_000);
    for (let i = 0; i < 5; i++) w.record(true, false, 900);
    for (let i = 0; i < 5; i++) w.record(true, false, 10_000);
    expect(totals(w)).to.deep.equal([10, 10, 0]);
    w.expire(10_900);
    expect(totals(w)).to.deep.equal([10, 10, 0]);
    w.expire(11_000);
    expect(totals(w)).to.deep.equal([5, 5, 0]);
  });

  it('drops an outcome recorded mid-bucket at the same boundary as the rest of its bucket', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, 500);
    w.record(false, false, 999);
    w.record(false, true, 1_000);
    w.expire(10_999.5);
    expect(totals(w)).to.deep.equal([3, 1, 1]);
    w.expire(11_000);
    expect(totals(w)).to.deep.equal([1, 0, 1]);
    w.expire(11_999);
    expect(totals(w)).to.deep.equal([1, 0, 1]);
    w.expire(12_000);
    expect(totals(w)).to.deep.equal([0, 0, 0]);
  });

  it('counts each outcome for more than windowDuration and at most one bucket more', () => {
    // [windowDuration, bucket width]: 10 to 60 buckets, one per second where that fits.
    const shapes: Array<[number, number]> = [
      [1_000, 100],
      [10_000, 1_000],
      [60_000, 1_000],
      [90_000, 1_500],
      [3_600_000, 60_000],
    ];
    for (const [duration, width] of shapes) {
      for (const offset of [0, 1, width / 2, width - 1]) {
        const t = 7 * width + offset;
        const what = `${duration} ms window, recorded at ${t}`;
        const w = new TimeWindow(duration);
        w.record(true, true, t);
        w.expire(t + duration);
        expect(w.calls, `${what}: windowDuration later`).to.equal(1);
        const leaves = 8 * width + duration; // the end of its bucket, windowDuration on
        expect(leaves - t, what)
          .to.be.above(duration)
          .and.at.most(duration + width);
        w.expire(leaves - 1);
        expect(w.calls, `${what}: at ${leaves - 1}`).to.equal(1);
        w.expire(leaves);
        expect(totals(w), `${what}: at ${leaves}`).to.deep.equal([0, 0, 0]);
      }
    }
  });

  it('slides bucket by bucket', () => {
    const w = new TimeWindow(10_000);
    for (let s = 0; s < 10; s++) w.record(s % 2 === 0, false, s * 1_000);
    expect(totals(w)).to.deep.equal([10, 5, 0]);
    for (let s = 10; s <= 20; s++) {
      w.expire(s * 1_000);
      expect(w.calls, `at ${s}s`).to.equal(Math.min(10, 20 - s));
    }
  });

  it('records into a new bucket after expiring the old content of its slot', () => {
    const w = new TimeWindow(10_000);
    w.record(true, true, 3_000);
    w.record(false, false, 14_000); // eleven buckets later: the same ring slot
    expect(totals(w)).to.deep.equal([1, 0, 0]);
    w.record(true, false, 15_000); // and the slot after, whose bucket is empty
    expect(totals(w)).to.deep.equal([2, 1, 0]);
  });

  it('empties completely after a long idle time', () => {
    const w = new TimeWindow(10_000);
    for (let t = 0; t < 10_000; t += 700) w.record(true, true, t);
    w.expire(1e9);
    expect(totals(w)).to.deep.equal([0, 0, 0]);
    w.record(false, true, 1e9 + 1);
    expect(totals(w)).to.deep.equal([1, 0, 1]);
  });

  it('empties completely once the newest bucket has left, and not a bucket before', () => {
    const w = new TimeWindow(10_000);
    for (let t = 0; t < 10_000; t += 700) w.record(true, true, t);
    w.expire(19_999); // the bucket [9 s, 10 s), with 9.1 s and 9.8 s, has a millisecond left
    expect(w.calls).to.equal(2);
    w.expire(20_000);
    expect(totals(w)).to.deep.equal([0, 0, 0]);
  });

  it('uses narrower buckets for short windows', () => {
    const w = new TimeWindow(2_000); // 10 buckets of 200ms
    w.record(true, false, 0);
    w.record(true, false, 150);
    w.record(true, false, 200);
    w.expire(2_199);
    expect(w.calls).to.equal(3);
    w.expire(2_200);
    expect(w.calls).to.equal(1);
    w.expire(2_400);
    expect(w.calls).to.equal(0);
  });

  it('treats a clock that steps back as standing still', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, 5_000);
    w.record(false, false, 4_000);
    expect(totals(w)).to.deep.equal([2, 1, 0]);
    w.expire(15_999);
    expect(w.calls).to.equal(2);
    w.expire(16_000);
    expect(w.calls).to.equal(0);
  });

  it('works with clock values that are not at zero, including negative ones', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, -2_500);
    w.record(true, false, 1e6);
    expect(w.calls).to.equal(1);
    const v = new TimeWindow(10_000);
    v.record(true, false, -2_500); // the bucket [-3 s, -2 s)
    v.expire(7_999);
    expect(v.calls).to.equal(1);
    v.expire(8_000);
    expect(v.calls).to.equal(0);
  });

  it('lists the buckets that hold outcomes, oldest first, aged from their start', () => {
    const w = new TimeWindow(10_000);
    w.record(true, false, 500);
    w.record(false, true, 2_000);
    w.record(false, false, 10_200);
    expect(w.contents(10_999)).to.deep.equal([
      [10_999, 1, 1, 0],
      [8_999, 1, 0, 1],
      [999, 1, 0, 0],
    ]);
    expect(w.contents(11_000)).to.deep.equal([
      [9_000, 1, 0, 1],
      [1_000, 1, 0, 0],
    ]);
  });

  describe('restore', () => {
    it('puts a saved bucket into the same bucket when the buckets line up', () => {
      const w = new TimeWindow(10_000);
      // Starts of buckets that went through a subtraction or two on their way.
      w.restore(2, 1, 0, 1_000_000 + 3_000 - 1e-7, 1_009_500);
      w.restore(1, 0, 1, 1_000_000 + 9_000 + 1e-7, 1_009_500);
      expect(w.contents(1_009_500)).to.deep.equal([
        [6_500, 2, 1, 0],
        [500, 1, 0, 1],
      ]);
      w.expire(1_014_000 - 1);
      expect(w.calls).to.equal(3);
      w.expire(1_014_000);
      expect(totals(w)).to.deep.equal([1, 0, 1]);
    });

    it('puts a saved bucket that straddles two into the later one, but none past now', () => {
      const w = new TimeWindow(10_000);
      // Saved buckets that began at 2.4 s and at 9.4 s, on a clock now at 9.9 s.
      w.restore(2, 2, 0, 2_400, 9_900);
      w.restore(1, 0, 0, 9_400, 9_900);
      // The first ended at 3.4 s: it stays until the bucket [3 s, 4 s) ends 10 s on.
      expect(w.contents(9_900)).to.deep.equal([
        [6_900, 2, 2, 0],
        [900, 1, 0, 0],
      ]);
      w.expire(13_999);
      expect(w.calls).to.equal(3);
      w.expire(14_000);
      expect(totals(w)).to.deep.equal([1, 0, 0]);
    });
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
