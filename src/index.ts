export type { Clock } from './internal/clock.js';
export { systemClock } from './internal/clock.js';
export type { Duration } from './internal/duration.js';
export { parseDuration } from './internal/duration.js';
export type { ErrorFilter } from './internal/validate.js';
export type { ResilienceErrorCode } from './errors.js';
export {
  ResilienceError,
  RateLimitExceededError,
  BulkheadFullError,
  OperationTimeoutError,
  CircuitOpenError,
  StoreUnavailableError,
  isResilienceError,
  isRateLimitExceededError,
  isBulkheadFullError,
  isOperationTimeoutError,
  isCircuitOpenError,
  isStoreUnavailableError,
} from './errors.js';
export { CircuitState } from './primitives/CircuitState.js';
