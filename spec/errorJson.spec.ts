// What `JSON.stringify` (and so a logger) writes for the errors that are not ResilienceErrors: the
// option errors, an injected fault and a rejected result. Each writes its message, and a value
// the caller handed over (an option's `received`, a rejected `result`) only as far as a message
// would show it: never a megabyte, never an object (a client, a whole configuration) whole.
import { expect } from 'chai';
import { RejectedResultError } from '../src/errors.js';
import { OptionRangeError, OptionTypeError } from '../src/optionErrors.js';
import { InjectedFaultError } from '../src/strategies/chaos/Chaos.js';
import { PolicyRegistry } from '../src/registry/PolicyRegistry.js';
import { Retry } from '../src/strategies/retry/Retry.js';
import { thrownBy } from './support/promises.js';

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

class Client {
  readonly options = { host: 'db', password: 'S3cr3t' };
}

describe('Errors as JSON', () => {
  it('an InjectedFaultError writes its name, code and message', () => {
    expect(json(new InjectedFaultError('dependency down'))).to.deep.equal({
      name: 'InjectedFaultError',
      code: 'INJECTED_FAULT',
      message: 'dependency down',
    });
  });

  it('an option error writes its name, message, option, expected and received', () => {
    const error = thrownBy(() => new Retry({ maxAttempts: 0 }));
    expect(json(error)).to.deep.equal({
      name: 'RangeError',
      message: '`maxAttempts` must be an integer >= 1, got 0',
      option: 'maxAttempts',
      expected: 'an integer >= 1',
      received: 0,
    });
  });

  it('an option error writes a long string received cut as its message cuts it, and keeps it whole in `received`', () => {
    const text = 'x'.repeat(1_000_000);
    const error = thrownBy(() => new Retry({ delay: text as never })) as OptionTypeError;
    expect(error.received).to.equal(text);
    const written = JSON.stringify(error);
    expect(written.length).to.be.below(1000);
    expect((JSON.parse(written) as { received: string }).received).to.equal(
      `${'x'.repeat(100)}… (1000000 characters)`,
    );
  });

  it('an option error writes no object it received whole: a configuration by its keys, an instance by its class', () => {
    const config = {
      database: { url: 'postgres://app:S3cr3tDbPass@db/prod' },
      resilience: { retry: {} },
    };
    const unknownKey = thrownBy(() => PolicyRegistry.fromConfig(config as never));
    expect(JSON.stringify(unknownKey)).not.to.contain('S3cr3tDbPass');
    const client = new Client();
    const misspelt = new OptionTypeError('clinet', 'a known option', client);
    expect(misspelt.received).to.equal(client);
    expect(json(misspelt)).to.deep.include({ received: 'an instance of Client' });
    expect(json(new OptionTypeError('o', 'x', { a: 1, b: { password: 'p' } }))).to.deep.include({
      received: 'an object with keys a, b',
    });
    expect(json(new OptionTypeError('o', 'x', [1, 2, 3]))).to.deep.include({
      received: 'an array',
    });
  });

  it('an option error writes what JSON cannot hold as its message shows it', () => {
    expect(json(new OptionRangeError('o', 'x', 5n))).to.deep.include({ received: '5n' });
    expect(json(new OptionRangeError('o', 'x', Number.NaN))).to.deep.include({ received: 'NaN' });
    expect(json(new OptionTypeError('o', 'x', function named() {}))).to.deep.include({
      received: 'function named',
    });
  });

  it('names an instance by the class that owns its prototype, and a value that throws when looked at as such', () => {
    class Emitter {}
    class Commander {}
    class Redis extends Commander {}
    // As a mixin leaves it: the prototype's `constructor` is another class's.
    Object.defineProperty(Redis.prototype, 'constructor', { value: Emitter });
    expect(json(new OptionTypeError('o', 'x', new Redis()))).to.deep.include({
      received: 'an instance of Commander',
    });
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('no');
        },
      },
    );
    expect(json(new OptionTypeError('o', 'x', hostile))).to.deep.include({
      received: 'an object that cannot be read',
    });
    // A prototype chain that never ends.
    const looped: object = new Proxy({ a: 1 }, { getPrototypeOf: () => looped });
    expect(json(new OptionTypeError('o', 'x', looped))).to.deep.include({
      received: 'an object with keys a',
    });
  });

  it('takes a class name its prototype does not own only when it reads as one', () => {
    const received = (value: object): unknown =>
      (json(new OptionTypeError('o', 'x', value)) as { received: unknown }).received;
    // Another copy's class, seen through a copy of its prototype: still named.
    class Redis {}
    const copied = Object.create(
      Object.prototype,
      Object.getOwnPropertyDescriptors(Redis.prototype),
    ) as object;
    expect(received(Object.create(copied) as object)).to.equal('an instance of Redis');
    // Any text a prototype says of itself is not a class name.
    const spoof = Object.create({ constructor: { name: 'password=hunter2' } }) as object;
    expect(received(spoof)).to.equal('an object');
    const keyed = Object.assign(Object.create({ constructor: { name: 'a b' } }) as object, {
      host: 'db',
    });
    expect(received(keyed)).to.equal('an object with keys host');
    expect(received(Object.create({ constructor: { name: 'X'.repeat(101) } }) as object)).to.equal(
      'an object',
    );
    // Nor one that claims to own its prototype without being a function.
    const claims: { constructor: { name: string; prototype?: object } } = {
      constructor: { name: 'token=abc' },
    };
    claims.constructor.prototype = claims;
    expect(received(Object.create(claims) as object)).to.equal('an object');
  });

  it('loggers that copy own fields (pino) find no `received` to copy whole', () => {
    const error = new OptionTypeError('clinet', 'a known option', new Client());
    expect(Object.keys(error)).to.deep.equal(['name', 'option', 'expected']);
  });

  it('a RejectedResultError writes its name, code, message and its result as a message would show it', () => {
    expect(json(new RejectedResultError(503))).to.deep.equal({
      name: 'RejectedResultError',
      code: 'REJECTED_RESULT',
      message: "The result was rejected by the fallback's onResult",
      result: 503,
    });
    const body = 'y'.repeat(1_000_000);
    expect(json(new RejectedResultError(body))).to.deep.include({
      result: `${'y'.repeat(100)}… (1000000 characters)`,
    });
    const rejected = new RejectedResultError(new Client());
    expect(JSON.stringify(rejected)).not.to.contain('S3cr3t');
    expect(json(rejected)).to.deep.include({ result: 'an instance of Client' });
    expect(Object.keys(rejected)).not.to.include('result');
  });
});
