// Preloaded into Stryker's processes by stryker.config.mjs. Stryker's mocha runner (9.x) reaches
// into Mocha's CLI helpers with extensionless `require`s (`mocha/lib/cli/run-helpers`), and
// Mocha 12 renamed those files to `.cjs`, which Node's CommonJS resolver does not try on its
// own. Teaching the resolver the `.cjs` extension (loaded exactly as `.js`) is enough; nothing
// else changes.
const Module = require('node:module');

if (!Object.hasOwn(Module._extensions, '.cjs')) {
  Module._extensions['.cjs'] = Module._extensions['.js'];
}
