// Promise helpers shared by the specs: observe a promise without awaiting it, capture a
// rejection, let pending promise chains run, and hold a call open until a spec settles it.

/** The outcome of a promise, observable at any time without awaiting it. */
export interface Settled<T> {
  status: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  reason?: unknown;
}

/**
 * Attaches handlers at once, so a rejection that happens while (fake) time advances is never
 * reported as unhandled, and the outcome can be inspected at any moment.
 */
export function settle<T>(promise: Promise<T>): Settled<T> {
  const state: Settled<T> = { status: 'pending' };
  promise.then(
    (value) => {
      state.status = 'fulfilled';
      state.value = value;
    },
    (reason: unknown) => {
      state.status = 'rejected';
      state.reason = reason;
    },
  );
  return state;
}

/** What `promise` rejects with; fails the spec when it fulfils instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/**
 * Lets every pending microtask (and the promise chains they start) run. It waits for
 * `setImmediate`, so it moves no fake time where the fake timers leave `setImmediate` real.
 */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** A controllable pending call: settle it with `resolve` / `reject`. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A promise that never settles: work that hangs. */
export function never(): Promise<never> {
  return new Promise<never>(() => {});
}

/** What `fn` throws synchronously; fails the spec when it returns. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
