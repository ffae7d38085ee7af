// The `signal` option of `policy.wrap` and `usePolicy`: how a wrapper finds its caller's signal.
import { OptionTypeError } from '../optionErrors.js';

/** Picks a call's signal from the wrapped function's arguments (called with its `this`). */
export type SignalPicker = (...args: unknown[]) => unknown;

/**
 * @internal Reads a wrapper's options once, where the wrapper is made: the `signal` picker, if
 * any. Options that are not an object, or a picker that is not a function, throw an option error
 * naming them.
 */
export function signalPicker(options: unknown): SignalPicker | undefined {
  if (options === undefined) return undefined;
  if (typeof options != 'object' || options === null) {
    throw new OptionTypeError('options', 'an object', options);
  }
  const { signal } = options as { signal?: unknown };
  if (signal !== undefined && typeof signal != 'function') {
    throw new OptionTypeError('signal', 'a function returning an AbortSignal', signal);
  }
  return signal as SignalPicker | undefined;
}
