// The kinds of stage, one line each. Adding a kind: a folder strategies/<kind>/ with its
// primitive, step and descriptor (kind.ts), and one line here (docs/ARCHITECTURE.md).
import type { KindDescriptor } from './descriptor.js';
import { BULKHEAD } from './bulkhead/kind.js';
import { CIRCUIT_BREAKER } from './circuit-breaker/kind.js';
import { FALLBACK } from './fallback/kind.js';
import { RATE_LIMITER } from './rate-limiter/kind.js';
import { RETRY } from './retry/kind.js';
import { TIMEOUT } from './timeout/kind.js';

/** @internal Every kind, in the order the registry builds shared instances. */
export const KINDS: KindDescriptor[] = [
  RATE_LIMITER,
  BULKHEAD,
  TIMEOUT,
  CIRCUIT_BREAKER,
  RETRY,
  FALLBACK,
];

/** @internal Adds a kind (a spec's toy strategy); every iteration over {@link KINDS} sees it. */
export function registerKind(kind: KindDescriptor): void {
  if (!KINDS.some((k) => k.kind === kind.kind)) KINDS.push(kind);
}
