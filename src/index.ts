import { linkAbort, listenAbort, unlistenAbort } from './internal/abortListeners.js';
import { wallNow } from './internal/clock.js';
import { notRetryable } from './internal/retryable.js';
import { isPolicyRegistry } from './internal/registries.js';
import { fail } from './internal/duration.js';
import {
  booleanOption,
  functionOption,
  integerOption,
  oneOfOption,
  optionsObject,
  positiveDuration,
  show,
  showInstead,
  showShape,
  stringOption,
} from './internal/validate.js';
import { KINDS } from './strategies/index.js';

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
  RejectedResultError,
  isRejectedResultError,
  isResilienceError,
  isRateLimitExceededError,
  isBulkheadFullError,
  isOperationTimeoutError,
  isCircuitOpenError,
  isStoreUnavailableError,
} from './errors.js';
export type { OptionError, OptionErrorJSON, OptionErrorOptions } from './optionErrors.js';
export {
  OptionTypeError,
  OptionRangeError,
  isOptionError,
  isOptionTypeError,
  isOptionRangeError,
} from './optionErrors.js';
export { CircuitState } from './strategies/circuit-breaker/CircuitState.js';
export type {
  CircuitBreakerOptions,
  CircuitBreakerSnapshot,
  CircuitStateChange,
  CircuitStateListener,
} from './strategies/circuit-breaker/CircuitBreaker.js';
export { CircuitBreaker } from './strategies/circuit-breaker/CircuitBreaker.js';
export type {
  CircuitBreakerStore,
  CircuitBreakerStoreConfig,
  CircuitAdmission,
  CircuitOutcome,
  CircuitBreakerMetrics,
  CircuitWindowSnapshot,
} from './strategies/circuit-breaker/store.js';
export { InMemoryCircuitBreakerStore } from './strategies/circuit-breaker/store.js';
export type {
  BackoffType,
  RetryDelayInput,
  RetryOptions,
  RetryInfo,
} from './strategies/retry/Retry.js';
export { Retry } from './strategies/retry/Retry.js';
export type { RetryBudgetOptions } from './strategies/retry-budget/RetryBudget.js';
export { RetryBudget } from './strategies/retry-budget/RetryBudget.js';
export type { RetryBudgetStore, RetryBudgetStoreConfig } from './strategies/retry-budget/store.js';
export { InMemoryRetryBudgetStore } from './strategies/retry-budget/store.js';
export type {
  FallbackOptions,
  FallbackValueOptions,
  FallbackMethodOptions,
  FallbackFilterOptions,
} from './strategies/fallback/Fallback.js';
export { Fallback } from './strategies/fallback/Fallback.js';
export type { TimeLimiterOptions, TimeoutMode } from './strategies/timeout/TimeLimiter.js';
export { TimeLimiter } from './strategies/timeout/TimeLimiter.js';
export type {
  RateLimiterOptions,
  RateLimiterSnapshot,
} from './strategies/rate-limiter/RateLimiter.js';
export { RateLimiter } from './strategies/rate-limiter/RateLimiter.js';
export type { RateLimiterStore, RateLimiterStoreConfig } from './strategies/rate-limiter/store.js';
export { InMemoryRateLimiterStore } from './strategies/rate-limiter/store.js';
export type { BulkheadOptions } from './strategies/bulkhead/Bulkhead.js';
export { Bulkhead } from './strategies/bulkhead/Bulkhead.js';
export type {
  AdaptiveAlgorithm,
  AdaptiveLimitOptions,
} from './strategies/bulkhead/AdaptiveLimit.js';
export { AdaptiveLimit } from './strategies/bulkhead/AdaptiveLimit.js';
export type {
  BulkheadStore,
  BulkheadStoreConfig,
  BulkheadTicket,
} from './strategies/bulkhead/store.js';
export { InMemoryBulkheadStore } from './strategies/bulkhead/store.js';
export type { HedgeOptions, HedgeOutcome } from './strategies/hedge/Hedge.js';
export { Hedge } from './strategies/hedge/Hedge.js';
export type {
  ChaosOptions,
  ChaosCall,
  ChaosFault,
  ChaosLatency,
  ChaosResult,
} from './strategies/chaos/Chaos.js';
export { Chaos, InjectedFaultError, isInjectedFaultError } from './strategies/chaos/Chaos.js';
export type { ExecutionContext, Thunk } from './pipeline/ExecutionContext.js';
export type { AnyOnly, AttemptWork, Resolved, SignalWork } from './internal/resolved.js';
export type { Stage, StageInfo } from './pipeline/Stage.js';
export { stages, BuiltinStage } from './pipeline/stages.js';
export type {
  CircuitBreakerStageFactory,
  KeyableOptions,
  KeyableStageFactory,
  KeyedStageOptions,
  PlainStageOptions,
  UnkeyedStageOptions,
} from './pipeline/stages.js';
export type { KeyedOptions } from './strategies/keyed/Keyed.js';
export { Keyed } from './strategies/keyed/Keyed.js';
export type {
  ChaosFaultEvent,
  ChaosLatencyEvent,
  ChaosResultEvent,
  PolicyEvent,
  PolicyEventMap,
  PolicyListener,
  RejectedEvent,
  RejectionReason,
} from './pipeline/events.js';
export type { PolicyMetrics, StageState } from './pipeline/metrics.js';
export type { ExecuteOptions, WrapOptions } from './pipeline/Policy.js';
export { Policy } from './pipeline/Policy.js';
export type { PolicyBuilder, PolicyFallbackOptions } from './pipeline/PolicyBuilder.js';
export type {
  ResilienceDecorator,
  FallbackResultMismatch,
  MethodResultMismatch,
} from './decorators/index.js';
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
  PolicyRegistryEventMap,
  PolicyRegistryHealth,
  PolicyRegistryOptions,
  PolicyRegistrySnapshot,
  PrimitiveByKind,
  RegistryReloadEvent,
} from './registry/PolicyRegistry.js';
export { PolicyRegistry } from './registry/PolicyRegistry.js';
export type { ResilienceConfig, PrimitiveKind, ConfigStageKind } from './registry/config.js';

/** @internal Every kind of stage, for `bulwark/otel`'s gauges (not part of the public API). */
export const kindDescriptors = KINDS;

// The core's helpers that the adapters (`bulwark/fetch`, `bulwark/otel`, `bulwark/redis`) use,
// reached through the package itself (as they reach the core's classes): the option errors they
// throw are then the core's classes, their signals share the core's one abort listener, and an
// app importing the core and an adapter carries one copy. Not part of the public API: left out
// of the declarations (build.mjs also drops the imports that fed them there), listed in README.md
// "Package surface" with no stability promise, pinned by the package spec.
/** @internal */
export {
  booleanOption,
  fail,
  functionOption,
  integerOption,
  isPolicyRegistry,
  linkAbort,
  listenAbort,
  notRetryable,
  oneOfOption,
  optionsObject,
  positiveDuration,
  show,
  showInstead,
  showShape,
  stringOption,
  unlistenAbort,
  wallNow,
};
