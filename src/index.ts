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
export type {
  CircuitBreakerOptions,
  CircuitStateChange,
  CircuitStateListener,
} from './primitives/CircuitBreaker.js';
export { CircuitBreaker } from './primitives/CircuitBreaker.js';
export type {
  CircuitBreakerStore,
  CircuitBreakerStoreConfig,
  CircuitAdmission,
  CircuitOutcome,
  CircuitBreakerMetrics,
} from './primitives/CircuitBreakerStore.js';
export { InMemoryCircuitBreakerStore } from './primitives/CircuitBreakerStore.js';
export type { RetryOptions, RetryInfo } from './primitives/Retry.js';
export { Retry } from './primitives/Retry.js';
export type {
  FallbackOptions,
  FallbackValueOptions,
  FallbackMethodOptions,
  FallbackFilterOptions,
} from './primitives/Fallback.js';
export { Fallback } from './primitives/Fallback.js';
export type { TimeLimiterOptions } from './primitives/TimeLimiter.js';
export { TimeLimiter } from './primitives/TimeLimiter.js';
export type { RateLimiterOptions } from './primitives/RateLimiter.js';
export { RateLimiter } from './primitives/RateLimiter.js';
export type { RateLimiterStore, RateLimiterStoreConfig } from './primitives/RateLimiterStore.js';
export { InMemoryRateLimiterStore } from './primitives/RateLimiterStore.js';
export type { BulkheadOptions } from './primitives/Bulkhead.js';
export { Bulkhead } from './primitives/Bulkhead.js';
export type {
  BulkheadStore,
  BulkheadStoreConfig,
  BulkheadTicket,
} from './primitives/BulkheadStore.js';
export { InMemoryBulkheadStore } from './primitives/BulkheadStore.js';
export type { ExecutionContext, Thunk } from './pipeline/ExecutionContext.js';
export type { Stage, StageInfo } from './pipeline/Stage.js';
export type {
  PolicyEvent,
  PolicyEventMap,
  PolicyListener,
  RejectionReason,
} from './pipeline/events.js';
export type { PolicyMetrics, StageState } from './pipeline/metrics.js';
export type { ExecuteOptions } from './pipeline/Policy.js';
export { Policy } from './pipeline/Policy.js';
export type { PolicyBuilder, PolicyFallbackOptions } from './pipeline/PolicyBuilder.js';
export type { ResilienceDecorator, FallbackResultMismatch } from './decorators/index.js';
export {
  retry,
  circuitBreaker,
  rateLimiter,
  bulkhead,
  timeLimiter,
  fallback,
  usePolicy,
} from './decorators/index.js';
export type {
  PolicyRegistryHealth,
  PolicyRegistryOptions,
  PolicyRegistrySnapshot,
  PrimitiveByKind,
} from './registry/PolicyRegistry.js';
export { PolicyRegistry } from './registry/PolicyRegistry.js';
export type { ResilienceConfig, PrimitiveKind, ConfigStageKind } from './registry/config.js';
