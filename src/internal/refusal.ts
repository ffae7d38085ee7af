/**
 * @internal Makes a refusal (an open circuit, a full bulkhead) whose stack starts at the frame
 * that called `boundary`, the entry point the caller called (`policy.execute`, a wrapper,
 * `breaker.execute`): the caller sees where its call came from, not bulwark's own frames, and the
 * frames are captured once. Without a boundary (a refusal decided later, in a callback, where no
 * caller frame is on the stack) the error is made as usual.
 *
 * Each refusal is a new error: a shared one would carry one caller's stack to every other.
 */
export function refusalFrom<E extends Error>(
  make: () => E,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the boundary frame
  boundary: Function | null | undefined,
): E {
  if (boundary === undefined || V8Error.captureStackTrace === undefined) return make();
  const limit = V8Error.stackTraceLimit;
  let error: E;
  // Not a number (an application deleted it, or set one V8 ignores): the constructor captures
  // nothing already, and nothing is written, so the host keeps exactly what it had.
  if (typeof limit !== 'number' || !muteStacks()) {
    error = make();
  } else {
    // The constructor captures no frames; the one capture below starts at the caller's frame.
    try {
      error = make();
    } finally {
      V8Error.stackTraceLimit = limit;
    }
  }
  // `null`: made ahead of knowing where the caller's frames start; `stampStack` follows.
  // Captured here, not through `stampStack`: every frame between the boundary and the capture is
  // walked, and costs about as much as a frame captured (see `V8Error`).
  if (boundary !== null) V8Error.captureStackTrace(error, boundary);
  return error;
}

/**
 * Sets `Error.stackTraceLimit` to a value that is not a number, so that the next error made
 * captures no frames; false when the host forbids it (a frozen `Error`: `Object.freeze(Error)`,
 * `node --frozen-intrinsics`, SES's `lockdown()`), where the error is made with its usual stack.
 * Not a number rather than 0: V8 then skips the capture whole (0 still makes an empty one, for
 * about a twentieth of a refusal).
 */
function muteStacks(): boolean {
  try {
    V8Error.stackTraceLimit = undefined;
    return true;
  } catch {
    return false;
  }
}

/**
 * @internal Gives a refusal made by `refusalFrom(make, null)` its stack: from the caller of
 * `boundary`, or, without one, from the caller of this function.
 */
export function stampStack<E extends Error>(
  error: E,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function can be the boundary frame
  boundary: Function | undefined,
): E {
  V8Error.captureStackTrace?.(error, boundary ?? stampStack);
  return error;
}

/**
 * @internal `Error` with V8's stack API. V8 (Node, Chromium, Deno) and Bun have
 * `captureStackTrace`; elsewhere errors keep the stack they were made with.
 *
 * A capture walks every frame from itself down to the boundary before it keeps any, and each one
 * walked costs about as much as one kept (some 0.4 µs in Node 20, where a refusal's whole stack
 * costs 3 to 5 µs): a step that refuses in the caller's turn calls
 * `V8Error.captureStackTrace?.(refusal, entry)` itself rather than through a helper.
 */
export const V8Error = Error as unknown as {
  stackTraceLimit: unknown;
  captureStackTrace?: (target: object, boundary?: unknown) => void;
};

/**
 * @internal A promise that rejects with `reason` one microtask from now, for an outcome known
 * before the caller has had the promise. By then a caller that awaits or catches at once has
 * attached its handler, so the host's bookkeeping for a promise rejected without one (tracked,
 * then untracked when the handler comes: about 1.3 µs in Node, more than the rest of a refusal
 * without its stack) never starts. A caller that attaches none still gets an unhandled rejection.
 */
export function rejectedSoon(reason: unknown): Promise<never> {
  // A promise rejected by a call, not by a throw in a reaction: V8's throw and unwinding cost
  // about half a microsecond here, as much as the rest of this promise.
  return new Promise<never>((_resolve, reject) => rejectSoon(reject, reason));
}

/** @internal Rejects a deferred one microtask from now (see {@link rejectedSoon}). */
export function rejectSoon(reject: (reason: unknown) => void, reason: unknown): void {
  void RESOLVED.then(() => reject(reason));
}

/**
 * @internal A settled native promise: a reaction to it runs in the next microtask (not
 * `queueMicrotask`, which fake timers replace).
 */
export const RESOLVED: Promise<void> = /* @__PURE__ */ Promise.resolve();
