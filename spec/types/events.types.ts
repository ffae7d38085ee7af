// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. A `rejected`
// event's error is one of the refusal classes, so a consumer reads its code and fields typed;
// its `reason` tells which, as a chaos event's `injection` tells what it carries.
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
  // `reason` narrows the error to the class it names.
  policy.on('rejected', (event) => {
    if (event.reason === 'bulkhead') {
      const full: BulkheadFullError = event.error;
      void [full, event.error.maxConcurrent, event.error.maxQueue];
    } else if (event.reason === 'circuit-open') {
      const open: CircuitOpenError = event.error;
      void [open, event.error.state, event.error.retryAfterMs];
    } else {
      const limited: RateLimitExceededError = event.error;
      void limited;
    }
    // @ts-expect-error without narrowing, the error may be any of the three
    const notNarrowed: BulkheadFullError = event.error;
    void [notNarrowed, event.key];
  });
  // A payload still passes as a record.
  policy.on('rejected', (event) => record({ ...event }));
  policy.on('chaos', (event) => record(event));
}

function record(_payload: Record<string, unknown>): void {}

export function chaosEventSpecs(): void {
  const policy = Policy.builder('p')
    .chaos({ latency: { rate: 0.1, delay: 5 } })
    .build();
  policy.on('chaos', (event) => {
    if (event.injection === 'latency') {
      const ms: number = event.delayMs;
      void ms;
    } else if (event.injection === 'fault') {
      const error: unknown = event.error;
      void error;
    } else {
      const result: unknown = event.result;
      void result;
    }
    // Read without narrowing, each detail is there or `undefined`, as before.
    const delay: number | undefined = event.delayMs;
    // @ts-expect-error without narrowing, no delay is sure
    const sure: number = event.delayMs;
    void [delay, sure, event.error, event.result];
  });
}
