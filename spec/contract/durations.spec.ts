// The duration rules of docs/CONTRACT.md (R-DUR-*).
import { expect } from 'chai';
import {
  Bulkhead,
  CircuitBreaker,
  parseDuration,
  Policy,
  RateLimiter,
  Retry,
  TimeLimiter,
} from 'bulwark';
import { thrownBy } from './support.js';

describe('contract: Durations', () => {
  it('R-DUR-2: `parseDuration(d): number` is exported', () => {
    expect(parseDuration).to.be.a('function');
    expect(parseDuration('5s')).to.be.a('number');
  });

  it('R-DUR-1: A number is milliseconds', () => {
    expect(parseDuration(250)).to.equal(250);
    expect(parseDuration(0)).to.equal(0);
    expect(parseDuration(1.5)).to.equal(1.5);
  });

  it("R-DUR-2: A string is one or more `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`: '250ms', '5s', '1.5s', '1m30s', '2h'", () => {
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('5s')).to.equal(5_000);
    expect(parseDuration('1.5s')).to.equal(1_500);
    expect(parseDuration('1m30s')).to.equal(90_000);
    expect(parseDuration('2h')).to.equal(7_200_000);
    expect(parseDuration('1d')).to.equal(86_400_000);
    expect(parseDuration('3m')).to.equal(180_000);
    expect(parseDuration('1h1m1s1ms')).to.equal(3_661_001);
    // Any parts, in any order, repeated or not, are added up.
    expect(parseDuration('5ms5s')).to.equal(5_005);
    expect(parseDuration('1h1h')).to.equal(7_200_000);
    expect(parseDuration('30s1m')).to.equal(90_000);
  });

  it("R-DUR-4: Anything else ('5 sec', '', -1, NaN, Infinity where a finite time is required) throws TypeError/RangeError naming the option and the value received", () => {
    const cases: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
      ['5 sec', TypeError, '"5 sec"'],
      ['', TypeError, '""'],
      [-1, RangeError, '-1'],
      [NaN, RangeError, 'NaN'],
      [Infinity, RangeError, 'Infinity'],
      ['5x', TypeError, '"5x"'],
      // Nothing but parts: no whitespace around or between them.
      [' 5s', TypeError, '" 5s"'],
      ['5s\n', TypeError, '"5s\\n"'],
      ['\t1m30s', TypeError, '"\\t1m30s"'],
      ['1m 30s', TypeError, '"1m 30s"'],
      [' ', TypeError, '" "'],
      [null, TypeError, 'null'],
      [{}, TypeError, 'an object'],
    ];
    for (const [value, Class, shown] of cases) {
      const error = thrownBy(() => parseDuration(value as never));
      expect(error, String(value)).to.be.instanceOf(Class);
      expect(error.message).to.include('`duration`');
      expect(error.message).to.include(`got ${shown}`);
      // The same value given to an option is reported under the option's name.
      const inOption = thrownBy(() => new Retry({ delay: value as never }));
      expect(inOption).to.be.instanceOf(Class);
      expect(inOption.message).to.match(/^`delay` /);
      expect(inOption.message).to.include(`got ${shown}`);
    }
  });

  it("R-DUR-3: A string Duration needs a unit ('5' is a TypeError)", () => {
    expect(() => parseDuration('5')).to.throw(TypeError, 'got "5"');
    expect(() => new TimeLimiter({ timeout: '5' })).to.throw(TypeError, /^`timeout` .*got "5"$/);
    expect(() => new CircuitBreaker({ recoveryTimeout: '30' })).to.throw(TypeError);
    expect(() => new Bulkhead({ maxWait: '5' })).to.throw(TypeError);
    expect(() => Policy.builder().timeout('3')).to.throw(TypeError);
  });

  it('R-DUR-5: Durations must be finite, except `maxWait`, where `Infinity` means "wait as long as it takes"', () => {
    expect(new RateLimiter({ maxWait: Infinity }).maxWaitMs).to.equal(Infinity);
    expect(new Bulkhead({ maxQueue: 1, maxWait: Infinity }).maxWaitMs).to.equal(Infinity);
    const finiteOnly: Array<() => unknown> = [
      () => new Retry({ delay: Infinity }),
      () => new Retry({ maxDelay: Infinity }),
      () => new CircuitBreaker({ recoveryTimeout: Infinity }),
      () => new CircuitBreaker({ windowType: 'time', windowDuration: Infinity }),
      () => new CircuitBreaker({ slowCallDuration: Infinity }),
      () => new TimeLimiter({ timeout: Infinity }),
      () => Policy.builder().timeout(Infinity),
    ];
    for (const make of finiteOnly) {
      expect(make).to.throw(RangeError, 'got Infinity');
    }
  });

  it('R-DUR-5: to have no limit, omit the option (`maxWait` left out)', () => {
    expect(new Bulkhead({ maxQueue: 1 }).maxWaitMs).to.equal(Infinity);
  });

  it('R-DUR-5: `parseDuration` rejects `Infinity` (only the `maxWait` option accepts it)', () => {
    expect(() => parseDuration(Infinity)).to.throw(RangeError, 'got Infinity');
    expect(() => parseDuration('1e400s' as never)).to.throw();
  });
});
