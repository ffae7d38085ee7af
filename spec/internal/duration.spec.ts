import { expect } from 'chai';
import sinon from 'sinon';
import { parseDuration } from '../../src/index.js';
import { formatSeconds } from '../../src/internal/duration.js';

describe('parseDuration', () => {
  it('reads a number as milliseconds', () => {
    expect(parseDuration(250)).to.equal(250);
    expect(parseDuration(0)).to.equal(0);
  });

  it('reads every unit and compound strings', () => {
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('5s')).to.equal(5000);
    expect(parseDuration('1.5s')).to.equal(1500);
    expect(parseDuration('1m30s')).to.equal(90_000);
    expect(parseDuration('2h')).to.equal(7_200_000);
    expect(parseDuration('1d')).to.equal(86_400_000);
    expect(parseDuration('1h1m1s1ms')).to.equal(3_661_001);
  });

  it("gives a decimal's exact value, not the error of multiplying its float", () => {
    // 1.005 * 1000 is 1004.9999999999999 in floating point, 2.2 * 86400000 190080000.00000003.
    const exact: Array<[string, number]> = [
      ['1.005s', 1005],
      ['2.2d', 190_080_000],
      ['4.35m', 261_000],
      ['1.1h', 3_960_000],
      ['0.07s', 70],
      ['.5s', 500],
      ['1m30.5s', 90_500],
      ['1.1s1.1ms', 1101.1],
      ['0.1ms', 0.1],
      ['1.000000001s', 1000.000001],
    ];
    for (const [text, ms] of exact) expect(parseDuration(text), text).to.equal(ms);
    // Seconds with up to 9 decimals, against the decimal shifted by three places as text; the
    // digits from a fixed sequence (a linear congruential generator), the same on every run.
    let seed = 12_345;
    const next = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    for (let i = 0; i < 2000; i++) {
      const whole = String(next(100_000));
      const decimals = String(next(1e9)).padStart(9, '0');
      const fraction = decimals.slice(0, 1 + (i % 9));
      const shifted = `${whole}${fraction.slice(0, 3).padEnd(3, '0')}.${fraction.slice(3) || '0'}`;
      expect(parseDuration(`${whole}.${fraction}s`), `${whole}.${fraction}s`).to.equal(
        Number(shifted),
      );
    }
  });

  it('still reads a decimal with more digits than a number holds, and refuses one past any finite time', () => {
    expect(parseDuration('1.00000000000000000000000001s')).to.equal(1000);
    expect(parseDuration('123456789012345678901234567890ms')).to.equal(1.2345678901234568e29);
    expect(() => parseDuration(`${'9'.repeat(400)}ms`)).to.throw(RangeError);
  });

  it('rejects strings that are not durations with a TypeError naming the value', () => {
    for (const bad of ['5 sec', '', '5', 's', '5x', '-1s', '1s 2ms']) {
      expect(() => parseDuration(bad), bad)
        .to.throw(TypeError)
        .with.property('message')
        .that.includes(JSON.stringify(bad));
    }
  });

  it('reads a long text part by part where the last part ended, never searching it for a part', () => {
    // A search for a part anywhere in the text retries from every digit of a long run of digits
    // with no unit after it, and reads the rest of the run from each: the square of its length
    // (seconds for these texts). A match anchored where the last part ended (a sticky regex) reads
    // each character a bounded number of times, once per part.
    const texts: Array<[string, number | 'refused' | 'past any finite time', number]> = [
      ['1'.repeat(100_000) + 'x', 'refused', 1],
      ['1'.repeat(50_000) + ' ', 'refused', 1],
      ['1.' + '1'.repeat(100_000) + 'x', 'refused', 1],
      ['1m'.repeat(20_000) + 'x', 'refused', 20_001],
      ['0'.repeat(100_000) + '1ms', 1, 1],
      ['1'.repeat(100_000) + 'ms', 'past any finite time', 1],
      ['1h'.repeat(20_000), 20_000 * 3_600_000, 20_000],
    ];
    for (const [text, expected, parts] of texts) {
      const label = `${text.slice(0, 12)}... (${text.length} characters)`;
      let anchored = 0;
      let searches = 0;
      const exec = sinon.stub(RegExp.prototype, 'exec').callsFake(function (
        this: RegExp,
        input: string,
      ) {
        if (input !== text) return exec.wrappedMethod.call(this, input);
        if (!this.sticky) {
          searches++;
          return null; // not run: it would take seconds
        }
        anchored++;
        return exec.wrappedMethod.call(this, input);
      });
      let result: (typeof texts)[number][1];
      try {
        result = parseDuration(text);
      } catch (error) {
        result = error instanceof RangeError ? 'past any finite time' : 'refused';
        expect(error, label).to.be.instanceOf(result == 'refused' ? TypeError : RangeError);
      } finally {
        exec.restore();
      }
      expect(searches, `${label}: searches of the whole text`).to.equal(0);
      expect(anchored, `${label}: anchored matches`).to.be.at.most(parts + 1);
      expect(result, label).to.equal(expected);
    }
  });

  it('rejects negative, NaN and infinite numbers with a RangeError', () => {
    expect(() => parseDuration(-1)).to.throw(RangeError, 'got -1');
    expect(() => parseDuration(NaN)).to.throw(RangeError, 'NaN');
    expect(() => parseDuration(Infinity)).to.throw(RangeError, 'Infinity');
  });

  it('rejects values of other types with a TypeError', () => {
    expect(() => parseDuration(null as never)).to.throw(TypeError, 'got null');
    expect(() => parseDuration({} as never)).to.throw(TypeError, 'got an object');
  });
});

describe('formatSeconds', () => {
  it('prints seconds with at least one decimal', () => {
    expect(formatSeconds(5000)).to.equal('5.0s');
    expect(formatSeconds(1500)).to.equal('1.5s');
    expect(formatSeconds(250)).to.equal('0.25s');
    expect(formatSeconds(0)).to.equal('0.0s');
  });

  it('prints a decimal duration as written', () => {
    expect(formatSeconds(parseDuration('2.2d'))).to.equal('190080.0s');
    expect(formatSeconds(parseDuration('1.005s'))).to.equal('1.005s');
  });
});
