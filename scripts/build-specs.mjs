// Compiles src/ and spec/ (TypeScript) file by file into .spec-build/ with esbuild, keeping the
// folder layout so the specs import the sources exactly as written.
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
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
await build({
  entryPoints,
  outdir,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});
