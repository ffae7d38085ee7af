// The one rule for whether code of the user's can see the context a policy passes it: a thunk
// (the context first) by its `length` on every call, a fallback method (the context second) by
// its source, read once.
import { expect } from 'chai';
import { declares, reaches } from '../../src/internal/arity.js';

const fromSource = (source: string): (() => unknown) =>
  new Function(`return ${source}`)() as () => unknown;

describe('arity: who can see the context', () => {
  it('declares: by `length`, which stops at a rest parameter or a default value', () => {
    expect(declares((ctx: unknown) => ctx, 0)).to.equal(true);
    expect(declares(() => 0, 0)).to.equal(false);
    expect(
      declares((...args: unknown[]) => args, 0),
      'a rest parameter',
    ).to.equal(false);
    expect(declares((error: unknown, ctx: unknown) => [error, ctx], 1)).to.equal(true);
    expect(declares((error: unknown) => error, 1)).to.equal(false);
    const hostile = new Proxy(() => 0, {
      get: () => {
        throw new Error('no');
      },
    });
    expect(declares(hostile, 0), 'a length that cannot be read').to.equal(true);
  });

  it('reaches: a function sees the argument at a position unless its source lists fewer plain parameters and no `arguments` or `eval`', () => {
    const at0: Array<[string, boolean]> = [
      ['() => 0', false],
      ['async () => 0', false],
      ['function () { return 0; }', false],
      ['(ctx) => 0', true],
      ['ctx => 0', true],
      ['(...args) => 0', true],
      ['(ctx = null) => 0', true],
      ['function () { return arguments[0]; }', true],
      ['function () { return eval("0"); }', true],
    ];
    for (const [source, expected] of at0) {
      expect(reaches(fromSource(source), 0), source).to.equal(expected);
    }
    const at1: Array<[string, boolean]> = [
      ['(error) => 0', false],
      ['error => 0', false],
      ['() => 0', false],
      ['(error, ctx) => 0', true],
      ['(error, ...rest) => 0', true],
    ];
    for (const [source, expected] of at1) {
      expect(reaches(fromSource(source), 1), source).to.equal(expected);
    }
    expect(reaches(((e: unknown) => e).bind(null), 1), 'bound').to.equal(true);
    const revocable = Proxy.revocable((e: unknown) => e, {});
    revocable.revoke();
    expect(reaches(revocable.proxy, 1), 'revoked proxy').to.equal(true);
  });
});
