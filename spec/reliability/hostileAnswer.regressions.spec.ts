// A thunk whose answer cannot even be asked whether it is a promise (a Proxy whose
// `getPrototypeOf` throws, a revoked Proxy) fails its call with what the question threw, as a
// thunk that throws does: every stage sees the call go out, so a bulkhead gets its slot back and
// a retry's later attempt settles the execution instead of leaving it pending.
import { expect } from 'chai';
import { Policy } from '../../src/index.js';
import { rejectionOf } from '../support/promises.js';

const trap = new Error('trap');

function unaskable(): object {
  return new Proxy(
    {},
    {
      getPrototypeOf() {
        throw trap;
      },
    },
  );
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe('a thunk answering a value that cannot be looked at', () => {
  for (const listening of [false, true]) {
    const how = listening ? 'with attempt listeners' : 'without listeners';

    it(`fails the call and gives the bulkhead slot back (${how})`, async () => {
      const policy = Policy.builder().bulkhead({ maxConcurrent: 1 }).build();
      if (listening) policy.on('attempt', () => {});
      expect(await rejectionOf(policy.execute(() => unaskable()))).to.equal(trap);
      expect(await policy.execute(() => 'next')).to.equal('next');
      expect(policy.metrics()).to.include({ calls: 2, successes: 1, failures: 1 });
    });

    it(`settles a retried execution whose later attempt answers so (${how})`, async () => {
      const policy = Policy.builder().retry({ maxAttempts: 2, delay: 0 }).build();
      if (listening) policy.on('attempt', () => {});
      let attempts = 0;
      const error = await rejectionOf(
        policy.execute(() => {
          attempts++;
          return attempts === 1 ? Promise.reject(new Error('first')) : revoked();
        }),
      );
      expect(error).to.be.instanceOf(TypeError);
      expect(attempts).to.equal(2);
      expect(policy.metrics()).to.include({ calls: 1, failures: 1 });
    });
  }
});
