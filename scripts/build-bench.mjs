// Compiles benchmarks/ (TypeScript) file by file into .bench-build/ with esbuild. Nothing is
// bundled: `bulwark` stays an import of the built package (dist/, by self-reference), and the
// runner can load the bulwark scenarios lazily and skip them when dist/ lacks the policy API.
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const outdir = '.bench-build';
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: walk('benchmarks').filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
  outdir,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
