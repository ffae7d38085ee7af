// bulwark/fetch as published (`npm run build` first): it takes the core's helpers from the package
// itself, so the option errors it throws are the core's classes in both module formats, and the
// entry bundles no second copy of them.
import { expect } from 'chai';
import { thrownBy } from '../support/promises.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
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

describe('the built package: class names', () => {
  // A bundle renames a class that names itself in its body (`var X = class _X`), and a logger
  // prints an error by its constructor's name (`_HttpStatusError: HTTP status 503`).
  const ENTRIES = ['bulwark', 'bulwark/fetch', 'bulwark/redis', 'bulwark/otel'];

  function classes(entry: Record<string, unknown>): Array<[string, string]> {
    return Object.entries(entry)
      .filter(
        (pair): pair is [string, (...args: never[]) => unknown] =>
          typeof pair[1] === 'function' &&
          /^class\b/.test(Function.prototype.toString.call(pair[1])),
      )
      .map(([key, value]) => [key, value.name]);
  }

  it('names every exported class of every ESM entry by its export', async () => {
    let count = 0;
    for (const entry of ENTRIES) {
      const found = classes((await import(entry)) as Record<string, unknown>);
      count += found.length;
      for (const [key, name] of found) expect(name, `${entry} ${key}`).to.equal(key);
    }
    expect(count).to.be.greaterThan(20);
  });

  it('names every exported class of every CommonJS entry by its export', () => {
    let count = 0;
    for (const entry of ENTRIES) {
      const found = classes(require(entry) as Record<string, unknown>);
      count += found.length;
      for (const [key, name] of found) expect(name, `${entry} ${key}`).to.equal(key);
    }
    expect(count).to.be.greaterThan(20);
  });

  it('prints an HttpStatusError under its own name', () => {
    for (const cls of [
      fetchEntry.HttpStatusError,
      (require('bulwark/fetch') as typeof fetchEntry).HttpStatusError,
    ]) {
      const e = new cls(new Response('', { status: 503, statusText: 'Service Unavailable' }));
      expect(cls.name).to.equal('HttpStatusError');
      expect(inspect(e)).to.match(/^HttpStatusError: HTTP status 503 Service Unavailable/);
    }
  });
});
