/**
 * True for an error object whose own data property `retryable` is `false`: the mark a retry
 * honours by itself (`bulwark/fetch` leaves it on the failure of a request it will not send
 * again). No getter is run and a Proxy's trap at most once; a primitive has no own property, and
 * for `null`, `undefined` or a Proxy whose trap throws the lookup fails: false.
 */
export function notRetryable(error: unknown): boolean {
  let retryable: unknown;
  try {
    // Stryker disable next-line OptionalChaining: with no descriptor, reading `.value` throws, and the catch below leaves it undefined all the same
    retryable = Object.getOwnPropertyDescriptor(error, 'retryable')?.value;
  } catch {
    // None: not refused.
  }
  return retryable === false;
}
