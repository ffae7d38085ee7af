// A keyed bulkhead makes a bulkhead per key from the same options, and an AdaptiveLimit is one
// limit for one bulkhead: the stage refuses it when it is declared, not at every call.
import { expect } from 'chai';
import { OptionTypeError } from '../../../src/optionErrors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { stages } from '../../../src/pipeline/stages.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';

const tenant = (ctx: ExecutionContext) => String(ctx.data.get('tenant'));

describe('keyed bulkhead given an AdaptiveLimit', () => {
  it('is refused with a TypeError naming `limit` and why, before any call', () => {
    const limit = new AdaptiveLimit({ algorithm: 'aimd' });
    const declare = () => Policy.builder('per-tenant').bulkhead({ limit, key: tenant });
    expect(declare).to.throw(
      TypeError,
      '`limit` must be a number with `key`: an AdaptiveLimit is one limit for one Bulkhead, got an object',
    );
    let error: unknown;
    try {
      stages.bulkhead({ limit, key: tenant });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(OptionTypeError);
    expect((error as OptionTypeError).option).to.equal('limit');
  });

  it('leaves the limit free for a bulkhead of its own', async () => {
    const limit = new AdaptiveLimit({ algorithm: 'aimd' });
    expect(() => stages.bulkhead({ limit, key: tenant })).to.throw(TypeError);
    const policy = Policy.builder('one').bulkhead({ limit }).build();
    expect(await policy.execute(async () => 'ok')).to.equal('ok');
  });

  it('still takes a fixed limit per key', async () => {
    const policy = Policy.builder('per-tenant').bulkhead({ limit: 2, key: tenant }).build();
    for (const t of ['a', 'b']) {
      expect(await policy.execute(async () => t, { data: { tenant: t } })).to.equal(t);
    }
  });
});

describe('keyed bulkhead given a limit that is neither a number nor an AdaptiveLimit', () => {
  it('gets the limit check’s own message, not the AdaptiveLimit one', () => {
    const declare = () =>
      Policy.builder('per-tenant')
        .bulkhead({ limit: {} as never, key: tenant })
        .build();
    expect(declare).to.throw(TypeError, /`limit` must be an integer >= 1 or an AdaptiveLimit/);
  });
});
