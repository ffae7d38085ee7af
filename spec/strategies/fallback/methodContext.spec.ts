// Which fallback methods a policy reads the clock for at `execute` (R-POL-7): every method that
// can reach the context (its second argument) gets the call's start as `ctx.startedAt`, and a
// method of the error alone costs no clock read.
import { expect } from 'chai';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { Fallback } from '../../../src/strategies/fallback/Fallback.js';
import { ManualClock } from '../../support/clock.js';
import { deferred } from '../../support/promises.js';

type Method = (error: unknown, ctx: ExecutionContext) => unknown;

/** Runs one failing call through a fallback of `method`; returns what it recovered with. */
async function recover(method: Method, clock: ManualClock): Promise<unknown> {
  const policy = Policy.builder('p').clock(clock).fallback({ method }).build();
  const failing = deferred<never>();
  const recovered = policy.execute(() => failing.promise);
  await clock.advance(100);
  failing.reject(new Error('down'));
  return recovered;
}

const startOf = (ctx: unknown): number => (ctx as ExecutionContext).startedAt;

describe('Fallback method in a policy: the start it sees', () => {
  it('gives a method that reaches the context however it declares it the time at `execute`', async () => {
    const methods: Record<string, Method> = {
      'a second parameter': (_error, ctx: unknown) => startOf(ctx),
      'a rest parameter': (_error, ...rest: unknown[]) => startOf(rest[0]),
      'a default value': (_error, ctx: unknown = undefined) => startOf(ctx),
      'a destructured error': (({ message }: Error, ...rest: unknown[]) =>
        message && startOf(rest[0])) as Method,
      'only `arguments`': function (_error: unknown) {
        // eslint-disable-next-line prefer-rest-params -- a method that declares one parameter
        return startOf(arguments[1]);
      },
      'a bound function': ((_bound: unknown, _error: unknown, ctx: unknown) => startOf(ctx)).bind(
        null,
        'bound',
      ),
      'a method shorthand': {
        recover(_error: unknown, ...rest: unknown[]) {
          return startOf(rest[0]);
        },
      }.recover,
    };
    for (const [name, method] of Object.entries(methods)) {
      const clock = new ManualClock(1_000);
      expect(await recover(method, clock), name).to.equal(1_000);
    }
  });

  it('reads no clock for a method of the error alone', async () => {
    const methods: Record<string, Method> = {
      arrow: (error) => String(error),
      'async arrow': async (error) => String(error),
      'no parameter': () => 'none',
      function: function substitute(error: unknown) {
        return String(error);
      },
      'method shorthand': {
        substitute(error: unknown) {
          return String(error);
        },
      }.substitute,
    };
    for (const [name, method] of Object.entries(methods)) {
      const clock = new ManualClock(1_000);
      expect(await recover(method, clock), name).to.be.a('string');
      expect(clock.reads, name).to.equal(0);
    }
  });

  it('tells the two apart by what the method declares', () => {
    const takes = (method: unknown): boolean =>
      new Fallback({ method: method as Method }).takesContext;
    // One plain parameter (or none), and no `arguments` or `eval`: the context is out of reach.
    for (const source of [
      '(error) => 0',
      'error => 0',
      'error => fail(error, 1)',
      'async error => 0',
      'async  error => 0',
      'error=>0',
      'async (error) => 0',
      '( error ) => 0',
      '() => 0',
      'async => 0',
      '$e => 0',
      'function (error) { return 0; }',
      'function named(e) { return 0; }',
      'async function named(e) { return 0; }',
      'function* gen(e) { yield 0; }',
      '({ *gen(e) { yield 0; } }).gen',
      '({ async run(e) { return 0; } }).run',
    ]) {
      expect(takes(new Function(`return ${source}`)()), source).to.equal(false);
    }
    // Anything else may reach it: read the clock.
    for (const source of [
      '(error, ctx) => 0',
      '(error, ...rest) => 0',
      '(...args) => 0',
      '(error, ctx = null) => 0',
      '(error = null) => 0',
      '({ message }) => message',
      '([first]) => first',
      '(error /* , ctx */) => 0',
      'function (error) { return arguments[1]; }',
      'function (error) { return eval("0"); }',
      '({ [key(0)](error, ...rest) { return 0; } })[key(0)]',
      '({ "a(b)"(error, ...rest) { return 0; } })["a(b)"]',
      // A name outside ASCII only costs the read.
      '(érreur) => 0',
      'class {}',
    ]) {
      const key = (n: number): string => `k${n}`;
      expect(takes(new Function('key', `return ${source}`)(key)), source).to.equal(true);
    }
    // Code the source does not show: a native or bound function, a proxy.
    expect(takes(String), 'native').to.equal(true);
    expect(takes(((e: unknown) => e).bind(null)), 'bound').to.equal(true);
    expect(takes(new Proxy((e: unknown) => e, {})), 'proxy').to.equal(true);
    const revocable = Proxy.revocable((e: unknown) => e, {});
    revocable.revoke();
    expect(takes(revocable.proxy), 'revoked proxy').to.equal(true);
    expect(new Fallback({ value: 0 }).takesContext, 'a value').to.equal(false);
  });
});
