// The `signal` option of `policy.wrap` and `usePolicy`: how a wrapper finds its caller's signal.
import { OptionTypeError } from '../optionErrors.js';
import { isSignal } from './signals.js';
import { optionsObject } from './validate.js';

/** Picks a call's signal from the wrapped function's arguments (called with its `this`). */
export type SignalPicker = (...args: unknown[]) => unknown;

/**
 * @internal Reads a wrapper's options once, where the wrapper is made: the `signal` picker, if
 * any. Options that are not an object, an unknown option (`sigal`), a picker that is not a
 * function, or a value that is no options object (see {@link strayOptions}) throw an option
 * error naming them; `what` names the wrapper in their messages.
 */
export function signalPicker(options: unknown, what: string): SignalPicker | undefined {
  const { signal } = optionsObject(options, what, ['signal']);
  if (signal !== undefined && typeof signal != 'function') {
    throw new OptionTypeError('signal', 'a function returning an AbortSignal', signal);
  }
  if (signal === undefined && options !== undefined) {
    const stray = strayOptions(options as object, `${what}: `, '{ signal: () => signal }');
    if (stray) throw stray;
  }
  return signal as SignalPicker | undefined;
}

/**
 * @internal The error for an AbortSignal given as options (`execute(fn, signal)`, as a primitive
 * takes it): its own keys are none, so it would pass for empty options and be ignored, the
 * caller's abort with it. Any other object is read for the options it sets (a `Request` and its
 * `signal`, a class instance, whose unset fields may not be own keys). `fix` says how to pass a
 * signal; `undefined` when `options` is no AbortSignal.
 */
export function strayOptions(options: object, what: string, fix: string): TypeError | undefined {
  if (!isSignal(options)) return undefined;
  return new OptionTypeError('options', 'an options object', options, {
    message: `${what}\`options\` must be an options object, got an AbortSignal: pass \`${fix}\``,
  });
}
