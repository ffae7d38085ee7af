// What was thrown, for the message of an error that reports it: `execute`'s options, or
// `bulwark/fetch`'s `init.data`, that threw while they were read (a revoked Proxy). Imports
// nothing, so that the adapter bundles it (a few bytes) and the core entry exports nothing more
// for it: its `show` is the caller's, the adapter's the core's own through the core's entry.

/**
 * An `Error`'s message (as a string), else the value as `show` describes it; `'an unreadable
 * error'` for one that throws when looked at.
 */
export function describeError(error: unknown, show: (value: unknown) => string): string {
  try {
    const text: unknown = error instanceof Error ? error.message : show(error);
    // A message that is no string (a Symbol, an object whose `toString` throws) is made one
    // here, where a throw is caught, not in the template that reports it.
    return typeof text === 'string' ? text : String(text);
  } catch {
    return 'an unreadable error';
  }
}
