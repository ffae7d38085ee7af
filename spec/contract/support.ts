// Helpers for the contract specs, which check the rules of docs/CONTRACT.md one by one against
// the built package (`bulwark`, `bulwark/redis`, `bulwark/otel` resolve to dist/ by the package's
// self-reference, so `node build.mjs` must have run). The manual clock is spec/support/clock.ts.
import { createRequire } from 'node:module';
export { flush, never, rejectionOf, settle, thrownBy } from '../support/promises.js';

/** The CommonJS build of the core, loaded as a `require` user would load it. */
export function requireCore(): typeof import('bulwark') {
  return createRequire(import.meta.url)('bulwark') as typeof import('bulwark');
}
