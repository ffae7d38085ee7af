// A huge value (a 100 KB string, key or name) makes no huge message: the message shows the first
// characters and the length; the error's `received` and `option` keep the value whole.
import { expect } from 'chai';
import { parseDuration } from '../../src/index.js';
import { didYouMean } from '../../src/internal/validate.js';
import { show, type OptionError } from '../../src/optionErrors.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { thrownBy } from '../support/promises.js';

const thrown = (fn: () => unknown): OptionError => thrownBy(fn) as OptionError;

/**
 * Runs `fn` counting the calls of `Math.min`, one per cell of the edit-distance table the
 * did-you-mean hint works out; stops it past `budget` of them.
 */
function countingMin(fn: () => void, budget: number): number {
  const min = Math.min;
  let calls = 0;
  Math.min = (...values: number[]) => {
    if (++calls > budget) throw new Error(`more than ${budget} steps`);
    return min(...values);
  };
  try {
    fn();
  } finally {
    Math.min = min;
  }
  return calls;
}

describe('long values in error messages', () => {
  it('show: up to 100 characters as they are, a longer text as its first 100 and its length', () => {
    expect(show('x'.repeat(100))).to.equal(`"${'x'.repeat(100)}"`);
    expect(show('x'.repeat(101))).to.equal(`"${'x'.repeat(100)}"… (101 characters)`);
    expect(show('a"\n'.repeat(50))).to.equal(
      `${JSON.stringify('a"\n'.repeat(34).slice(0, 100))}… (150 characters)`,
    );
    // Never half of a surrogate pair: the pair that would straddle the cut is left out whole.
    expect(show('x'.repeat(99) + '😀'.repeat(10))).to.equal(
      `"${'x'.repeat(99)}"… (119 characters)`,
    );
    const name = 'f'.repeat(500);
    const fn = { [name]: () => 0 }[name];
    expect(show(fn)).to.equal(`function ${'f'.repeat(100)}… (500 characters)`);
    expect(show(10n ** 200n)).to.equal(`1${'0'.repeat(99)}… (202 characters)`);
    expect(show(10n ** 20n)).to.equal('100000000000000000000n');
    expect(show(Symbol('s'.repeat(300)))).to.equal(`Symbol(${'s'.repeat(93)}… (308 characters)`);
  });

  it('a 100 KB duration: a short message, the value whole in `received`', () => {
    const text = '1'.repeat(100_000) + 'x';
    const error = thrown(() => parseDuration(text));
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal(
      `\`duration\` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "${'1'.repeat(100)}"… (100001 characters)`,
    );
    expect(error.received).to.equal(text);
  });

  it('a huge unknown option: its first 100 characters, no hint worked out over it', () => {
    const key = 'maxAttempts'.repeat(1000);
    let error: OptionError | undefined;
    const steps = countingMin(() => {
      error = thrown(() => new Retry({ [key]: 1 } as never));
    }, 10_000);
    expect(steps, 'steps of the edit distance').to.equal(0);
    expect(error?.message).to.equal(
      `Retry: unknown option \`${key.slice(0, 100)}… (11000 characters)\``,
    );
    expect(error?.option).to.equal(key);
    // A typo still gets its hint, its steps as before.
    expect(thrown(() => new Retry({ maxAtempts: 1 } as never)).message).to.equal(
      'Retry: unknown option `maxAtempts` (did you mean `maxAttempts`?)',
    );
    expect(didYouMean('x'.repeat(40), ['xxx'])).to.equal('');
    expect(didYouMean('delay', ['dely', 'delay2'])).to.equal(' (did you mean `dely`?)');
  });

  it('a configuration: a huge key or name cut in the message, whole in `option`', () => {
    const key = 'x'.repeat(100_000);
    const top = thrown(() => PolicyRegistry.fromConfig({ [key]: 1 }));
    expect(top.message).to.equal(
      `resilience: unknown key \`${'x'.repeat(100)}… (100000 characters)\``,
    );
    expect(top.option).to.equal(`resilience.${key}`);

    const steps = countingMin(() => {
      const option = thrown(() => PolicyRegistry.fromConfig({ retry: { a: { [key]: 1 } } }));
      expect(option.message).to.equal(
        `resilience.retry.a: unknown option \`${'x'.repeat(100)}… (100000 characters)\``,
      );
      expect(option.option).to.equal(`resilience.retry.a.${key}`);
    }, 10_000);
    expect(steps, 'steps of the edit distance').to.equal(0);

    // A huge entry name: the path in the message is cut past 1000 characters.
    const entry = thrown(() =>
      PolicyRegistry.fromConfig({ retry: { [key]: { 'max-attempts': 0 } } }),
    );
    const path = `resilience.retry.${key}`;
    expect(entry.option).to.equal(`${path}.max-attempts`);
    expect(entry.received).to.equal(0);
    expect(entry.message.length).to.be.below(1200);
    expect(entry.message).to.match(
      /^resilience\.retry\.x{983}… \(100030 characters\): `max-attempts` must be an integer >= 1, got 0$/,
    );
    const typo = thrown(() =>
      PolicyRegistry.fromConfig({ retry: { [key]: { 'max-atempts': 1 } } }),
    );
    expect(typo.message.length).to.be.below(1200);
    expect(typo.message).to.match(
      /^resilience\.retry\.x{983}… \(100017 characters\): unknown option `max-atempts` \(did you mean `max-attempts`\?\)$/,
    );
  });
});
