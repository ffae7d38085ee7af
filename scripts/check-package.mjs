// Packs the package as npm would publish it and checks the tarball with publint and
// @arethetypeswrong/cli, so the exports map, both formats and their declarations are verified,
// and checks that each subpath's folder (`fetch/package.json`, ...) sends tools that do not read
// `exports` to the files `exports` names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-pack-'));
try {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    encoding: 'utf8',
  });
  const [packed] = JSON.parse(out);
  const tarball = join(dir, packed.filename);
  subpathFolders(new Set(packed.files.map((file) => file.path)));
  execFileSync('npx', ['publint', tarball, '--strict'], { stdio: 'inherit' });
  // Every resolution mode, node10 included: its subpath types come from the subpath folders.
  execFileSync('npx', ['attw', tarball], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Resolvers that do not read `exports` (TypeScript's `node10`, Jest before 28, webpack 4,
 * eslint-plugin-import's Node resolver) find `bulwark/fetch` as the folder `fetch/` and read its
 * package.json: its `main` must be the file `require` gets through `exports`, its `module` the
 * ES build a bundler gets, its `types` the ES declarations (as the package's own `types`), and
 * all of them must be in the tarball.
 */
function subpathFolders(files) {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const problems = [];
  for (const [subpath, conditions] of Object.entries(pkg.exports)) {
    if (subpath === '.' || subpath === './package.json') continue;
    const folder = subpath.slice(2);
    const manifest = `${folder}/package.json`;
    if (!files.has(manifest)) {
      problems.push(`${manifest} is not in the tarball`);
      continue;
    }
    const fields = JSON.parse(readFileSync(manifest, 'utf8'));
    const expected = {
      main: conditions.require.default,
      module: conditions.default.default,
      types: conditions.default.types,
    };
    for (const [field, target] of Object.entries(expected)) {
      const actual = fields[field] === undefined ? undefined : posix.join(folder, fields[field]);
      if (actual !== posix.normalize(target)) {
        problems.push(`${manifest}: "${field}" is ${fields[field]}, not ${target} as in exports`);
      } else if (!files.has(actual)) {
        problems.push(`${manifest}: "${field}" names ${actual}, which is not in the tarball`);
      }
    }
  }
  if (problems.length > 0) throw new Error(`subpath folders:\n  ${problems.join('\n  ')}`);
}
