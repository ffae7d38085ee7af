// The `signal` option of `policy.wrap` and `usePolicy`: how a wrapper finds its caller's signal.
import { OptionTypeError } from '../optionErrors.js';
import { isSignal } from './signals.js';
import { isPlainObject, optionsObject, showShape } from './validate.js';

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
 * @internal The error for an object given as options that sets none of them and is not a plain
 * object: an AbortSignal (`execute(fn, signal)`, as a primitive takes it), a Date, a Map. Its
 * own keys are none, so it would pass for empty options and be ignored, the caller's abort with
 * it. An object that is not plain but sets an option (a `Request` and its `signal`) is read.
 * `fix` says how to pass a signal; `undefined` when `options` is a plain object.
 */
export function strayOptions(options: object, what: string, fix: string): TypeError | undefined {
  if (isPlainObject(options)) return undefined;
  const got = isSignal(options) ? `an AbortSignal: pass \`${fix}\`` : showShape(options);
  return new OptionTypeError('options', 'an options object', options, {
    message: `${what}\`options\` must be an options object, got ${got}`,
  });
}
