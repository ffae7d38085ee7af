// Compiles src/ and spec/ (TypeScript) file by file into .spec-build/ with esbuild, keeping the
// folder layout so the specs import the sources exactly as written.
//
// With --dist, the specs are compiled to .spec-build/dist/ importing the built package instead of the
// sources: every import of a core module (`../../src/x.js`) becomes one of dist/esm/x.js, and of
// an adapter's entry (`src/redis/index.js`) one of a copy of dist/esm/redis/index.js in
// .spec-build/dist/adapters/ whose imports of 'bulwark' name dist/esm/index.js: in Node,
// 'bulwark' is the CommonJS build (dist/node/), which would be a second copy of the core beside
// the dist/esm/ modules the specs import; a browser bundle resolves it to dist/esm. The package build
// shortens internal property names (build.mjs), so a spec that reads an internal member is
// rewritten to read it as the package has it (scripts/spec-mangle.mjs). A spec
// that imports a module of an adapter other than its entry (bundled in dist/, so not there on
// its own) compiles to a module that throws; scripts/spec-dist.mjs runs the others. Run
// `npm run build` first.
import { build } from 'esbuild';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { mangleSpecs } from './spec-mangle.mjs';

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const dist = process.argv.includes('--dist');
const root = process.cwd();

const entryPoints = (dist ? ['spec'] : ['src', 'spec', 'benchmarks'])
  .flatMap((d) => {
    try {
      return walk(d);
    } catch {
      return [];
    }
  })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));

// SPEC_OUT lets several builds run side by side without clearing each other's output.
const outdir = dist ? '.spec-build/dist' : (process.env.SPEC_OUT ?? '.spec-build');
rmSync(outdir, { recursive: true, force: true });

/**
 * Where a spec's import of src/ goes in dist/esm: a path relative to the compiled spec, or
 * undefined when dist/ has no such module.
 */
function toDist(importer, specifier) {
  // A query (`signals.js?fresh`: a second instance of the module) stays on the path in dist/.
  const [file, query] = specifier.split('?');
  const target = resolve(dirname(importer), file);
  const inSrc = relative(resolve(root, 'src'), target);
  if (inSrc.startsWith('..') || /^(redis|otel|fetch)[\\/](?!index\.js$)/.test(inSrc)) {
    return undefined;
  }
  const adapter = /^(redis|otel|fetch)[\\/]index\.js$/.exec(inSrc);
  const built = adapter
    ? resolve(root, outdir, 'adapters', adapter[1], 'index.js')
    : resolve(root, 'dist/esm', inSrc);
  if (!adapter && !existsSync(built)) return undefined;
  const compiled = resolve(root, outdir, relative(root, importer));
  const path =
    relative(dirname(compiled), built).split('\\').join('/') + (query ? `?${query}` : '');
  return path.startsWith('.') ? path : `./${path}`;
}

const IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g;

// Nothing is bundled, so an import of a Lua script (src/redis/scripts/*.lua, inlined as text
// by the package build) is pointed at that script compiled to a module of its own, <name>.lua.js.
const luaImports = {
  name: 'lua-imports',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      let contents = (renamed.get(args.path) ?? readFileSync(args.path, 'utf8')).replace(
        /(from\s+['"][^'"]+\.lua)(['"])/g,
        '$1.js$2',
      );
      if (dist) {
        const missing = [];
        contents = contents.replace(IMPORT, (whole, head, quote, specifier) => {
          const target = resolve(dirname(args.path), specifier.split('?')[0]);
          if (relative(resolve(root, 'src'), target).startsWith('..')) return whole;
          const path = toDist(args.path, specifier);
          if (path === undefined) missing.push(specifier);
          return `${head}${quote}${path ?? specifier}${quote}`;
        });
        if (missing.length > 0) {
          // Not in dist/ on its own: the spec stays out of the run (see scripts/spec-dist.mjs).
          contents = `throw new Error(${JSON.stringify(`not in dist/: ${missing.join(', ')}`)});\n`;
        }
      }
      return { contents, loader: 'ts' };
    });
  },
};

if (dist) {
  for (const name of ['redis', 'otel', 'fetch']) {
    const copy = resolve(root, outdir, 'adapters', name, 'index.js');
    const core = relative(dirname(copy), resolve(root, 'dist/esm/index.js')).split('\\').join('/');
    const text = readFileSync(resolve(root, 'dist/esm', name, 'index.js'), 'utf8');
    mkdirSync(dirname(copy), { recursive: true });
    writeFileSync(copy, text.replace(/(from\s*)(["'])bulwark\2/g, `$1$2${core}$2`));
  }
}

const renamed = dist
  ? mangleSpecs(JSON.parse(readFileSync('.tmp/mangle-cache.json', 'utf8')))
  : new Map();

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
  dist
    ? undefined
    : build({
        ...common,
        entryPoints: walk('src').filter((f) => f.endsWith('.lua')),
        loader: { '.lua': 'text' },
        outExtension: { '.js': '.lua.js' },
      }),
]);
