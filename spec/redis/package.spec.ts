// bulwark/redis as published (`npm run build` first): it takes the core's helpers from the
// package itself, so the option errors its stores throw are the core's classes in both module
// formats, and the entry bundles no second copy of them.
import { expect } from 'chai';
import { thrownBy } from '../support/promises.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as core from 'bulwark';
import * as redisEntry from 'bulwark/redis';

const require = createRequire(import.meta.url);

const client = {
  name: 'fake',
  evalsha: () => Promise.resolve(null),
  eval: () => Promise.resolve(null),
  time: () => Promise.resolve(0),
  classifyError: () => 'connection' as const,
};

type Kind = 'OptionTypeError' | 'OptionRangeError';
const BAD: Array<[Record<string, unknown> | undefined, Kind, string]> = [
  [undefined, 'OptionTypeError', 'options'],
  [{ client, key: 'k', bogus: 1 }, 'OptionTypeError', 'bogus'],
  [{ client: 3, key: 'k' }, 'OptionTypeError', 'client'],
  [{ client, key: 3 }, 'OptionTypeError', 'key'],
  [{ client, key: '' }, 'OptionRangeError', 'key'],
  [{ client, key: 'k', prefix: 3 }, 'OptionTypeError', 'prefix'],
  [{ client, key: 'k', prefix: '{a}' }, 'OptionRangeError', 'prefix'],
  [{ client, key: 'k', storeTimeout: 0 }, 'OptionRangeError', 'storeTimeout'],
  [{ client, key: 'k', onStoreError: 'x' }, 'OptionTypeError', 'onStoreError'],
  [{ client, key: 'k', instances: 0 }, 'OptionRangeError', 'instances'],
  [{ client, key: 'k', leaseTtl: 1 }, 'OptionRangeError', 'leaseTtl'],
];

function check(c: typeof core, r: typeof redisEntry): void {
  for (const [options, kind, option] of BAD) {
    // `leaseTtl` is the bulkhead store's own option.
    const e = thrownBy(() => new r.RedisBulkheadStore(options as never));
    const what = `${option}: ${String(e)}`;
    expect(e, what).to.be.instanceOf(c[kind]);
    expect(e, what).to.include({ option });
  }
  const e = thrownBy(() => new r.RedisRateLimiterStore({ client, key: 'k', bogus: 1 } as never));
  expect(e).to.be.instanceOf(c.OptionTypeError);
}

describe('bulwark/redis (built package): option errors', () => {
  it("throws the core's OptionTypeError and OptionRangeError, from the ESM entries", () => {
    check(core, redisEntry);
  });

  it("throws the core's option errors from the CommonJS entries too", () => {
    check(require('bulwark') as typeof core, require('bulwark/redis') as typeof redisEntry);
  });

  it('bundles no copy of the option errors or the validation helpers', () => {
    const pkg = require('bulwark/package.json') as {
      exports: Record<string, { import: { default: string }; require: { default: string } }>;
    };
    const entry = pkg.exports['./redis'];
    const root = dirname(require.resolve('bulwark/package.json'));
    for (const file of [entry?.import.default, entry?.require.default]) {
      const code = readFileSync(join(root, String(file)), 'utf8');
      for (const source of [
        'src/optionErrors.ts',
        'src/internal/duration.ts',
        'src/internal/validate.ts',
      ]) {
        expect(code, `${file} bundles ${source}`).not.to.include(`// ${source}`);
      }
      expect(code, file).not.to.include('bulwark.OptionError');
    }
  });
});
