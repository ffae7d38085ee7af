// `usePolicy` and `policy.wrap` run a call through `policy.execute` the same way whether the
// wrapper is alone (the short path: the function's answer goes to `execute` as it is) or stacked
// with other wrappers, inside or outside it: the same value, `this` and arguments, the same
// events and counts, a synchronous throw as a rejection, the caller's abort honoured.
import { expect } from 'chai';
import sinon from 'sinon';
import { retry, timeLimiter, usePolicy } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf } from '../support/promises.js';

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Wrapped = (this: unknown, ...args: unknown[]) => Promise<unknown>;
type Picker = { signal: (this: unknown, ...args: unknown[]) => AbortSignal | undefined };

const makers: Array<[string, (policy: Policy, fn: Fn, options?: Picker) => Wrapped]> = [
  ['usePolicy alone', (p, fn, o) => usePolicy(p, o)(fn) as Wrapped],
  ['policy.wrap alone', (p, fn, o) => p.wrap(fn, o) as Wrapped],
  [
    'usePolicy over a time limiter',
    (p, fn, o) => usePolicy(p, o)(timeLimiter({ timeout: '1s' })(fn)) as Wrapped,
  ],
  [
    'policy.wrap under a retry',
    (p, fn, o) => retry({ maxAttempts: 1 })(p.wrap(fn, o)) as unknown as Wrapped,
  ],
];

describe('a policy wrapper, alone or stacked', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  for (const [name, make] of makers) {
    describe(name, () => {
      it('answers the function’s value, sync or async, with its `this` and arguments', async () => {
        const policy = Policy.builder('p').build();
        const events: string[] = [];
        policy.on('success', (e) => events.push(`success:${String(e.fallback)}`));
        const add = make(policy, function (this: unknown, a: unknown, b: unknown) {
          return (this as { base: number }).base + (a as number) + (b as number);
        });
        const later = make(policy, (a: unknown) => Promise.resolve(a));
        const sync = add.call({ base: 100 }, 2, 3);
        expect(sync).to.be.instanceOf(Promise);
        expect(await sync).to.equal(105);
        expect(await later.call(undefined, 'x')).to.equal('x');
        expect(events).to.deep.equal(['success:false', 'success:false']);
        expect(policy.metrics()).to.include({ calls: 2, successes: 2, failures: 0 });
      });

      it('turns a synchronous throw into a rejection with the same error, counted and reported', async () => {
        const policy = Policy.builder('p').build();
        const failures: unknown[] = [];
        policy.on('failure', (e) => failures.push(e.error));
        const boom = new Error('sync');
        const thrower = make(policy, () => {
          throw boom;
        });
        let answer: Promise<unknown> | undefined;
        expect(() => (answer = thrower.call(undefined))).not.to.throw();
        expect(await rejectionOf(answer as Promise<unknown>)).to.equal(boom);
        expect(failures).to.deep.equal([boom]);
        expect(policy.metrics()).to.include({ calls: 1, successes: 0, failures: 1 });
      });

      it('rejects with the reason of a caller who aborted, never calling the function', async () => {
        const policy = Policy.builder('p').retry({ maxAttempts: 3 }).build();
        let calls = 0;
        const work = make(
          policy,
          (_s: unknown) => {
            calls++;
            return 'ran';
          },
          { signal: (s: unknown) => s as AbortSignal },
        );
        const controller = new AbortController();
        const gone = new Error('caller gone');
        controller.abort(gone);
        expect(await rejectionOf(work.call(undefined, controller.signal))).to.equal(gone);
        expect(calls).to.equal(0);
        expect(await work.call(undefined, new AbortController().signal)).to.equal('ran');
      });
    });
  }
});
