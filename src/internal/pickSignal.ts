// The `signal` option of `policy.wrap` and `usePolicy`: how a wrapper finds its caller's signal.
import { OptionTypeError } from '../optionErrors.js';
import { isSignal } from './signals.js';
import { optionsObject, show } from './validate.js';

/** Picks a call's signal from the wrapped function's arguments (called with its `this`). */
export type SignalPicker = (...args: unknown[]) => unknown;

/**
 * @internal Reads a wrapper's options once, where the wrapper is made: the `signal` picker, if
 * any. Options that are not an object, an unknown option (`sigal`), a picker that is not a
 * function, or a value that is no options object (see {@link strayOptions}) throw an option
 * error naming them, in one wording: `what` (the wrapper), the option and the value, as in
 * ``policy.wrap: `signal` must be a function returning an AbortSignal, got 5``.
 */
export function signalPicker(options: unknown, what: string): SignalPicker | undefined {
  if (options === undefined) return undefined;
  // `show` tells an object from null, a primitive, an array, a promise, and one that throws when
  // looked at (a revoked Proxy).
  if (show(options) != 'an object') throw wrapperError(what, 'options', 'an object', options);
  const { signal } = optionsObject(options, what, ['signal']);
  if (signal !== undefined && typeof signal != 'function') {
    throw wrapperError(what, 'signal', 'a function returning an AbortSignal', signal);
  }
  if (signal === undefined) {
    const stray = strayOptions(options as object, `${what}: `, '{ signal: () => signal }');
    if (stray) throw stray;
  }
  return signal as SignalPicker | undefined;
}

/** An option error of wrapper `what`: ``what: `option` must be expected, got value``. */
function wrapperError(what: string, option: string, expected: string, value: unknown): TypeError {
  return new OptionTypeError(option, expected, value, {
    message: `${what}: \`${option}\` must be ${expected}, got ${show(value)}`,
  });
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
