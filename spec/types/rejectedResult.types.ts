// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. A
// RejectedResultError is made from the result alone, and keeps the result's type.
import { RejectedResultError } from 'bulwark';

export function rejectedResultSpecs(): void {
  const error = new RejectedResultError({ status: 503 });
  const status: number = error.result.status;
  const code: 'REJECTED_RESULT' = error.code;
  void status;
  void code;
  // @ts-expect-error the message is not the caller's to give
  void new RejectedResultError({ status: 503 }, 'a message');
}
