import { isOperationTimeoutError } from '../../errors.js';
import { answered as marked } from '../../internal/answers.js';

/**
 * @internal How a call that held a bulkhead slot went, as an adaptive limit learns it, one rule
 * for every way a slot is held (a policy's stage; `execute` and a stacked decorator read it from
 * their signal, through {@link sampleBy}): `undefined` when the call was called off (the caller's
 * abort, an attempt a hedge gave up; not a caller's signal aborted with a deadline's
 * `OperationTimeoutError`, a deadline's abort) before its outcome, which then says nothing of the
 * dependency, whatever it was (a call that succeeded first has its sample already); else `true`,
 * a success, when the call's own outcome was one and nothing outside had answered its caller
 * first; else `false`, a failure (an error, or a deadline outside that answered the caller before
 * the work settled: a cooperative one answers nobody); but `undefined` for a call that failed
 * with an error the limit's `recordOn` does not match (`counted` false), unless a deadline had
 * answered its caller first.
 *
 * @param ok - the call's own outcome (what the steps or the function inside the slot answered)
 * @param answered - the caller had already been answered from outside (a deadline or an abort)
 * @param cancelled - the call was called off rather than failed
 * @param counted - the call's own error, when it failed, is one the limit counts (or an abort
 *   came before it, whose rule stands)
 */
export function sampleOf(
  ok: boolean,
  answered: boolean,
  cancelled: boolean,
  counted = true,
): boolean | undefined {
  return cancelled ? undefined : ok ? !answered : answered || counted ? false : undefined;
}

/**
 * @internal {@link sampleOf} for a call run for a caller with `signal` (`execute`, a stacked
 * decorator), read from the signal as the call's outcome arrives. One that aborted called the call
 * off, unless a deadline aborted it (its reason an `OperationTimeoutError`): not called off then,
 * and its caller answered first if it was answered with that error (by an aggressive deadline, or
 * by something between that answered at the abort: see `answered` in `answers.ts`); a cooperative
 * deadline answers nobody, and the call's own outcome stands (a failure whatever its error:
 * `counted` is read only while the signal has not aborted).
 */
export function sampleBy(
  ok: boolean,
  signal: AbortSignal | undefined,
  counted = true,
): boolean | undefined {
  if (signal === undefined || !signal.aborted) return sampleOf(ok, false, false, counted);
  const reason: unknown = signal.reason;
  const deadline = isOperationTimeoutError(reason);
  return sampleOf(ok, deadline && marked.has(reason), !deadline);
}
