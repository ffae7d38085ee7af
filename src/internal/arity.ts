/**
 * Whether code of the user's can see the context a policy passes it, and so may read
 * `ctx.startedAt` at any time (R-POL-7): a thunk receives it first, `fn(ctx)`, a fallback
 * `method` second, `method(error, ctx)`. The policy reads the clock at `execute` for a call whose
 * start something can see; otherwise `startedAt` is read at its first use.
 *
 * One rule, by what the function declares: it sees the argument at `position` when it lists a
 * parameter there (`length > position`), and may see it when it lists fewer but can still reach
 * it, through a rest parameter or a default value (which `length` does not count), `arguments` or
 * `eval`. Only its source tells the second case: {@link reaches} reads it, once, for a fallback
 * method. A thunk is made anew for each call, and reading its source costs more than the clock
 * read it could save (about 30 to 60 ns against 40 ns per call in V8): {@link declares} decides
 * for it, so a thunk that reaches the context only the undeclared way gets the time of its first
 * read of `startedAt`.
 */

/**
 * The start of a function's source that lists one plain parameter or none: an arrow whose one
 * parameter is not in parentheses (`error => …`), or a head made of names, spaces and `*`
 * (`function name`, `async`, `*gen`, a method's name, nothing) followed by the parameter list.
 * The parameter's name, if any, is captured. Names are ASCII: any other only costs a clock read.
 */
const PLAIN_HEAD = /^(?:(?:async\s+)?([\w$]+)\s*=>|[\w$\s*]*\(\s*([\w$]+)?\s*\))/;

/**
 * What lets a function reach arguments it does not list (`arguments`, `eval`), or hides its
 * parameters (`[native code]`: a native, bound or proxied function). Found anywhere in the
 * source, as part of a longer name too (which only costs a clock read).
 */
const UNDECLARED = /arguments|eval|native code/;

/**
 * True when `fn` lists a parameter at `position` (0-based), by its `length`: cheap enough for
 * every call. A function whose `length` cannot be read (a hostile Proxy) counts as one that does.
 * (`length` is an accessor V8 does not inline: reading it costs about half a clock read.)
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function
export function declares(fn: Function, position: number): boolean {
  try {
    return fn.length > position;
  } catch {
    return true;
  }
}

/**
 * True when `fn` may reach its argument at `position` (0-based): false only when its source shows
 * at most `position` plain parameters (names, no rest, default value or destructuring) and
 * contains neither `arguments` nor `eval`. Anything the source does not show plainly (a comment in
 * the list, a computed name, a native, bound or proxied function) counts as reaching it: that
 * costs one clock read, never a wrong `startedAt`. Reads the source: for a function checked once.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function
export function reaches(fn: Function, position: number): boolean {
  // The source of any function can be read, a revoked proxy's too.
  const source = Function.prototype.toString.call(fn);
  const head = PLAIN_HEAD.exec(source);
  return head === null || UNDECLARED.test(source) || (head[1] || head[2] ? 1 : 0) > position;
}
