// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. A `rejected`
// event's error is one of the refusal classes, so a consumer reads its code and fields typed.
import {
  isCircuitOpenError,
  Policy,
  type BulkheadFullError,
  type CircuitOpenError,
  type RateLimitExceededError,
  type ResilienceError,
  type ResilienceErrorCode,
} from 'bulwark';

export function rejectedEventSpecs(): void {
  const policy = Policy.builder('p').circuitBreaker({}).build();
  policy.on('rejected', (event) => {
    const error: ResilienceError = event.error;
    const refusal: RateLimitExceededError | BulkheadFullError | CircuitOpenError = event.error;
    const code: 'RATE_LIMITED' | 'BULKHEAD_FULL' | 'CIRCUIT_OPEN' = event.error.code;
    const anyCode: ResilienceErrorCode = code;
    if (event.error.code === 'CIRCUIT_OPEN') {
      const state: 'open' | 'half-open' | 'isolated' = event.error.state;
      void state;
    }
    if (isCircuitOpenError(event.error)) void event.error.retryAfterMs;
    // @ts-expect-error a refusal is never a timeout
    const timeout: 'TIMEOUT' = event.error.code;
    void [error, refusal, anyCode, timeout];
  });
}
