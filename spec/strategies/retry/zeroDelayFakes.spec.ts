// A zero-delay retry under fake timers installed in the test (sinon's, as Jest's and Vitest's
// are the same library): its turn comes at the host's next macrotask or when the test's ticking
// reaches it, whichever is first, so both ways of writing such a test work.
import { expect } from 'chai';
import sinon from 'sinon';
import { isOperationTimeoutError } from '../../../src/errors.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { settle, type Settled } from '../../support/promises.js';

const realSetImmediate = globalThis.setImmediate;
/**
 * Lets the host run `n` turns of its event loop (real immediates, taken before the fakes): each
 * comes after any immediate queued before it, whatever the load (a timer of a few ms could come
 * first on a busy machine, its phase running before the immediates').
 */
async function hostTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => realSetImmediate(resolve));
}

/** A call through a zero-delay retry of 3 attempts, each failing at once. */
function failingThrice(): { attempts: () => number; call: Settled<unknown> } {
  const policy = Policy.builder('svc').retry({ maxAttempts: 3 }).build();
  let attempts = 0;
  const call = settle(
    policy.execute(() => {
      attempts++;
      return Promise.reject(new Error(`attempt ${attempts}`));
    }),
  );
  return { attempts: () => attempts, call };
}

describe('a zero-delay retry under fake timers', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => {
    clock.restore();
  });

  it('runs its next attempts, and their deadlines, when the test runs the fakes', async () => {
    const policy = Policy.builder('svc').retry({ maxAttempts: 3 }).timeout('1s').build();
    let attempts = 0;
    const call = settle(
      policy.execute(() => {
        attempts++;
        return new Promise<never>(() => {});
      }),
    );
    await clock.runAllAsync();
    expect(attempts).to.equal(3);
    expect(call.status).to.equal('rejected');
    expect(isOperationTimeoutError(call.reason)).to.equal(true);
    expect(clock.countTimers()).to.equal(0);
  });

  it('clears its fake turn through the fakes, also when they leave clearImmediate real', async () => {
    clock.restore();
    clock = sinon.useFakeTimers({ toFake: ['setImmediate', 'Date'] });
    const { attempts, call } = failingThrice();
    await hostTurns(10);
    expect([attempts(), call.status, clock.countTimers()]).to.deep.equal([3, 'rejected', 0]);
  });

  it('goes on by itself when the test does not tick, leaving no fake timer behind', async () => {
    const { attempts, call } = failingThrice();
    await hostTurns(10);
    expect([attempts(), call.status]).to.deep.equal([3, 'rejected']);
    expect(clock.countTimers()).to.equal(0);
  });
});
