/**
 * @internal The errors a deadline answered its caller with before the work settled: an
 * aggressive deadline's own, and the abort of an enclosing signal that a deadline passes on at
 * once. A cooperative deadline's error aborts the work's signal and answers nobody (its caller
 * waits for the work's outcome): an adaptive limit reads this mark to tell the two apart on a
 * signal aborted with an `OperationTimeoutError`. Held weakly: a mark lives as long as its
 * error. (`has` takes any value: anything but a marked object answers false.)
 */
export const deadlineAnswers: WeakSet<object> = /* @__PURE__ */ new WeakSet();
