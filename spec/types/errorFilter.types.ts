// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. An ErrorFilter's
// list takes any error class, including one whose constructor is protected (ResilienceError).
import { ResilienceError, OperationTimeoutError } from '../../src/errors.js';
import type { ErrorFilter } from '../../src/internal/validate.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Retry } from '../../src/strategies/retry/Retry.js';

export function errorFilterSpecs(): void {
  class Plain {}
  const filters: ErrorFilter[] = [
    [ResilienceError],
    [ResilienceError, OperationTimeoutError, TypeError, Plain],
    (error) => error instanceof ResilienceError,
  ];
  void filters;
  void Policy.builder('p')
    .fallback({ value: null, on: [ResilienceError] })
    .build();
  void new Fallback({ value: 0, on: [ResilienceError] });
  void new Retry({ retryOn: [ResilienceError] });
  void new CircuitBreaker({ recordOn: [ResilienceError] });
  // @ts-expect-error a list holds classes, not other values
  const notAClass: ErrorFilter = ['OperationTimeoutError'];
  void notAClass;
}
