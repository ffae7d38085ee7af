// Standalone primitives added later keep the rules every primitive's `execute` follows: `fn`
// receives the caller's signal, an abort rejects at once with its reason, a bad `fn` or factory
// is refused with a message that names it.
import { expect } from 'chai';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { rejectionOf } from '../support/promises.js';

describe('Chaos.execute, switched on or off', () => {
  for (const on of [true, false]) {
    it(`hands fn the caller's signal and rejects at its abort (enabled: ${on})`, async () => {
      const chaos = new Chaos({ enabled: on, seed: 1 });
      const controller = new AbortController();
      let seen: AbortSignal | undefined;
      const call = chaos.execute((signal) => {
        seen = signal;
        return new Promise<string>(() => undefined);
      }, controller.signal);
      await Promise.resolve();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      expect(seen).to.equal(controller.signal);
    });
  }

  it('refuses a thunk that is not a function with a message naming `fn`', async () => {
    const error = (await rejectionOf(new Chaos().execute(42 as never))) as Error;
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal('`fn` must be a function, got 42');
  });
});

describe('Keyed factory', () => {
  it('is required at construction, not at the first get', () => {
    expect(() => new Keyed(undefined as never)).to.throw(TypeError, '`factory`');
  });
});

describe('Bulkhead under an adaptive limit', () => {
  it('names the limit in force when it refuses, not the highest the limit may reach', async () => {
    const bulkhead = new Bulkhead({ limit: new AdaptiveLimit({ min: 1, max: 1000, initial: 2 }) });
    const hold = bulkhead.execute(() => new Promise<void>(() => undefined));
    const hold2 = bulkhead.execute(() => new Promise<void>(() => undefined));
    const error = (await rejectionOf(bulkhead.execute(() => 'no'))) as Error;
    expect(error.message).to.equal('Bulkhead at capacity (2 concurrent calls)');
    void hold;
    void hold2;
  });
});
