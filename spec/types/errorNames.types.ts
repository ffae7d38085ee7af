// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit` (TypeScript 7 and 5.9), never
// run. Each error class's `name` is its string literal (API.md: error names are string literals),
// so a `switch` over `error.name` narrows and a literal type accepts it.
import {
  BulkheadFullError,
  CircuitOpenError,
  OperationTimeoutError,
  RateLimitExceededError,
  RejectedResultError,
  StoreUnavailableError,
  type ResilienceError,
} from '../../src/errors.js';

export function errorNameSpecs(
  rate: RateLimitExceededError,
  full: BulkheadFullError,
  timeout: OperationTimeoutError,
  open: CircuitOpenError,
  store: StoreUnavailableError,
  rejected: RejectedResultError,
  any: ResilienceError,
): void {
  const names: [
    'RateLimitExceededError',
    'BulkheadFullError',
    'OperationTimeoutError',
    'CircuitOpenError',
    'StoreUnavailableError',
    'RejectedResultError',
  ] = [rate.name, full.name, timeout.name, open.name, store.name, rejected.name];
  void names;
  // @ts-expect-error a class's name is its own literal, not another's
  const wrong: 'CircuitOpenError' = timeout.name;
  void wrong;
  // The base keeps `string`: subclasses defined elsewhere name themselves.
  const base: string = any.name;
  void base;
}
