/**
 * What the thunk and every stage receive for one execution of a policy.
 *
 * Contexts are created by the pipeline: a retry stage hands each attempt a context with its own
 * `attempt`, and a timeout stage hands its inner stages a context whose `signal` also aborts at
 * its deadline. Everything else is shared by the whole execution.
 *
 * A context logs as these fields only: `console.log(ctx)` shows `ExecutionContext { policyName,
 * attempt, startedAt, deadline, remaining, data, signal }`, and `JSON.stringify(ctx)` (a JSON
 * logger given `{ ctx }`) writes them as plain data: `data` as an object of its entries, `signal`
 * as `{ aborted }`, and `deadline`/`remaining` as `null` outside any timeout.
 */
export interface ExecutionContext {
  /** Name of the policy running the call. */
  readonly policyName: string;
  /**
   * Aborts when the caller's signal aborts or when any enclosing timeout passes. Pass it on to
   * the work (`fetch(url, { signal: ctx.signal })`) so that work really stops. The signal is
   * created the first time it is read, so not reading it costs nothing.
   */
  readonly signal: AbortSignal;
  /**
   * 1-based attempt number, set by the innermost retry stage, or by a hedge stage inside it (which
   * numbers its attempts: 2 for the first hedge); 1 without either.
   */
  readonly attempt: number;
  /** Clock time (ms) at which `execute` was called. */
  readonly startedAt: number;
  /** Data passed to `execute({ data })`, shared by every stage and attempt. */
  readonly data: Map<string, unknown>;
  /**
   * Clock time (ms, on the clock of the timeouts: the policy's unless a stage was given its own)
   * of the earliest deadline of the timeout stages around this point of the pipeline; `Infinity`
   * outside any timeout. A retry stage never starts a wait that ends at or after it.
   */
  readonly deadline: number;
  /**
   * Milliseconds left until {@link ExecutionContext.deadline} (0 once it has passed); `Infinity`
   * outside any timeout. Reads the clock each time it is read.
   */
  readonly remaining: number;
}

/** The thunk a policy runs. */
export type Thunk<T> = (ctx: ExecutionContext) => T | PromiseLike<T>;

/** Converts `execute`'s `data` option to the context's Map. */
export function toDataMap(
  data: Record<string, unknown> | Map<string, unknown> | undefined,
): Map<string, unknown> | undefined {
  if (data === undefined) return undefined;
  if (data instanceof Map) return data;
  return new Map(Object.entries(data));
}
