// bulwark/fetch as published (`npm run build` first): it takes the core's helpers from the package
// itself, so the option errors it throws are the core's classes in both module formats, and the
// entry bundles no second copy of them.
import { expect } from 'chai';
import { thrownBy } from '../support/promises.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as core from 'bulwark';
import * as fetchEntry from 'bulwark/fetch';

const require = createRequire(import.meta.url);

const BAD: Array<[object, 'OptionTypeError' | 'OptionRangeError', string, unknown]> = [
  [{ throwOnStatus: 'yes' }, 'OptionTypeError', 'throwOnStatus', 'yes'],
  [{ bogus: 1 }, 'OptionTypeError', 'bogus', 1],
  [{ fetch: 3 }, 'OptionTypeError', 'fetch', 3],
  [{ retryStatuses: 'x' }, 'OptionTypeError', 'retryStatuses', 'x'],
  [{ retryStatuses: [99] }, 'OptionRangeError', 'retryStatuses[0]', 99],
  [{ retryStatuses: [1.5] }, 'OptionRangeError', 'retryStatuses[0]', 1.5],
  [{ retryMethods: [1] }, 'OptionTypeError', 'retryMethods[0]', 1],
];

describe('bulwark/fetch (built package): option errors', () => {
  it("throws the core's OptionTypeError and OptionRangeError, from the ESM entries", () => {
    const policy = core.Policy.builder('p').build();
    for (const [options, kind, option, received] of BAD) {
      const e = thrownBy(() => fetchEntry.resilientFetch(policy as never, options as never));
      expect(e, JSON.stringify(options)).to.be.instanceOf(core[kind]);
      expect(e, JSON.stringify(options)).to.include({ option, received });
    }
  });

  it("throws the core's option errors from the CommonJS entries too", () => {
    const cjsCore = require('bulwark') as typeof core;
    const cjsFetch = require('bulwark/fetch') as typeof fetchEntry;
    const policy = cjsCore.Policy.builder('p').build();
    for (const [options, kind, option] of BAD) {
      const e = thrownBy(() => cjsFetch.resilientFetch(policy as never, options as never));
      expect(e, JSON.stringify(options)).to.be.instanceOf(cjsCore[kind]);
      expect(e, JSON.stringify(options)).to.include({ option });
    }
  });

  it('bundles no copy of the option errors, the validation helpers, the abort listeners or the clock', () => {
    const pkg = require('bulwark/package.json') as {
      exports: Record<string, { import: { default: string }; require: { default: string } }>;
    };
    const entry = pkg.exports['./fetch'];
    for (const file of [entry?.import.default, entry?.require.default]) {
      const root = dirname(require.resolve('bulwark/package.json'));
      const code = readFileSync(join(root, String(file)), 'utf8');
      for (const source of [
        'src/optionErrors.ts',
        'src/internal/validate.ts',
        'src/internal/abortListeners.ts',
        'src/internal/clock.ts',
      ]) {
        expect(code, `${file} bundles ${source}`).not.to.include(`// ${source}`);
      }
      expect(code, file).not.to.include('bulwark.OptionError');
    }
  });
});
