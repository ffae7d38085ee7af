// Runs the specs against the built package (dist/, with its shortened property names) instead of
// the sources, so that a build that breaks the package (a property renamed where something reads
// it by its name, two modules disagreeing on a name) fails `npm test`. build.mjs must have run.
//   node scripts/build-specs.mjs --dist && node scripts/spec-dist.mjs
//
// Left out: the specs of an adapter's own modules (spec/redis: bundled into dist/esm/redis/index.js,
// they are not in dist/ on their own), of the benchmarks (not built), and those that already run
// against dist/ in `npm run spec` (spec/contract, spec/examples). One spec reads the source's
// member names by reflection, which the build renames on purpose.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const out = '.spec-build/dist';
const LEFT_OUT = /^\.spec-build[\\/]dist[\\/]spec[\\/](redis|benchmarks|contract|examples)[\\/]/;
/** Titles of specs about the source's own member names (`grep` pattern). */
const BY_NAME = ['covers every public member of Policy'];

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// A spec of an adapter's own module (not in dist/ on its own) compiled to a module that throws.
const NOT_IN_DIST = 'throw new Error("not in dist/';
const specs = walk(join(out, 'spec'))
  .filter(
    (file) =>
      file.endsWith('.spec.js') &&
      !LEFT_OUT.test(file) &&
      !readFileSync(file, 'utf8').startsWith(NOT_IN_DIST),
  )
  .sort();
// Each of them reads the package from dist/, never a source: else this run would prove nothing.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;
for (const file of walk(join(out, 'spec')).filter((f) => f.endsWith('.js'))) {
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const target = relative(resolve('.'), resolve(dirname(file), specifier));
    if (/^(\.spec-build[\\/](dist[\\/])?)?src[\\/]/.test(target)) {
      throw new Error(`${file} imports a source: ${specifier}`);
    }
  }
}

execFileSync(
  process.execPath,
  [
    'node_modules/mocha/bin/mocha.js',
    '--require',
    join(out, 'spec/setup.js'),
    '--grep',
    BY_NAME.join('|'),
    '--invert',
    ...specs,
  ],
  { stdio: 'inherit' },
);
