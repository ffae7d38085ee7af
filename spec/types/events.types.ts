// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. A `rejected`
// event's error is one of the refusal classes, so a consumer reads its code and fields typed;
// its `reason` tells which, as a chaos event's `injection` tells what it carries.
import {
  isCircuitOpenError,
  Policy,
  type BulkheadFullError,
  type ChaosFaultEvent,
  type ChaosLatencyEvent,
  type ChaosResultEvent,
  type CircuitOpenError,
  type PolicyEventMap,
  type RateLimitExceededError,
  type RejectedEvent,
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

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export function payloadTypeSpecs(full: BulkheadFullError, fault: Error): void {
  // The payloads' members are public types: code (and a declaration file) can name each.
  assertType<
    Equal<
      PolicyEventMap['rejected'],
      | RejectedEvent<'rate-limit', RateLimitExceededError>
      | RejectedEvent<'bulkhead', BulkheadFullError>
      | RejectedEvent<'circuit-open', CircuitOpenError>
    >
  >();
  assertType<
    Equal<PolicyEventMap['chaos'], ChaosLatencyEvent | ChaosFaultEvent | ChaosResultEvent>
  >();
  // A payload built in code, as a test of a listener does.
  const rejected: RejectedEvent<'bulkhead', BulkheadFullError> = {
    policy: 'p',
    stage: 'bulkhead',
    reason: 'bulkhead',
    error: full,
  };
  const injected: ChaosFaultEvent = {
    policy: 'p',
    stage: 'chaos',
    injection: 'fault',
    error: fault,
  };
  const events: [PolicyEventMap['rejected'], PolicyEventMap['chaos']] = [rejected, injected];
  // Narrowed, a payload is the member its discriminant names.
  const bulkheadOnly = (event: PolicyEventMap['rejected']) =>
    event.reason === 'bulkhead' ? event : undefined;
  assertType<
    Equal<ReturnType<typeof bulkheadOnly>, RejectedEvent<'bulkhead', BulkheadFullError> | undefined>
  >();
  const limited = { ...rejected, reason: 'rate-limit' } as const;
  // @ts-expect-error the error's class follows the reason
  const mismatched: PolicyEventMap['rejected'] = limited;
  void [events, mismatched];
}
