// What was thrown, for the message of an error that reports it: `execute`'s options, or
// `bulwark/fetch`'s `init.data`, that threw while they were read (a revoked Proxy). Imports
// nothing, so that the adapter bundles it (a few bytes) and the core entry exports nothing more
// for it: its `show` is the caller's, the adapter's the core's own through the core's entry.

/**
 * An `Error`'s message, else the value as `show` describes it; `'an unreadable error'` for one
 * that throws when looked at.
 */
export function describeError(error: unknown, show: (value: unknown) => string): string {
  try {
    return error instanceof Error ? error.message : show(error);
  } catch {
    return 'an unreadable error';
  }
}
