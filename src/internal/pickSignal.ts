// The options of `policy.execute`, `policy.wrap` and `usePolicy`, checked in one wording: the
// entry point's name, the option and the value (``execute: `options.signal` must be an
// AbortSignal, got "soon"``), as a wrapper's options are.
import { OptionTypeError } from '../optionErrors.js';
import { isSignal } from './signals.js';
import { show, syncFunctionOption, unknownOption } from './validate.js';

/** Picks a call's signal from the wrapped function's arguments (called with its `this`). */
export type SignalPicker = (...args: unknown[]) => unknown;

/** The keys a wrapper's options may have. */
const WRAP_OPTIONS: readonly string[] = ['signal'];

/**
 * @internal Reads a wrapper's options once, where the wrapper is made: the `signal` picker, if
 * any. Options that are not an object, an unknown option (`sigal`), a picker that is not a
 * function (or an async one), or a value that is no options object (see {@link strayOptions})
 * throw an option error naming them (see {@link optionError}), as in
 * ``policy.wrap: `signal` must be a function returning an AbortSignal, got 5``. The picker is
 * returned as it is: its caller checks each answer (a promise fails the call with a TypeError
 * naming `signal`).
 */
export function signalPicker(options: unknown, what: string): SignalPicker | undefined {
  if (options === undefined) return undefined;
  // `show` tells an object from null, a primitive, an array, a promise, and one that throws when
  // looked at (a revoked Proxy).
  if (show(options) != 'an object') throw optionError(what, 'options', 'an object', options);
  const unknown = unknownOption(options as object, what, WRAP_OPTIONS);
  if (unknown) throw unknown;
  const { signal } = options as { signal?: unknown };
  if (signal !== undefined && typeof signal != 'function') {
    throw optionError(what, 'signal', 'a function returning an AbortSignal', signal);
  }
  syncFunctionOption(signal, 'signal', 'an AbortSignal', `${what}: `);
  if (signal === undefined) {
    const stray = strayOptions(options as object, what, '{ signal: () => signal }');
    if (stray) throw stray;
    return undefined;
  }
  return signal as SignalPicker;
}

/**
 * @internal An option error of entry point `what` (`execute`, `policy.wrap`, `usePolicy`):
 * ``what: `option` must be expected, got value``, or ``what: `` and `message` when given, with
 * the `cause` of `caused` when given.
 */
export function optionError(
  what: string,
  option: string,
  expected: string,
  value: unknown,
  message = `\`${option}\` must be ${expected}, got ${show(value)}`,
  caused?: { readonly cause: unknown },
): TypeError {
  return new OptionTypeError(option, expected, value, {
    ...caused,
    message: `${what}: ${message}`,
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
  return optionError(
    what,
    'options',
    'an options object',
    options,
    `\`options\` must be an options object, got an AbortSignal: pass \`${fix}\``,
  );
}
