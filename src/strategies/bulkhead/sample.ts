/**
 * @internal How a call that held a bulkhead slot went, as an adaptive limit learns it, one rule
 * for every way a slot is held (a policy's stage; `execute` and a stacked decorator read it from
 * their signal, in `Bulkhead.ts`'s `sampleBy`): `true` a success, when the call's own outcome was
 * one and nothing outside had answered its caller first; `undefined` when the call was called off
 * (the caller's abort, an attempt a hedge gave up), which says nothing of the dependency; else
 * `false`, a failure (an error, or a deadline outside that answered the caller before the work
 * settled: a cooperative one answers nobody).
 *
 * @param ok - the call's own outcome (what the steps or the function inside the slot answered)
 * @param answered - the caller had already been answered from outside (a deadline or an abort)
 * @param cancelled - the call was called off rather than failed
 */
export function sampleOf(ok: boolean, answered: boolean, cancelled: boolean): boolean | undefined {
  return ok && !answered ? true : cancelled ? undefined : false;
}
