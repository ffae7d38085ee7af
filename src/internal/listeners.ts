import { noop } from './signals.js';

/**
 * @internal Calls a listener. What it throws is ignored, and so is a rejection of a promise it
 * returns (marked handled, so it never becomes an unhandled rejection): a listener never breaks
 * the call it observes, the other listeners, or the process.
 */
export function notify<A>(listener: (arg: A) => unknown, arg: A): void {
  try {
    const result = listener(arg);
    // Any thenable, not only a native promise; reading `then` may itself throw. (A primitive reads
    // its prototype's, which has none; `null` and `undefined` read none.)
    const then = (result as { then?: unknown } | null | undefined)?.then;
    if (typeof then === 'function') then.call(result, undefined, noop);
  } catch {
    // Ignored: see above.
  }
}
