// Packs the package as npm would publish it and checks the tarball with publint and
// @arethetypeswrong/cli, so the exports map, both formats and their declarations are verified.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-pack-'));
try {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    encoding: 'utf8',
  });
  const tarball = join(dir, JSON.parse(out)[0].filename);
  execFileSync('npx', ['publint', tarball, '--strict'], { stdio: 'inherit' });
  // Every resolution mode, node10 included: its subpath types come from `typesVersions`.
  execFileSync('npx', ['attw', tarball], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
