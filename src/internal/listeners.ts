import { show } from '../optionErrors.js';
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

/**
 * @internal Adds `listener` to a list of listeners that `update` replaces, never changes (so an
 * emit in progress reaches every listener subscribed when it began, and one nobody listens to is a
 * length check), and returns the function that removes it again, once however often it is called.
 * @throws TypeError when `listener` is not a function
 */
export function listen<L>(
  listener: L,
  update: (change: (list: readonly L[]) => readonly L[]) => void,
): () => void {
  if (typeof listener !== 'function') {
    throw new TypeError(`\`listener\` must be a function, got ${show(listener)}`);
  }
  update((list) => [...list, listener]);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    update((list) => {
      const i = list.indexOf(listener);
      return list.filter((_, j) => j !== i);
    });
  };
}
