// The `signal` option of `policy.wrap` and `usePolicy`: how a wrapper finds its caller's signal.
import { OptionTypeError } from '../optionErrors.js';
import { optionsObject } from './validate.js';

/** Picks a call's signal from the wrapped function's arguments (called with its `this`). */
export type SignalPicker = (...args: unknown[]) => unknown;

/**
 * @internal Reads a wrapper's options once, where the wrapper is made: the `signal` picker, if
 * any. Options that are not an object, an unknown option (`sigal`), or a picker that is not a
 * function throw an option error naming them; `what` names the wrapper in their messages.
 */
export function signalPicker(options: unknown, what: string): SignalPicker | undefined {
  const { signal } = optionsObject(options, what, ['signal']);
  if (signal !== undefined && typeof signal != 'function') {
    throw new OptionTypeError('signal', 'a function returning an AbortSignal', signal);
  }
  return signal as SignalPicker | undefined;
}
