// Builds the package: esbuild emits the ESM and CJS JavaScript, tsc emits the declarations,
// which are copied next to each format (.d.ts for ESM, .d.cts for CJS).
//
// The core's ESM build is one module per source file (not a bundle), so a bundler importing
// `{ Retry }` keeps only the modules Retry reaches: with `"sideEffects": false` in package.json,
// every other module is dropped whole. The CJS build and the adapters stay bundled.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Public entry points: export path -> source file. */
const entries = Object.fromEntries(
  Object.entries({
    index: 'src/index.ts',
    'redis/index': 'src/redis/index.ts',
    'otel/index': 'src/otel/index.ts',
    'fetch/index': 'src/fetch/index.ts',
  }).filter(([, file]) => existsSync(file)),
);

// The adapters (bulwark/redis, bulwark/otel, bulwark/fetch) import the core through
// '../index.js'. At run time that must be the package's own core entry, not a second bundled
// copy, so classes and `instanceof` checks are shared: rewrite it to an external import of
// 'bulwark'.
const coreAsExternal = {
  name: 'core-as-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) =>
      /[\\/]src[\\/](redis|otel|fetch)[\\/]/.test(args.importer)
        ? { path: 'bulwark', external: true }
        : undefined,
    );
  },
};

// A module-level constant made by a call (`const DEFAULTS = Object.freeze({...})`) reads to a
// bundler as a side effect and keeps its module alive even when nothing uses it. These calls have
// none, so the ESM build marks them `/* @__PURE__ */` wherever their value is used (after `=`,
// `(`, `[`, `,`, `:` or `?`; never a statement such as `Object.freeze(this);`, which a bundler
// would then drop). spec/contract/package.spec.ts checks that importing any core module for
// nothing bundles to nothing.
const PURE_CALLS = /([=([,:?]\s*)(Object\.freeze\(|Symbol\.for\(|Promise\.resolve\(\))/g;
const markPureCalls = {
  name: 'mark-pure-calls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(PURE_CALLS, '$1/* @__PURE__ */ $2'),
      loader: 'ts',
    }));
  },
};

rmSync('dist', { recursive: true, force: true });

const common = {
  entryPoints: entries,
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  external: ['@opentelemetry/api', 'ioredis', 'redis'],
  // The Redis stores' Lua scripts (src/redis/scripts/*.lua) are inlined as strings: the package
  // never reads a file at run time.
  loader: { '.lua': 'text' },
  logLevel: 'warning',
  plugins: [coreAsExternal, markPureCalls],
};

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The core's source modules: everything under src/ but the adapters. */
const coreModules = walk('src').filter(
  (file) => file.endsWith('.ts') && !/^src[\\/](redis|otel|fetch)[\\/]/.test(file),
);
const adapters = Object.fromEntries(Object.entries(entries).filter(([name]) => name !== 'index'));

await Promise.all([
  build({
    entryPoints: coreModules,
    bundle: false,
    platform: 'neutral',
    target: common.target,
    sourcemap: true,
    logLevel: common.logLevel,
    plugins: [markPureCalls],
    outbase: 'src',
    format: 'esm',
    outdir: 'dist/esm',
  }),
  build({ ...common, entryPoints: adapters, format: 'esm', outdir: 'dist/esm' }),
  build({ ...common, format: 'cjs', outdir: 'dist/cjs', outExtension: { '.js': '.cjs' } }),
]);

execFileSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'],
  {
    stdio: 'inherit',
  },
);

mkdirSync('dist/esm', { recursive: true });
cpSync('dist/types', 'dist/esm', { recursive: true });
for (const file of walk('dist/types')) {
  if (!file.endsWith('.d.ts')) continue;
  const target = join('dist/cjs', file.slice('dist/types/'.length)).replace(/\.d\.ts$/, '.d.cts');
  mkdirSync(join(target, '..'), { recursive: true });
  // Relative imports in CJS declarations must point at .cjs siblings.
  const text = readFileSync(file, 'utf8')
    .replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.cjs$2')
    .replace(/(import\(['"]\.{1,2}\/[^'"]*?)\.js(['"]\))/g, '$1.cjs$2');
  writeFileSync(target, text);
}
rmSync('dist/types', { recursive: true, force: true });
