import { expect } from 'chai';
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

  it('rejects strings that are not durations with a TypeError naming the value', () => {
    for (const bad of ['5 sec', '', '5', 's', '5x', '-1s', '1s 2ms']) {
      expect(() => parseDuration(bad), bad)
        .to.throw(TypeError)
        .with.property('message')
        .that.includes(JSON.stringify(bad));
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
});
