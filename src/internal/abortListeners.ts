// One `abort` listener per signal, however many calls wait on it.
//
// A request's signal is often shared by many calls at once (a handler that fans out to a dozen
// downstream calls). With a listener of their own per call, the signal collected one per call
// in flight: Node warns past ten (`MaxListenersExceededWarning`) and checks every listener
// already there on each add. Here the first call on a signal registers one listener, which
// tells every call listening through it; the last call to stop listening removes it.

/** What listens through {@link listenAbort}: an object with `handleEvent`, or a function. */
export type AbortListener = { handleEvent(): void } | (() => void);

/** The one listener a signal has, and the calls it tells, in the order they began listening. */
class Fanout {
  readonly listeners = new Set<AbortListener>();
  readonly signal: AbortSignal;

  constructor(signal: AbortSignal) {
    this.signal = signal;
  }

  handleEvent(): void {
    // Like an event target: a listener added while telling is not told; one removed before its
    // turn is not told either.
    const listeners = this.listeners;
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
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

/** Tells `listener` when `signal` aborts, until {@link unlistenAbort}. Adding it twice adds it once. */
export function listenAbort(signal: AbortSignal, listener: AbortListener): void {
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    fanout = new Fanout(signal);
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', fanout);
  }
  fanout.listeners.add(listener);
}

/** Stops telling `listener` of `signal`'s abort; the signal's own listener goes with the last. */
export function unlistenAbort(signal: AbortSignal, listener: AbortListener): void {
  const fanout = fanouts.get(signal);
  if (fanout === undefined || !fanout.listeners.delete(listener)) return;
  if (fanout.listeners.size === 0) {
    fanouts.delete(signal);
    signal.removeEventListener('abort', fanout);
  }
}
