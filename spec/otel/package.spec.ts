// bulwark/otel as published (`npm run build` first): it takes the core's helpers from the package
// itself, so the option errors `instrument` throws are the core's classes in both module formats,
// and the entry bundles no second copy of them.
import { expect } from 'chai';
import { build } from 'esbuild';
import { thrownBy } from '../support/promises.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
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

describe('bulwark/otel (built package): what a bundle carries', () => {
  it('leaves the registry out of a browser bundle of `{ Policy }` and `instrument`', async function () {
    this.timeout(30_000);
    const root = dirname(require.resolve('bulwark/package.json'));
    // The package's own modules a minified browser bundle of `code` is made of, as esbuild (what
    // size-limit runs) resolves the package: `bulwark/otel`'s import of 'bulwark' is the ESM core.
    const modulesOf = async (code: string): Promise<string[]> => {
      const { metafile } = await build({
        stdin: { contents: code, resolveDir: root },
        bundle: true,
        minify: true,
        write: false,
        metafile: true,
        format: 'esm',
        platform: 'browser',
        logLevel: 'silent',
      });
      const [output] = Object.values(metafile.outputs);
      return Object.keys(output?.inputs ?? {})
        .map((file) => relative(root, join(root, file)).split('\\').join('/'))
        .filter((file) => file.startsWith('dist/esm/'));
    };
    const policyAlone = await modulesOf("import { Policy } from 'bulwark'; console.log(Policy);");
    const withOtel = await modulesOf(
      "import { Policy } from 'bulwark'; import { instrument } from 'bulwark/otel'; console.log(Policy, instrument);",
    );
    expect(withOtel).to.include('dist/esm/otel/index.js');
    const added = withOtel.filter((file) => !policyAlone.includes(file));
    expect(added.filter((file) => file.startsWith('dist/esm/registry/'))).to.deep.equal([]);
    const registry = await modulesOf(
      "import { PolicyRegistry } from 'bulwark'; console.log(PolicyRegistry);",
    );
    expect(registry).to.include('dist/esm/registry/PolicyRegistry.js');
  });
});
