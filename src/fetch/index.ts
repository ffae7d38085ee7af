/**
 * `bulwark/fetch`: `fetch` through a policy. Failure statuses (503, 429, ...) become
 * {@link HttpStatusError}s that retry, circuit breaker and fallback see; `Retry-After` is read
 * into `retryAfterMs`; only requests that are safe to send again are sent again; discarded
 * responses are cancelled. Uses the global `fetch` (Node >= 20, Deno, Bun, browsers) or any
 * function of the same shape.
 *
 * @example
 * ```ts
 * import { Policy } from 'bulwark';
 * import { isRetryable, resilientFetch } from 'bulwark/fetch';
 *
 * const policy = Policy.builder<Response>('api')
 *   .retry({ maxAttempts: 3, delay: '200ms', backoff: 2, retryOn: isRetryable })
 *   .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
 *   .timeout('2s')
 *   .build();
 * const http = resilientFetch(policy);
 * const res = await http('https://api.example.com/users/1');
 * ```
 *
 * @packageDocumentation
 */
export type {
  FetchFunction,
  FetchPolicy,
  ResilientFetchFunction,
  ResilientFetchInit,
  ResilientFetchOptions,
} from './resilientFetch.js';
export { isRetryable, resilientFetch } from './resilientFetch.js';
export type { HttpStatusErrorJSON, HttpStatusErrorOptions } from './HttpStatusError.js';
export {
  HttpStatusError,
  isHttpStatusError,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
} from './HttpStatusError.js';
