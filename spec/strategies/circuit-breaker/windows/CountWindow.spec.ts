import { expect } from 'chai';
import { CountWindow } from '../../../../src/strategies/circuit-breaker/windows/CountWindow.js';

function totals(w: CountWindow): [number, number, number] {
  return [w.calls, w.failures, w.slowCalls];
}

describe('CountWindow', () => {
  it('starts empty', () => {
    expect(totals(new CountWindow(3))).to.deep.equal([0, 0, 0]);
  });

  it('counts outcomes, failures and slow calls until it is full', () => {
    const w = new CountWindow(4);
    w.record(true, false);
    w.record(false, true);
    w.record(true, true);
    expect(totals(w)).to.deep.equal([3, 2, 2]);
  });

  it('pushes the oldest outcome out once full, keeping the totals exact', () => {
    const w = new CountWindow(3);
    w.record(true, true); // evicted by the 4th
    w.record(false, false); // evicted by the 5th
    w.record(true, false);
    expect(totals(w)).to.deep.equal([3, 2, 1]);
    w.record(false, false);
    expect(totals(w)).to.deep.equal([3, 1, 0]);
    w.record(false, true);
    expect(totals(w)).to.deep.equal([3, 1, 1]);
    w.record(false, false); // evicts the failure recorded third
    expect(totals(w)).to.deep.equal([3, 0, 1]);
  });

  it('keeps exact totals over many laps of the ring', () => {
    const w = new CountWindow(5);
    const recent: Array<[boolean, boolean]> = [];
    for (let i = 0; i < 103; i++) {
      const entry: [boolean, boolean] = [i % 3 === 0, i % 4 === 0];
      w.record(entry[0], entry[1]);
      recent.push(entry);
      if (recent.length > 5) recent.shift();
      const failures = recent.filter(([f]) => f).length;
      const slow = recent.filter(([, s]) => s).length;
      expect(totals(w), `after ${i + 1}`).to.deep.equal([recent.length, failures, slow]);
    }
  });

  it('works with a window of one', () => {
    const w = new CountWindow(1);
    w.record(true, true);
    expect(totals(w)).to.deep.equal([1, 1, 1]);
    w.record(false, false);
    expect(totals(w)).to.deep.equal([1, 0, 0]);
  });

  it('forgets everything on clear and then fills again from empty', () => {
    const w = new CountWindow(2);
    w.record(true, true);
    w.record(true, true);
    w.clear();
    expect(totals(w)).to.deep.equal([0, 0, 0]);
    w.record(false, false);
    expect(totals(w)).to.deep.equal([1, 0, 0]);
    w.record(true, false);
    w.record(false, false);
    expect(totals(w)).to.deep.equal([2, 1, 0]);
  });

  it('ignores time: expire changes nothing', () => {
    const w = new CountWindow(2);
    w.record(true, false, 0);
    w.expire(1e12);
    expect(totals(w)).to.deep.equal([1, 1, 0]);
  });
});
