// A bad `signal` argument and stage options that are not plain objects are option errors, like a
// bad `fn` or any other option: `isOptionError` holds and `option` names what was wrong.
import { expect } from 'chai';
import { isOptionError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Retry } from '../../src/strategies/retry/Retry.js';

describe('option errors for call arguments and stage options', () => {
  it('a primitive given a signal that is not an AbortSignal rejects with an option error', async () => {
    const error = await new Retry({})
      .execute(() => 1, {} as AbortSignal)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isOptionError(error)).to.equal(true);
    expect((error as { option: string }).option).to.equal('signal');
    expect((error as Error).message).to.equal('`signal` must be an AbortSignal, got an object');
  });

  it('a builder given options that are an instance of a class throws an option error', () => {
    let error: unknown;
    try {
      Policy.builder('p').bulkhead(new Map() as never);
    } catch (e) {
      error = e;
    }
    expect(isOptionError(error)).to.equal(true);
    expect((error as { option: string }).option).to.equal('options');
    expect((error as Error).message).to.equal(
      '`options` must be Bulkhead options or a Bulkhead, got an instance of Map',
    );
  });
});
