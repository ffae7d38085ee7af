// An AbortSignal given where a policy's options go, as a primitive takes it (`execute(fn,
// signal)`): its own keys are none, so without a check it passed for empty options and the
// caller's abort was ignored. Any other object is read for the options it sets.
import { expect } from 'chai';
import { usePolicy } from '../../src/decorators/index.js';
import { isOptionTypeError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf, thrownBy } from '../support/promises.js';

describe('a value given as options that is no options object', () => {
  it('`execute(fn, signal)` rejects with an option error naming `options` that says to pass `{ signal }`, and `fn` never runs', async () => {
    const policy = Policy.builder('p').retry({ maxAttempts: 2 }).build();
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    let calls = 0;
    const error = await rejectionOf(policy.execute(() => ++calls, controller.signal as never));
    expect(isOptionTypeError(error)).to.equal(true);
    expect(error).to.be.instanceOf(TypeError).and.include({
      option: 'options',
      received: controller.signal,
      message:
        'execute: `options` must be an options object, got an AbortSignal: pass `{ signal }`',
    });
    // A signal not aborted is refused the same way: it would have been ignored.
    const live = new AbortController().signal;
    const again = await rejectionOf(policy.execute(() => ++calls, live as never));
    expect((again as Error).message).to.match(/got an AbortSignal: pass `\{ signal \}`$/);
    expect(calls).to.equal(0);
    expect(policy.metrics()).to.include({ calls: 2, failures: 2 });
  });

  it('`execute` reads any other object for the options it sets: one that sets none runs the call', async () => {
    const policy = Policy.builder('p').build();
    // A class whose fields are declared, not set (as TypeScript emits them without
    // `useDefineForClassFields`), has no own keys until a signal is given.
    class CallOptions {
      declare signal?: AbortSignal;
      constructor(signal?: AbortSignal) {
        if (signal) this.signal = signal;
      }
    }
    for (const options of [new CallOptions(), new (class Options {})(), new Date(0)]) {
      expect(await policy.execute(() => 'ran', options as never)).to.equal('ran');
    }
    const controller = new AbortController();
    controller.abort(new Error('caller gone'));
    const error = await rejectionOf(
      policy.execute(() => 'ran', new CallOptions(controller.signal)),
    );
    expect((error as Error).message).to.equal('caller gone');
  });

  it('`execute` still reads plain options, and an object that is not plain but sets an option', async () => {
    const policy = Policy.builder('p').build();
    expect(await policy.execute(() => 'ok', {})).to.equal('ok');
    expect(await policy.execute(() => 'ok', Object.create(null) as object)).to.equal('ok');
    // A class instance carrying `data` (or a `Request` carrying `signal`) sets an option.
    class Call {
      readonly data = { id: 7 };
    }
    expect(await policy.execute((ctx) => ctx.data.get('id'), new Call())).to.equal(7);
    const controller = new AbortController();
    controller.abort(new Error('caller gone'));
    const request = new Request('http://localhost/', { signal: controller.signal });
    const error = await rejectionOf(policy.execute(() => 'ran', request));
    expect((error as Error).message).to.equal('caller gone');
  });

  it('`policy.wrap(fn, signal)` and `usePolicy(policy, signal)` throw where the wrapper is made, saying to pass a picker', () => {
    const policy = Policy.builder('p').retry({ maxAttempts: 2 }).build();
    const signal = new AbortController().signal;
    const cases: Array<[() => unknown, string]> = [
      [() => policy.wrap((x: number) => x, signal as never), 'policy.wrap'],
      [() => usePolicy(policy, signal as never), 'usePolicy'],
    ];
    for (const [make, what] of cases) {
      const error = thrownBy(make);
      expect(isOptionTypeError(error)).to.equal(true);
      expect(error).to.include({
        option: 'options',
        received: signal,
        message: `${what}: \`options\` must be an options object, got an AbortSignal: pass \`{ signal: () => signal }\``,
      });
    }
    expect(() => policy.wrap(() => 1, new Date(0) as never)).not.to.throw();
  });

  it('a picker given as `{ signal: () => signal }` is honoured', async () => {
    const policy = Policy.builder('p').build();
    const controller = new AbortController();
    controller.abort(new Error('caller gone'));
    let calls = 0;
    const wrapped = policy.wrap(() => ++calls, { signal: () => controller.signal });
    expect(((await rejectionOf(wrapped())) as Error).message).to.equal('caller gone');
    const decorated = usePolicy(policy, { signal: () => controller.signal })(() => ++calls);
    expect(((await rejectionOf(decorated())) as Error).message).to.equal('caller gone');
    expect(calls).to.equal(0);
  });
});
