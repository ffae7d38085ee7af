// Builds the package: esbuild emits the ESM and CJS JavaScript, tsc emits the declarations,
// which are copied next to each format (.d.ts for ESM, .d.cts for CJS).
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

rmSync('dist', { recursive: true, force: true });

const common = {
  entryPoints: entries,
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  external: ['@opentelemetry/api', 'ioredis', 'redis'],
  logLevel: 'warning',
  plugins: [coreAsExternal],
};

await Promise.all([
  build({ ...common, format: 'esm', outdir: 'dist/esm', outExtension: { '.js': '.js' } }),
  build({ ...common, format: 'cjs', outdir: 'dist/cjs', outExtension: { '.js': '.cjs' } }),
]);

execFileSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'],
  {
    stdio: 'inherit',
  },
);

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

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
