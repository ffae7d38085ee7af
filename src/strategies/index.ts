// The kinds of stage, one line each. Adding a kind: a folder strategies/<kind>/ with its
// primitive, step and descriptor (kind.ts), and one line here (docs/ARCHITECTURE.md).
import type { KindDescriptor } from './descriptor.js';
import { BULKHEAD } from './bulkhead/kind.js';
import { CHAOS } from './chaos/kind.js';
import { CIRCUIT_BREAKER } from './circuit-breaker/kind.js';
import { FALLBACK } from './fallback/kind.js';
import { HEDGE } from './hedge/kind.js';
import { RATE_LIMITER } from './rate-limiter/kind.js';
import { RETRY } from './retry/kind.js';
import { RETRY_BUDGET } from './retry-budget/kind.js';
import { TIMEOUT } from './timeout/kind.js';

/** @internal Every kind, in the order the registry builds shared instances. */
export const KINDS: KindDescriptor[] = [
  RATE_LIMITER,
  BULKHEAD,
  TIMEOUT,
  CIRCUIT_BREAKER,
  RETRY_BUDGET,
  RETRY,
  FALLBACK,
  HEDGE,
  CHAOS,
];

/**
 * @internal Adds a kind (a spec's toy strategy): everything that iterates over {@link KINDS}
 * sees it from then on. Returns the function that removes it again.
 */
export function registerKind(kind: KindDescriptor): () => void {
  if (KINDS.some((k) => k.kind === kind.kind)) {
    throw new Error(`a kind "${kind.kind}" is already registered`);
  }
  KINDS.push(kind);
  return () => {
    const i = KINDS.indexOf(kind);
    if (i !== -1) KINDS.splice(i, 1);
  };
}
