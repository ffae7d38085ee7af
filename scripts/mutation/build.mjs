// Stryker's build step, run once in its sandbox after the sources are instrumented: the package
// build (dist/, which spec/contract/ reads) and then the specs (.spec-build/, which the rest of
// the specs run from). Stryker runs one command without a shell, so `&&` is not available there.
//
// Stryker links node_modules/ into the sandbox only after this step. Bare imports (esbuild) find
// the project's node_modules/ above the sandbox, but build.mjs runs tsc by its path under
// ./node_modules, so the link is made for the build's duration and removed again for Stryker.
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// The instrumented sources are built without shortening internal property names (build.mjs):
// the mutants are judged on the code as written, and the sandbox skips the name analysis.
process.env.MANGLE ??= '0';

let linked = false;
if (!existsSync('node_modules')) {
  let dir = resolve('..');
  while (!existsSync(join(dir, 'node_modules')) && dirname(dir) !== dir) dir = dirname(dir);
  symlinkSync(join(dir, 'node_modules'), 'node_modules', 'junction');
  linked = true;
}
try {
  await import('../../build.mjs');
  await import('../build-specs.mjs');
} finally {
  if (linked) rmSync('node_modules');
}
