// The signal a request is sent with, when it must follow more than one signal: the attempt's own
// (a per-attempt timeout, a hedge's loser) and the caller's. The attempt's signal stops following
// the caller once the attempt settles, yet the caller's abort must still stop the body the caller
// reads, as it does with `fetch`.
//
// `AbortSignal.any` would do, but an observed composite of a long-lived signal (a server's
// shutdown signal given to every call) is never freed from that signal's list of dependants on
// the runtimes `bulwark/fetch` supports: memory would grow with every call. Here each followed
// signal gets one listener, shared by every request that follows it, which holds the requests'
// controllers weakly. A request stops following when it failed or its response was discarded, or
// when its response (and that response's body) can no longer be reached; a signal's listener goes
// with its last follower.

/** The requests following one signal, and the listener that aborts them. */
interface Followers {
  readonly requests: Set<Links>;
  readonly onAbort: () => void;
}

/** One request's controller, what it follows, and a way to stop following. */
export interface Follower {
  readonly controller: AbortController;
  /** Stops following every signal (the request failed, or its response was discarded). */
  release(): void;
}

/** What a request follows; kept by the finalizer only until its controller is collected. */
interface Links {
  readonly ref: WeakRef<AbortController>;
  readonly signals: readonly AbortSignal[];
}

const followed = new WeakMap<AbortSignal, Followers>();

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
  const links: Links = { ref: new WeakRef(controller), signals };
  for (const signal of signals) {
    let followers = followed.get(signal);
    if (followers === undefined) {
      followers = { requests: new Set(), onAbort: () => abortAll(signal) };
      followed.set(signal, followers);
      signal.addEventListener('abort', followers.onAbort);
    }
    followers.requests.add(links);
  }
  (finalizer ??= new FinalizationRegistry(unfollow)).register(controller, links, links);
  return { controller, release: () => release(links) };
}

/** A request stops following its signals (it failed, or aborted, or its response went). */
function release(links: Links): void {
  finalizer?.unregister(links);
  unfollow(links);
}

/** `signal` aborted: so does every request that follows it, which then follows nothing more. */
function abortAll(signal: AbortSignal): void {
  const followers = followed.get(signal);
  // Stryker disable next-line ConditionalExpression: the listener goes with its entry; a guard only
  if (followers === undefined) return;
  followed.delete(signal);
  signal.removeEventListener('abort', followers.onAbort);
  for (const links of followers.requests) {
    release(links);
    links.ref.deref()?.abort(signal.reason);
  }
}

/** A request stops following its signals; a signal nobody follows loses its listener. */
function unfollow(links: Links): void {
  for (const signal of links.signals) {
    const followers = followed.get(signal);
    if (followers === undefined) continue;
    followers.requests.delete(links);
    if (followers.requests.size === 0) {
      followed.delete(signal);
      signal.removeEventListener('abort', followers.onAbort);
    }
  }
}

function ignore(): void {}
