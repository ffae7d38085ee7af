// whenDrained: the hook a registry uses to fold a swapped-out policy's counters in once its last
// call has settled. Any number of hooks, asked for before or during a drain, each run once, and
// none runs again at a later drain.
import { expect } from 'chai';
import { Policy, whenDrained } from '../../src/pipeline/Policy.js';
import { deferred, flush, type Deferred } from '../support/promises.js';

type AnyPolicy = Policy<unknown, unknown>;

describe('whenDrained', () => {
  let policy: AnyPolicy;
  let calls: Array<Deferred<string>>;
  let seen: string[];

  /** Starts a call that settles when the spec says. */
  function start(): Deferred<string> {
    const call = deferred<string>();
    calls.push(call);
    void policy.execute(() => call.promise).catch(() => undefined);
    return call;
  }

  const hook = (name: string) => (): void => {
    seen.push(name);
  };

  beforeEach(() => {
    policy = Policy.builder('drain').retry({ maxAttempts: 1 }).build() as AnyPolicy;
    calls = [];
    seen = [];
  });

  it('runs at once when no call is in flight', () => {
    whenDrained(policy, hook('a'));
    expect(seen).to.deep.equal(['a']);
  });

  it('runs every hook asked for before the drain once, in order, when the last call settles', async () => {
    const first = start();
    const second = start();
    whenDrained(policy, hook('a'));
    whenDrained(policy, hook('b'));
    first.resolve('one');
    await flush();
    whenDrained(policy, hook('c'));
    expect(seen).to.deep.equal([]);
    second.reject(new Error('two'));
    await flush();
    expect(seen).to.deep.equal(['a', 'b', 'c']);
    // Nothing is left in the way of later calls: no hook runs again at a later drain.
    start().resolve('three');
    await flush();
    expect(seen).to.deep.equal(['a', 'b', 'c']);
    expect(policy.metrics()).to.include({ calls: 3, successes: 2, failures: 1 });
  });

  it('lets a hook start a call and wait for the next drain', async () => {
    const first = start();
    let again: Deferred<string> | undefined;
    whenDrained(policy, () => {
      seen.push('a');
      again = start();
      whenDrained(policy, hook('again'));
    });
    whenDrained(policy, hook('b'));
    first.resolve('one');
    await flush();
    expect(seen).to.deep.equal(['a', 'b']);
    (again as Deferred<string>).resolve('two');
    await flush();
    expect(seen).to.deep.equal(['a', 'b', 'again']);
    start().resolve('three');
    await flush();
    expect(seen).to.deep.equal(['a', 'b', 'again']);
  });
});
