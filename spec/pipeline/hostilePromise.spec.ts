// A thunk's answer that passes for a native promise but whose `then` throws (a Proxy of a
// promise, an object inheriting from one, a promise given a `then` of its own): the call fails
// with what `then` threw, as when the thunk throws, on the steps and on the fused path alike: the
// caller gets a rejection (never a synchronous throw), the failure is counted, a bulkhead's slot
// comes back and a drain watch hears the call end.
import { expect } from 'chai';
import { Policy, whenDrained } from '../../src/pipeline/Policy.js';
import { FusedContext, setFusing } from '../../src/pipeline/fused.js';

const hostile: ReadonlyArray<[string, () => Promise<number>]> = [
  ['a Proxy of a promise', () => new Proxy(Promise.resolve(1), {})],
  [
    'an object inheriting from a promise',
    () => Object.create(Promise.resolve(1)) as Promise<number>,
  ],
  [
    'a promise with a `then` of its own that throws',
    () => {
      const promise = Promise.resolve(1);
      promise.then = () => {
        throw new Error('then throws');
      };
      return promise;
    },
  ],
];

/** Builds with fusing set as asked, then puts it back on. */
function built(fusing: boolean, attempts: boolean): Policy {
  setFusing(fusing);
  try {
    const policy = Policy.builder('hostile').bulkhead({ maxConcurrent: 1 }).build();
    if (attempts) policy.on('attempt', () => undefined);
    return policy;
  } finally {
    setFusing(true);
  }
}

describe('a thunk whose promise cannot be followed', () => {
  for (const fusing of [true, false]) {
    for (const attempts of [false, true]) {
      const path = `${fusing ? 'fused' : 'steps'}${attempts ? ', timed for attempt listeners' : ''}`;
      for (const [name, answer] of hostile) {
        it(`fails the call with what its then threw: ${name} (${path})`, async () => {
          const policy = built(fusing, attempts);
          let seen: unknown;
          await policy.execute((ctx) => {
            seen = ctx;
          });
          expect(seen instanceof FusedContext, 'the path taken').to.equal(fusing);
          let promise: Promise<unknown> | undefined;
          expect(() => (promise = policy.execute(answer))).not.to.throw();
          let drained = false;
          whenDrained(policy, () => (drained = true));
          const error: unknown = await (promise as Promise<unknown>).then(
            () => expect.fail('fulfilled'),
            (e: unknown) => e,
          );
          expect(error).to.be.instanceOf(Error);
          const m = policy.metrics();
          expect([m.calls, m.successes, m.failures]).to.deep.equal([2, 1, 1]);
          expect(m.stages[0]).to.include({ availableSlots: 1 });
          expect(drained, 'the drain watch heard the call end').to.equal(true);
        });
      }
    }
  }
});
