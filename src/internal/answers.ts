/**
 * @internal What callers were answered with at once, before their work settled: the error of a
 * deadline that answers (an aggressive one's own), and the reason of an abort that something
 * answered its caller with as it came (a deadline passing an enclosing abort on, a policy or a
 * primitive's `execute` rejecting at its caller's abort). A cooperative deadline's error aborts
 * the work's signal and answers nobody (its caller waits for the work's outcome) unless such an
 * answer passes it on: an adaptive limit reads this mark to tell, on a signal aborted with an
 * `OperationTimeoutError`, whether the caller was answered first. Held weakly: a mark lives as
 * long as its reason. (`has` takes any value: anything but a marked object answers false.)
 */
export const answered: WeakSet<object> = /* @__PURE__ */ new WeakSet();

/**
 * @internal Marks `reason` as what a caller was answered with (see {@link answered}). A primitive
 * is not marked: a `WeakSet` holds objects only, and nothing could look one up.
 */
export function answeredWith(reason: unknown): void {
  if (typeof reason == 'object' ? reason !== null : typeof reason == 'function') {
    answered.add(reason as object);
  }
}
