// Loaded before any spec in the mutation run (stryker.config.mjs `mochaOptions.require`). The
// contract specs require the built package (dist/) lazily, inside a test, so its load-time code
// (option lists, kind descriptors, frozen defaults) would count as covered by that one test, and
// a mutant there would "survive" every later run of it against the copy already loaded. Loaded
// here, before the first test, that code is static: Stryker reloads the specs to test it.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('bulwark');
await import('bulwark');
