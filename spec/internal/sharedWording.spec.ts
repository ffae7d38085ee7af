// Refusals that several modules make share one helper, so they read alike: an object that is not
// plain (stage options and configuration), and a call's `fn` that is not a function (Policy,
// Hedge, Chaos), which names `fn` as every option error names its option.
import { expect } from 'chai';
import { isOptionTypeError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { rejectionOf } from '../support/promises.js';

const OWN_PROTOTYPE = 'an object with a prototype of its own (only plain objects are read)';

describe('shared wording of refusals', () => {
  it('describes an object that is not plain the same way in stage options and in configuration', () => {
    const inherited = Object.create({ maxAttempts: 3 }) as object;
    expect(() => Policy.builder().retry(inherited as never)).to.throw(
      TypeError,
      `\`options\` must be Retry options or a Retry, got ${OWN_PROTOTYPE}`,
    );
    expect(() => PolicyRegistry.fromConfig({ retry: { r: inherited } } as never)).to.throw(
      TypeError,
      OWN_PROTOTYPE,
    );
    expect(() => Policy.builder().retry(new Map() as never)).to.throw(
      TypeError,
      'got an instance of Map',
    );
  });

  it('refuses an `fn` that is not a function with an option error naming `fn`, in Policy, Hedge and Chaos', async () => {
    const policy = Policy.builder().build();
    const refusals = [
      await rejectionOf(policy.execute(42 as never)),
      await rejectionOf(new Hedge().execute(42 as never)),
      await rejectionOf(new Chaos().execute(42 as never)),
      (() => {
        try {
          policy.wrap(42 as never);
        } catch (error) {
          return error;
        }
        return undefined;
      })(),
    ];
    for (const error of refusals) {
      expect(isOptionTypeError(error)).to.equal(true);
      expect(error).to.be.instanceOf(TypeError);
      expect(error).to.include({ option: 'fn', expected: 'a function', received: 42 });
      expect((error as Error).message).to.equal('`fn` must be a function, got 42');
    }
  });
});
