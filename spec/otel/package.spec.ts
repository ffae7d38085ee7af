// bulwark/otel as published (`npm run build` first): it takes the core's helpers from the package
// itself, so the option errors `instrument` throws are the core's classes in both module formats,
// and the entry bundles no second copy of them.
import { expect } from 'chai';
import { thrownBy } from '../support/promises.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as core from 'bulwark';
import * as otelEntry from 'bulwark/otel';

const require = createRequire(import.meta.url);

const BAD: Array<[unknown, string, unknown]> = [
  [{ bogus: 1 }, 'bogus', 1],
  [{ keyAttribute: 'yes' }, 'keyAttribute', 'yes'],
  [{ meter: 3 }, 'meter', 3],
  [{ attributes: ['a'] }, 'attributes', ['a']],
  ['fast', 'options', 'fast'],
];

describe('bulwark/otel (built package): option errors', () => {
  it("throws the core's OptionTypeError, from the ESM entries", () => {
    const policy = core.Policy.builder('p').build();
    for (const [options, option, received] of BAD) {
      const e = thrownBy(() => otelEntry.instrument(policy, options as never));
      expect(e, JSON.stringify(options)).to.be.instanceOf(core.OptionTypeError);
      expect(e, JSON.stringify(options)).to.deep.include({ option, received });
    }
  });

  it("throws the core's OptionTypeError from the CommonJS entries too", () => {
    const cjsCore = require('bulwark') as typeof core;
    const cjsOtel = require('bulwark/otel') as typeof otelEntry;
    const policy = cjsCore.Policy.builder('p').build();
    for (const [options, option] of BAD) {
      const e = thrownBy(() => cjsOtel.instrument(policy, options as never));
      expect(e, JSON.stringify(options)).to.be.instanceOf(cjsCore.OptionTypeError);
      expect(e, JSON.stringify(options)).to.include({ option });
    }
  });

  it('bundles no copy of the option errors or the validation helpers', () => {
    const pkg = require('bulwark/package.json') as {
      exports: Record<string, { import: { default: string }; require: { default: string } }>;
    };
    const entry = pkg.exports['./otel'];
    const root = dirname(require.resolve('bulwark/package.json'));
    for (const file of [entry?.import.default, entry?.require.default]) {
      const code = readFileSync(join(root, String(file)), 'utf8');
      for (const source of ['src/optionErrors.ts', 'src/internal/validate.ts']) {
        expect(code, `${file} bundles ${source}`).not.to.include(`// ${source}`);
      }
      expect(code, file).not.to.include('bulwark.OptionError');
    }
  });
});
