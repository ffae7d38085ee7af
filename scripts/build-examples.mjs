// Compiles examples/ (TypeScript) file by file with esbuild, and copies their data files (YAML),
// keeping the folder layout: examples/pricing/main.ts -> <outdir>/pricing/main.js. Nothing is
// bundled: `bulwark` stays an import of the built package (dist/, by self-reference), so the
// output folder must be inside this repository and `npm run build` must have run.
//
//   node scripts/build-examples.mjs [outdir]      (default .examples-build/run)
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const outdir = process.argv[2] ?? join('.examples-build', 'run');
const files = walk('examples');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
  outdir,
  outbase: 'examples',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});
for (const file of files.filter((f) => /\.(ya?ml|json)$/.test(f) && !f.endsWith('tsconfig.json'))) {
  const target = join(outdir, relative('examples', file));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}
