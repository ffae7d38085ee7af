// Compiles src/ and spec/ (TypeScript) file by file into .spec-build/ with esbuild, keeping the
// folder layout so the specs import the sources exactly as written.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const entryPoints = ['src', 'spec', 'benchmarks']
  .flatMap((d) => {
    try {
      return walk(d);
    } catch {
      return [];
    }
  })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));

// SPEC_OUT lets several builds run side by side without clearing each other's output.
const outdir = process.env.SPEC_OUT ?? '.spec-build';
rmSync(outdir, { recursive: true, force: true });
// Nothing is bundled, so an import of a Lua script (src/redis/scripts/*.lua, inlined as text
// by the package build) is pointed at that script compiled to a module of its own, <name>.lua.js.
const luaImports = {
  name: 'lua-imports',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(
        /(from\s+['"][^'"]+\.lua)(['"])/g,
        '$1.js$2',
      ),
      loader: 'ts',
    }));
  },
};
const common = {
  outdir,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, entryPoints, sourcemap: 'inline', plugins: [luaImports] }),
  build({
    ...common,
    entryPoints: walk('src').filter((f) => f.endsWith('.lua')),
    loader: { '.lua': 'text' },
    outExtension: { '.js': '.lua.js' },
  }),
]);
