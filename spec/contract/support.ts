// Helpers for the contract specs, which check the rules of docs/CONTRACT.md one by one against
// the built package (`bulwark`, `bulwark/redis`, `bulwark/otel` resolve to dist/ by the package's
// self-reference, so `node build.mjs` must have run; in Node that is the CommonJS build, which
// `import` reaches through dist/node/). The manual clock is spec/support/clock.ts.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
export { flush, never, rejectionOf, settle, thrownBy } from '../support/promises.js';

/** The CommonJS build of the core, loaded as a `require` user would load it. */
export function requireCore(): typeof import('bulwark') {
  return createRequire(import.meta.url)('bulwark') as typeof import('bulwark');
}

/**
 * Another copy of the package in this process: the ESM build of the core, loaded by its path. In
 * Node, `import` and `require` of `bulwark` both load the CommonJS build (one copy); a second copy
 * is what a second version installed beside it, or code bundled with its own copy, brings.
 */
export const otherCopy = (await import(
  pathToFileURL(resolve('dist/esm/index.js')).href
)) as typeof import('bulwark');

/** `bulwark/fetch` of that other copy (its ESM build, by its path). */
export const otherFetch = (await import(
  pathToFileURL(resolve('dist/esm/fetch/index.js')).href
)) as typeof import('bulwark/fetch');
