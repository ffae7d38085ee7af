// The signal a request is sent with, when it must follow more than one signal: the attempt's own
// (a per-attempt timeout, a hedge's loser) and the caller's. The attempt's signal stops following
// the caller once the attempt settles, yet the caller's abort must still stop the body the caller
// reads, as it does with `fetch`.
//
// `AbortSignal.any` would do, but an observed composite of a long-lived signal (a server's
// shutdown signal given to every call) is never freed from that signal's list of dependants on
// the runtimes `bulwark/fetch` supports: memory would grow with every call. Here a request
// listens to each signal it follows through `listenAbort` (one listener per signal, shared with
// every other call listening to it), holding its controller weakly. A request stops following
// when it failed or its response was discarded, or when its response (and that response's body)
// can no longer be reached; a signal's listener goes with its last follower.
// The core's abort listeners, through the package's entry (the build makes it an import of
// 'bulwark'): a signal followed by requests and by the core's calls keeps one listener.
import { listenAbort, unlistenAbort } from '../index.js';

/** One request's controller, what it follows, and a way to stop following. */
export interface Follower {
  readonly controller: AbortController;
  /** Stops following every signal (the request failed, or its response was discarded). */
  release(): void;
}

/**
 * What a request follows, and its abort listener on each of those signals; kept by the finalizer
 * only until its controller is collected.
 */
class Links {
  readonly ref: WeakRef<AbortController>;
  readonly signals: readonly AbortSignal[];

  constructor(controller: AbortController, signals: readonly AbortSignal[]) {
    this.ref = new WeakRef(controller);
    this.signals = signals;
  }

  /** A followed signal aborted: so does the request, which then follows nothing more. */
  handleEvent(): void {
    release(this);
    // The signal telling it is aborted; so may another it follows be, whose abort came first.
    this.ref.deref()?.abort(this.signals.find((s) => s.aborted)?.reason);
  }
}

// Made at the first request that needs it, so that importing the module does nothing.
let finalizer: FinalizationRegistry<Links> | undefined;

/**
 * A controller whose signal aborts when any of `signals` does (at once if one has already). The
 * caller keeps the controller reachable for as long as the request may be read.
 */
export function follow(signals: readonly AbortSignal[]): Follower {
  const controller = new AbortController();
  const aborted = signals.find((s) => s.aborted);
  if (aborted !== undefined) {
    controller.abort(aborted.reason);
    return { controller, release: ignore };
  }
  const links = new Links(controller, signals);
  for (const signal of signals) listenAbort(signal, links);
  (finalizer ??= new FinalizationRegistry(unfollow)).register(controller, links, links);
  return { controller, release: () => release(links) };
}

/** A request stops following its signals (it failed, or aborted, or its response went). */
function release(links: Links): void {
  finalizer?.unregister(links);
  unfollow(links);
}

/** A request stops following its signals; a signal nobody listens to loses its listener. */
function unfollow(links: Links): void {
  for (const signal of links.signals) unlistenAbort(signal, links);
}

function ignore(): void {}
