// One `abort` listener per signal, however many calls wait on it.
//
// A request's signal is often shared by many calls at once (a handler that fans out to a dozen
// downstream calls). With a listener of their own per call, the signal collected one per call
// in flight: Node warns past ten (`MaxListenersExceededWarning`) and checks every listener
// already there on each add. Here the first call on a signal registers one listener, which tells
// every call listening through it; the last call to stop listening removes it.

/** What listens through {@link listenAbort}: an object with `handleEvent`, or a function. */
export type AbortListener = { handleEvent(): void } | (() => void);

/** Each signal's listeners, in the order they began, and the one listener telling them. */
const listening = new WeakMap<AbortSignal, readonly [Set<AbortListener>, () => void]>();

function tell(listeners: Set<AbortListener>): void {
  // Like an event target: a listener added while telling is not told; one removed before its
  // turn is not told either.
  for (const listener of [...listeners]) {
    if (!listeners.has(listener)) continue;
    try {
      if (typeof listener === 'function') listener();
      else listener.handleEvent();
    } catch (error) {
      // As an event target reports a listener's error: later, without stopping the others.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** Tells `listener` when `signal` aborts, until {@link unlistenAbort}. Adding it twice adds it once. */
export function listenAbort(signal: AbortSignal, listener: AbortListener): void {
  let entry = listening.get(signal);
  if (entry === undefined) {
    const listeners = new Set<AbortListener>();
    entry = [listeners, () => tell(listeners)];
    listening.set(signal, entry);
    signal.addEventListener('abort', entry[1]);
  }
  entry[0].add(listener);
}

/** Stops telling `listener` of `signal`'s abort; the signal's own listener goes with the last. */
export function unlistenAbort(signal: AbortSignal, listener: AbortListener): void {
  const entry = listening.get(signal);
  if (entry !== undefined && entry[0].delete(listener) && entry[0].size === 0) {
    listening.delete(signal);
    signal.removeEventListener('abort', entry[1]);
  }
}

/**
 * Aborts `target` when the first of `signals` aborts, with that signal's reason,
 * listening to each through {@link listenAbort} (the calls linking a shared signal share its one
 * listener) until then or until the function returned is called. None of `signals` may be
 * aborted yet. The one way a signal is made to abort when either of two (or more) does: a
 * wrapper's picked signal and a deadline handed down, a request's caller's signals. `target` is
 * a controller, or an object that aborts one held weakly (a request's, which its response keeps).
 */
export function linkAbort(
  target: { abort(reason: unknown): void },
  signals: readonly AbortSignal[],
): () => void {
  const aborted = (): void => {
    release();
    // The signal telling it is aborted; so may another be, whose abort came first (a listener
    // of that one aborted this one before this link heard of it): the first listed wins.
    target.abort(signals.find((s) => s.aborted)?.reason);
  };
  const release = (): void => {
    for (const signal of signals) unlistenAbort(signal, aborted);
  };
  for (const signal of signals) listenAbort(signal, aborted);
  return release;
}
