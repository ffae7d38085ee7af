// The signal a request is sent with, when it must follow more than one signal: the attempt's own
// (a per-attempt timeout, a hedge's loser) and the caller's. The attempt's signal stops following
// the caller once the attempt settles, yet the caller's abort must still stop the body the caller
// reads, as it does with `fetch`.
//
// `AbortSignal.any` would do, but an observed composite of a long-lived signal (a server's
// shutdown signal given to every call) is never freed from that signal's list of dependants on
// the runtimes `bulwark/fetch` supports: memory would grow with every call. Here a request
// follows each signal through the core's `AbortLink` (one listener per signal, shared with every
// other call listening to it), holding its controller weakly. A request stops following when it
// failed or its response was discarded; handed out, when its response has no body, or its body
// was read to its end, failed or was cancelled as far as `bodyTimeout.ts` sees it, or else when
// the response (and its body) can no longer be reached. A signal's listener goes with its last
// follower.
// The core's link, through the package's entry (the build makes it an import of 'bulwark'): a
// signal followed by requests and by the core's calls keeps one listener.
import { linkAbort } from '../index.js';
import { noop } from '../internal/signals.js';
import { finalizers, weakRef, type Ref } from '../internal/weak.js';

/** One request's controller, what it follows, and a way to stop following. */
export interface Follower {
  readonly controller: AbortController;
  /** Stops following every signal (nothing can need the request's abort any more). Idempotent. */
  readonly release: () => void;
}

/**
 * A request's controller, held weakly: the signals it follows must not keep it. (Where the host
 * has no `WeakRef`, held until the request stops following: see `weak.ts`.)
 */
class WeakController {
  readonly ref: Ref<AbortController>;

  constructor(controller: AbortController) {
    this.ref = weakRef(controller);
  }

  abort(reason: unknown): void {
    this.ref.deref()?.abort(reason);
  }
}

// Made at the first request that needs it, so that importing the module does nothing. How a
// request stops following is kept by the finalizer only until its controller is collected.
// (`null` where the host has none: a request then follows until released, or its signals go.)
let finalizer: FinalizationRegistry<() => void> | null | undefined;

/**
 * A controller whose signal aborts when any of `signals` does (at once if one has already). The
 * caller keeps the controller reachable for as long as the request may be read.
 */
export function follow(signals: readonly AbortSignal[]): Follower {
  const controller = new AbortController();
  const aborted = signals.find((s) => s.aborted);
  if (aborted !== undefined) {
    controller.abort(aborted.reason);
    return { controller, release: noop };
  }
  const unlink = linkAbort(new WeakController(controller), signals);
  if (finalizer === undefined) finalizer = finalizers((release) => release());
  finalizer?.register(controller, unlink, unlink);
  return {
    controller,
    release: () => {
      finalizer?.unregister(unlink);
      unlink();
    },
  };
}
