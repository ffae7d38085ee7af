// The option checks every constructor uses: what each helper accepts, what it refuses, and the
// exact message of a refusal ("`option` must be <rule>, got <value>").
import { expect } from 'chai';
import { systemClock } from '../../src/internal/clock.js';
import {
  clockOption,
  didYouMean,
  durationOption,
  errorFilterOption,
  functionOption,
  integerOption,
  matchesAll,
  numberOption,
  oneOfOption,
  optionsObject,
  positiveDuration,
  stringOption,
} from '../../src/internal/validate.js';
import { isOptionError } from '../../src/optionErrors.js';
import { ManualClock } from '../support/clock.js';
import { thrownBy } from '../support/promises.js';

const thrown = thrownBy;

function refuses(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  message: string,
): Error {
  const error = thrown(fn);
  expect(error).to.be.instanceOf(type);
  // An option error (structured: `option`, `expected`, `received`) that prints as the built-in.
  expect(isOptionError(error), message).to.equal(true);
  expect(error.name).to.equal(type.name);
  expect(error.message).to.equal(message);
  return error;
}

describe('validate', () => {
  describe('optionsObject', () => {
    it('takes undefined as no options and returns a plain object as it is', () => {
      expect(optionsObject(undefined, 'Retry', [])).to.deep.equal({});
      const options = { maxAttempts: 1 };
      expect(optionsObject(options, 'Retry', ['maxAttempts', 'delay'])).to.equal(options);
      expect(optionsObject({}, 'Retry', [])).to.deep.equal({});
    });

    it('refuses null, arrays and primitives with a TypeError naming the owner', () => {
      refuses(
        () => optionsObject(null, 'Retry', []),
        TypeError,
        'Retry options must be an object, got null',
      );
      refuses(
        () => optionsObject([], 'Bulkhead', []),
        TypeError,
        'Bulkhead options must be an object, got an array',
      );
      refuses(
        () => optionsObject('5s', 'Timeout', []),
        TypeError,
        'Timeout options must be an object, got "5s"',
      );
      refuses(() => optionsObject(3, 'X', []), TypeError, 'X options must be an object, got 3');
    });

    it('refuses options that throw when looked at (a revoked Proxy) as option `options`', () => {
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      refuses(
        () => optionsObject(revoked.proxy, 'Retry', []),
        TypeError,
        'Retry options must be an object, got an object that cannot be read',
      );
      expect(
        (thrown(() => optionsObject(revoked.proxy, 'Retry', [])) as never as { option: string })
          .option,
      ).to.equal('options');
    });

    it('refuses the first unknown key, suggesting the nearest known one when it looks like a typo', () => {
      refuses(
        () => optionsObject({ maxAttempts: 1, maxAttemps: 2 }, 'Retry', ['maxAttempts', 'delay']),
        TypeError,
        'Retry: unknown option `maxAttemps` (did you mean `maxAttempts`?)',
      );
      refuses(
        () => optionsObject({ zebra: 1 }, 'Retry', ['maxAttempts', 'delay']),
        TypeError,
        'Retry: unknown option `zebra`',
      );
    });
  });

  describe('didYouMean', () => {
    /** The name `didYouMean` suggests, if any. */
    const closest = (word: string, candidates: readonly string[]) =>
      /`(.*)`/.exec(didYouMean(word, candidates))?.[1];

    it('suggests the nearest candidate in backticks, and nothing when none is near', () => {
      expect(didYouMean('delya', ['delay', 'backoff'])).to.equal(' (did you mean `delay`?)');
      expect(didYouMean('xyz', ['maxAttempts'])).to.equal('');
    });

    it('finds the candidate within the typo distance, case-insensitively, preferring the nearest', () => {
      expect(closest('delya', ['delay', 'backoff'])).to.equal('delay');
      expect(closest('MAXWAIT', ['maxWait'])).to.equal('maxWait');
      expect(closest('retires', ['retries', 'retry'])).to.equal('retries');
      expect(closest('timout', ['timeout', 'timeouts'])).to.equal('timeout');
    });

    it('finds nothing when every candidate is too far, or there are none', () => {
      expect(closest('xyz', ['maxAttempts'])).to.equal(undefined);
      expect(closest('delay', [])).to.equal(undefined);
      // Two edits are allowed for short words, three are not.
      expect(closest('ab', ['abcd'])).to.equal('abcd');
      expect(closest('ab', ['abcde'])).to.equal(undefined);
    });
  });

  describe('integerOption', () => {
    it('returns the fallback for undefined and the value for an integer >= min', () => {
      expect(integerOption(undefined, 'maxAttempts', 1, 3)).to.equal(3);
      expect(integerOption(1, 'maxAttempts', 1, 3)).to.equal(1);
      expect(integerOption(0, 'maxQueue', 0, 5)).to.equal(0);
    });

    it('refuses numbers out of range or not whole with a RangeError, other types with a TypeError', () => {
      refuses(
        () => integerOption(0, 'maxAttempts', 1, 3),
        RangeError,
        '`maxAttempts` must be an integer >= 1, got 0',
      );
      refuses(
        () => integerOption(1.5, 'maxAttempts', 1, 3),
        RangeError,
        '`maxAttempts` must be an integer >= 1, got 1.5',
      );
      refuses(
        () => integerOption(NaN, 'maxAttempts', 1, 3),
        RangeError,
        '`maxAttempts` must be an integer >= 1, got NaN',
      );
      refuses(
        () => integerOption('3', 'maxAttempts', 1, 3),
        TypeError,
        '`maxAttempts` must be an integer >= 1, got "3"',
      );
      refuses(
        () => integerOption(null, 'maxQueue', 0, 3),
        TypeError,
        '`maxQueue` must be an integer >= 0, got null',
      );
    });

    it('refuses a value that throws when looked at with the same option error', () => {
      const revoked = Proxy.revocable({}, {});
      revoked.revoke();
      refuses(
        () => integerOption(revoked.proxy, 'maxAttempts', 1, 3),
        TypeError,
        '`maxAttempts` must be an integer >= 1, got an object that cannot be read',
      );
      const nameless = new Proxy(() => 0, {
        get() {
          throw new Error('no name');
        },
      });
      refuses(
        () => stringOption(nameless, 'name', undefined),
        TypeError,
        '`name` must be a string, got an object that cannot be read',
      );
    });
  });

  describe('numberOption', () => {
    const rate = (value: unknown) =>
      numberOption(value, 'failureRateThreshold', (n) => n > 0 && n <= 1, 'in (0, 1]', undefined);

    it('returns the fallback for undefined and a finite number the predicate accepts', () => {
      expect(rate(undefined)).to.equal(undefined);
      expect(rate(1)).to.equal(1);
      expect(rate(0.25)).to.equal(0.25);
      expect(numberOption(undefined, 'x', () => true, '> 0', 7)).to.equal(7);
    });

    it('refuses numbers the predicate refuses or not finite with a RangeError, other types with a TypeError', () => {
      refuses(
        () => rate(0),
        RangeError,
        '`failureRateThreshold` must be a number in (0, 1], got 0',
      );
      refuses(
        () => rate(Infinity),
        RangeError,
        '`failureRateThreshold` must be a number in (0, 1], got Infinity',
      );
      refuses(
        () => rate(NaN),
        RangeError,
        '`failureRateThreshold` must be a number in (0, 1], got NaN',
      );
      refuses(
        () => rate('0.5'),
        TypeError,
        '`failureRateThreshold` must be a number in (0, 1], got "0.5"',
      );
      refuses(
        () => rate(1n),
        TypeError,
        '`failureRateThreshold` must be a number in (0, 1], got 1n',
      );
    });
  });

  describe('durationOption', () => {
    it('returns the fallback for undefined and milliseconds for numbers and duration strings', () => {
      expect(durationOption(undefined, 'delay', 100)).to.equal(100);
      expect(durationOption(250, 'delay', 100)).to.equal(250);
      expect(durationOption('2s', 'delay', 100)).to.equal(2000);
      expect(durationOption(Infinity, 'maxWait', 0, true)).to.equal(Infinity);
    });

    it('refuses negative numbers, Infinity unless allowed, and other types, naming the option', () => {
      refuses(
        () => durationOption(-1, 'delay', 0),
        RangeError,
        '`delay` must be a duration >= 0, got -1',
      );
      refuses(
        () => durationOption(Infinity, 'delay', 0),
        RangeError,
        '`delay` must be a finite duration, got Infinity',
      );
      refuses(
        () => durationOption(true, 'delay', 0),
        TypeError,
        "`delay` must be a duration (milliseconds or a string like '5s'), got true",
      );
    });
  });

  describe('positiveDuration', () => {
    it('returns the fallback for undefined and a duration > 0 in ms', () => {
      expect(positiveDuration(undefined, 'timeout', 30_000)).to.equal(30_000);
      expect(positiveDuration('1m', 'timeout', 0)).to.equal(60_000);
      expect(positiveDuration(0.5, 'timeout', 0)).to.equal(0.5);
    });

    it('refuses a negative number with the bound it keeps (> 0), as it refuses 0', () => {
      for (const value of [-1, -0.5, -Infinity, 0]) {
        const error = refuses(
          () => positiveDuration(value, 'timeout', 0),
          RangeError,
          `\`timeout\` must be a duration > 0, got ${String(value)}`,
        );
        expect(error).to.include({ option: 'timeout', expected: 'a duration > 0' });
      }
    });

    it('states its minimum for a negative number too', () => {
      for (const value of [-5, 0, 9]) {
        refuses(
          () => positiveDuration(value, 'window', 0, 10),
          RangeError,
          `\`window\` must be a duration >= 10ms, got ${value}`,
        );
      }
    });

    it('leaves other refusals to the duration rules', () => {
      refuses(
        () => positiveDuration(Infinity, 'timeout', 0),
        RangeError,
        '`timeout` must be a finite duration, got Infinity',
      );
      refuses(
        () => positiveDuration('-1s', 'timeout', 0),
        TypeError,
        '`timeout` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "-1s"',
      );
    });
  });

  describe('functionOption', () => {
    it('returns the fallback for undefined and any function as it is', () => {
      const fallback = () => 1;
      const fn = () => 2;
      expect(functionOption(undefined, 'onRetry', fallback)).to.equal(fallback);
      expect(functionOption(fn, 'onRetry', fallback)).to.equal(fn);
    });

    it('refuses anything else with a TypeError', () => {
      refuses(
        () => functionOption('f', 'onRetry', undefined),
        TypeError,
        '`onRetry` must be a function, got "f"',
      );
      refuses(
        () => functionOption({}, 'onRetry', undefined),
        TypeError,
        '`onRetry` must be a function, got an object',
      );
    });
  });

  describe('stringOption', () => {
    it('returns the fallback for undefined and any string, the empty one included', () => {
      expect(stringOption(undefined, 'name', 'x')).to.equal('x');
      expect(stringOption('', 'name', 'x')).to.equal('');
    });

    it('refuses anything else with a TypeError', () => {
      refuses(
        () => stringOption(5, 'name', undefined),
        TypeError,
        '`name` must be a string, got 5',
      );
      refuses(
        () => stringOption(Symbol.for('s'), 'name', undefined),
        TypeError,
        '`name` must be a string, got Symbol(s)',
      );
    });
  });

  describe('oneOfOption', () => {
    const allowed = ['local', 'fail-open', 'fail-closed'] as const;

    it('returns the fallback for undefined and any listed literal', () => {
      expect(oneOfOption(undefined, 'onStoreError', allowed, 'local')).to.equal('local');
      expect(oneOfOption('fail-closed', 'onStoreError', allowed, 'local')).to.equal('fail-closed');
    });

    it('refuses anything else with a TypeError listing the choices', () => {
      refuses(
        () => oneOfOption('open', 'onStoreError', allowed, 'local'),
        TypeError,
        "`onStoreError` must be one of 'local', 'fail-open', 'fail-closed', got \"open\"",
      );
    });
  });

  describe('clockOption', () => {
    it('returns the system clock for undefined and any object with the three methods as it is', () => {
      expect(clockOption(undefined)).to.equal(systemClock);
      const clock = new ManualClock();
      expect(clockOption(clock)).to.equal(clock);
    });

    it('refuses null, non-objects and objects missing a method, naming the option', () => {
      const must = 'a Clock with now(), setTimeout() and clearTimeout()';
      refuses(() => clockOption(null), TypeError, `\`clock\` must be ${must}, got null`);
      refuses(() => clockOption(Date), TypeError, `\`clock\` must be ${must}, got function Date`);
      refuses(
        () => clockOption({ now: () => 0, setTimeout: () => 0 }, 'store.clock'),
        TypeError,
        `\`store.clock\` must be ${must}, got an object`,
      );
    });
  });

  describe('errorFilterOption', () => {
    class A extends Error {}
    class B extends A {}
    class C extends Error {}

    it('matches everything for undefined, and says so through matchesAll', () => {
      const all = errorFilterOption(undefined, 'retryOn');
      expect(all('anything')).to.equal(true);
      expect(matchesAll(all)).to.equal(true);
      expect(matchesAll(errorFilterOption(() => true, 'retryOn'))).to.equal(false);
    });

    it("answers a predicate's answer, as it gave it", () => {
      const predicate = (error: unknown) => (error === 1 ? 'yes' : 0);
      const matcher = errorFilterOption(predicate, 'retryOn');
      expect(matcher(1)).to.equal('yes');
      expect(matcher(2)).to.equal(0);
    });

    it('matches instances of the listed classes and their subclasses only', () => {
      const matcher = errorFilterOption([A], 'retryOn');
      expect(matcher(new A())).to.equal(true);
      expect(matcher(new B())).to.equal(true);
      expect(matcher(new C())).to.equal(false);
      expect(matcher('A')).to.equal(false);
    });

    it('copies the list, so later changes to the array do not change the filter', () => {
      const list: Array<typeof A> = [A];
      const matcher = errorFilterOption(list, 'retryOn');
      list.length = 0;
      expect(matcher(new A())).to.equal(true);
    });

    it('never throws for an error whose prototype cannot be read', () => {
      const hostile = new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('trap');
          },
        },
      );
      expect(errorFilterOption([A], 'retryOn')(hostile)).to.equal(false);
    });

    it('refuses a value that is neither an array nor a function, and a non-class entry with its index', () => {
      refuses(
        () => errorFilterOption(A.prototype, 'recordOn'),
        TypeError,
        '`recordOn` must be an array of error classes or a predicate, got an object',
      );
      refuses(
        () => errorFilterOption([A, 'C'], 'retryOn'),
        TypeError,
        '`retryOn` must be an array of error classes or a predicate, got "C" at index 1',
      );
    });
  });
});
