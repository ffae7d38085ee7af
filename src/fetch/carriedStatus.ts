// The HTTP status an error of another HTTP client carries, for `isRetryable`.

/**
 * The failure status (an integer in [400, 599]) an error of another HTTP client carries, in the
 * common shapes: its own `status` or `statusCode` (http-errors, superagent, undici's
 * `ResponseError`, axios), else its own `response`'s `status` (axios, ky) or `statusCode` (got).
 * The error's own properties are read as data only (no getter runs); the response's as any
 * property (a `Response`'s `status` is a getter). Undefined when there is none, or when what is
 * there is not a failure status: a got `ReadError` over a 200, a process's exit `status`.
 */
export function carriedStatus(error: object): number | undefined {
  try {
    const status = failureStatus(own(error, 'status')) ?? failureStatus(own(error, 'statusCode'));
    if (status !== undefined) return status;
    const response = own(error, 'response');
    if (typeof response !== 'object' || response === null) return undefined;
    const { status: s, statusCode } = response as { status?: unknown; statusCode?: unknown };
    return failureStatus(s) ?? failureStatus(statusCode);
  } catch {
    // A Proxy or a getter that throws: no status to read.
    return undefined;
  }
}

function own(error: object, key: string): unknown {
  // Stryker disable next-line OptionalChaining: with no descriptor, reading `.value` throws, and the caller's catch answers undefined all the same
  return Object.getOwnPropertyDescriptor(error, key)?.value;
}

function failureStatus(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 599
    ? (value as number)
    : undefined;
}
