// How the body of a response handed to the caller is watched: the request it came from follows
// the caller's signal (see `follow.ts`) only until nothing can need that any more, and with a
// `bodyTimeout`, its reading is bounded.
//
// The request stops following the caller's signals (its follower is released) as soon as the
// body has been read to its end, has failed or was cancelled, or the request's signal aborted;
// at once for a response without a body. Until then the caller's abort still errors the body
// being read, as with `fetch`. To see that, the response's body methods (`text()`, `json()`,
// ..., `clone()`) are watched through own, non-enumerable properties that call the originals,
// and with a `bodyTimeout` its body stream's ways of being read too (`getReader()` and the
// reader's `read()`/`cancel()`, async iteration, `pipeTo()`, `pipeThrough()`, `tee()`,
// `cancel()`). A read none of them sees (through the stream without a `bodyTimeout`, or a
// runtime reading the body by its own internal means), a body that is no web stream (a Node
// stream's) or one already read from, leaves the follower until the response is collected.
//
// With a `bodyTimeout`, the bound runs from when the response is handed to the caller. When it
// passes, the request's own signal (the one the transport was given, which also follows the
// caller's) aborts with the timeout's error, so the transport errors the body stream itself: the
// caller keeps the transport's own `Response`, its `url`, `redirected` and `type` intact, which a
// wrapping `new Response(stream, init)` would lose. The timer goes when the follower is
// released. A read none of the watches sees leaves the timer until it fires, which then aborts a
// request already done (nothing happens), or until the body stream is collected. The timer keeps
// a process alive (Node, Bun, Deno) only while a read it sees is under way: a response never
// read, or read in part and left, does not hold the process for `bodyTimeout`.
// The timer holds the request's controller weakly, so a dropped response is not kept for the
// timer's sake (where the host has no `WeakRef`, strongly: until the bound passes at most). It is the system clock's (the host's timers): whether it keeps the process alive
// is changed on the host's own handle (see `hold`).
// The core's clock through its entry point (the build makes it an import of 'bulwark'); the
// reading of its handles is a pure helper, bundled.
import { systemClock } from '../index.js';
import { hostHandle } from '../internal/timerHandle.js';
import { noop } from '../internal/signals.js';
import { finalizers, weakRef } from '../internal/weak.js';
import type { Follower } from './follow.js';

/** How one handed-out response's body is watched: its streams still being read, and the end. */
interface Watch {
  /** Body streams that may still be read (a clone or a tee adds one); -1 once the watch ended. */
  live: number;
  /** The body was read to its end, or failed: every stream of it is done. */
  readonly end: () => void;
  /** One stream was cancelled: the end once no stream is left to read. */
  readonly cancel: () => void;
  /** The bound on reading the body, with a `bodyTimeout`. */
  readonly bound?: Bound;
}

/** The reads a `bodyTimeout` bounds. */
interface Bound {
  /** The timeout's error, once the bound has passed. */
  timedOut?: unknown;
  /**
   * How to fail each read under way when the bound passes, with the timeout's error: so that a
   * read the transport never ends (it ignores the request's signal) fails at the bound too.
   */
  readonly waiting: Set<(error: unknown) => void>;
  /** Reads under way that a caller waits on. */
  pending: number;
  /** A read began: the caller now waits on the timer, which keeps the process alive. */
  readonly reading: () => void;
  /** A read settled: with none left under way, the timer no longer holds the process. */
  readonly idle: () => void;
}

const METHODS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const;

// Streams already watched (a runtime whose `clone()` keeps the same stream is not watched twice).
const watched = new WeakSet<object>();

// Clears the timer of a body stream that can no longer be reached (nobody can read it). Made at
// the first bound body, so that importing the module does nothing. (`null` where the host has
// none: the timer then goes when the body is done or the bound passes.)
let collected: FinalizationRegistry<() => void> | null | undefined;

/**
 * Watches the body of `response`, handed to the caller, to release `follower` (what its request
 * was sent with) once the body is done; at once when it has none or the request has already
 * aborted. With a `bound`, reading it is bounded as well: after `bound.ms`, the follower's
 * controller aborts with `bound.timeout()`.
 */
export function watchBody(
  response: Response,
  follower: Follower,
  bound?: { readonly ms: number; readonly timeout: () => unknown },
): void {
  // An object that serves as a Response (another realm's, a polyfill's) may have no stream.
  const body = response.body as ReadableStream<unknown> | null | undefined;
  const signal = follower.controller.signal;
  // Nothing left that the caller's abort could stop.
  if (body === null || signal.aborted) return follower.release();
  // Its end cannot be seen: the follower goes with the response.
  if (typeof body?.getReader !== 'function' || response.bodyUsed || body.locked) return;
  // Holds what stops following, not the controller (see `follow.ts`).
  const release = follower.release;
  if (bound === undefined) {
    const watch: Watch = {
      live: 1,
      end: () => {
        if (watch.live < 0) return;
        watch.live = -1;
        release();
      },
      cancel: () => {
        if (--watch.live === 0) watch.end();
      },
    };
    return watchResponse(response, watch);
  }
  const ref = weakRef(follower.controller);
  const finish = (): void => {
    if (watch.live < 0) return;
    watch.live = -1;
    systemClock.clearTimeout(timer);
    ref.deref()?.signal.removeEventListener('abort', finish);
    collected?.unregister(finish);
    release();
  };
  const { ms, timeout } = bound;
  const reads: Bound = {
    waiting: new Set(),
    pending: 0,
    reading: () => {
      if (reads.pending++ === 0 && watch.live > 0) hold(timer, true);
    },
    idle: () => {
      if (--reads.pending === 0 && watch.live > 0) hold(timer, false);
    },
  };
  const watch: Watch = {
    live: 1,
    end: finish,
    cancel: () => {
      if (--watch.live === 0) finish();
    },
    bound: reads,
  };
  // At most `MAX_TIMER_MS` (about 24.8 days), with the timers installed now (fake timers too),
  // which clear it whatever is installed then.
  const timer = systemClock.setTimeout(() => {
    finish();
    const error = (reads.timedOut = timeout());
    ref.deref()?.abort(error);
    // The reads under way fail now, whatever the transport does with the abort.
    for (const fail of reads.waiting) fail(error);
    reads.waiting.clear();
  }, ms);
  hold(timer, false);
  signal.addEventListener('abort', finish);
  if (collected === undefined) collected = finalizers((clear) => clear());
  collected?.register(body, finish, finish);
  watchResponse(response, watch);
}

/**
 * Watches a response's body methods and `clone()`, and with a bound, its body stream. Without
 * one, the stream is left as the transport made it: own properties on it slow every read of
 * it, and a request read through it is released when its response is collected.
 */
function watchResponse(response: Response, watch: Watch): void {
  for (const name of METHODS) {
    patch(response, name, (method) => (...args) => {
      const unread = !response.bodyUsed && response.body?.locked === false;
      const read = method(...args) as Promise<unknown>;
      // Settled either way, the body was read to its end or failed (a `json()` whose text does
      // not parse was read to its end too). A polyfill's method that answers no promise is left
      // as it is.
      return unread && typeof (read as Partial<Promise<unknown>> | null)?.then === 'function'
        ? seeEnd(read, watch, true)
        : read;
    });
  }
  const streams = watch.bound !== undefined;
  patch(response, 'clone', (clone) => () => {
    // A runtime whose `clone()` tees the body through the stream's own `tee()` (Node's undici)
    // reaches the watched `tee` below, which counts the copy: it is counted here only if not.
    const live = watch.live;
    const copy = clone() as Response;
    const counted = watch.live !== live;
    if (copy.body !== null && watch.live > 0) {
      // Teed: this response reads one branch now, the copy the other.
      if (!counted) watch.live += 1;
      watchResponse(copy, watch);
      if (streams && response.body !== null) watchStream(response.body, watch);
    }
    return copy;
  });
  if (streams && response.body !== null) watchStream(response.body, watch);
}

/**
 * Settles as `read` does, ending the watch when it rejects or says done (`whole`: settles once
 * the body is whole). Without a bound, that is all: `read` itself is returned. With one, while it
 * is under way the timer holds the process, unless nobody waits on it (`waited` false: a pipe
 * into a stream that may never be read). A read the timeout failed rejects with the timeout's
 * error, whatever error the runtime made of the aborted body (Chromium's `text()` of a stream
 * errored by the abort rejects with a `TypeError: Failed to fetch`), and when the bound passes
 * even if the read never settles (a transport that ignores the request's signal never errors its
 * body): what it settles with later is dropped. A read begun after the bound passed rejects at
 * once with the timeout's error.
 */
function seeEnd<R>(read: Promise<R>, watch: Watch, whole = false, waited = true): Promise<R> {
  const bound = watch.bound;
  if (bound === undefined) {
    // Seen before the caller sees it (the first reaction); its rejection stays the caller's.
    read.then((result) => {
      if (whole || (result as IteratorResult<unknown>).done === true) watch.end();
    }, watch.end);
    return read;
  }
  if (waited) bound.reading();
  return new Promise<R>((resolve, reject) => {
    // Rejects with the timeout's error, whatever it is (the timer's `fail`).
    const fail: (error: unknown) => void = reject;
    const timedOut = bound.timedOut;
    if (timedOut !== undefined) fail(timedOut);
    else bound.waiting.add(fail);
    // Handled either way: a read that settles after the bound failed it is dropped, and its
    // rejection is no unhandled one.
    read.then(
      (result) => {
        bound.waiting.delete(fail);
        if (waited) bound.idle();
        if (whole || (result as IteratorResult<unknown>).done === true) watch.end();
        resolve(result);
      },
      (error: unknown) => {
        bound.waiting.delete(fail);
        if (waited) bound.idle();
        watch.end();
        reject(bound.timedOut ?? error);
      },
    );
  });
}

/** Watches the ways a body stream is read or cancelled. */
function watchStream(stream: ReadableStream<unknown>, watch: Watch): void {
  if (watched.has(stream)) return;
  watched.add(stream);
  // A stream is cancelled once: a second cancel (or one that cannot take effect: a released
  // reader's) must not count another stream as done while a copy is still being read.
  let cancelled = false;
  const cancelOnce = (): void => {
    if (cancelled) return;
    cancelled = true;
    watch.cancel();
  };
  patch(stream, 'getReader', (getReader) => (...args) => {
    const reader = getReader(...args) as object;
    let attached = true;
    patch(
      reader,
      'read',
      (read) =>
        (...a) =>
          seeEnd(read(...a) as Promise<unknown>, watch),
    );
    patch(reader, 'releaseLock', (releaseLock) => (...a) => {
      const released = releaseLock(...a);
      attached = false;
      return released;
    });
    patch(reader, 'cancel', (cancel) => (...a) => {
      if (attached) cancelOnce();
      return cancel(...a);
    });
    return reader;
  });
  patch(stream, 'cancel', (cancel) => (...args) => {
    if (!stream.locked) cancelOnce();
    return cancel(...args);
  });
  for (const key of ['values', Symbol.asyncIterator]) {
    patch(stream, key, (iterate) => (...args) => {
      const it = iterate(...args) as AsyncIterator<unknown>;
      const options = args[0] as { preventCancel?: boolean } | undefined;
      return {
        next: () => seeEnd(it.next(), watch),
        return: (value?: unknown) => {
          // Leaving a loop early cancels the stream, unless told not to.
          if (options?.preventCancel !== true) cancelOnce();
          return it.return === undefined
            ? Promise.resolve({ done: true, value })
            : it.return(value);
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    });
  }
  // Settled, a pipe read the stream to its end, failed, or was cancelled.
  let pipe: Method | undefined;
  patch(stream, 'pipeTo', (pipeTo) => {
    pipe = pipeTo;
    return (...args) => {
      const unread = !stream.locked;
      const piped = pipeTo(...args) as Promise<void>;
      return unread ? seeEnd(piped, watch, true) : piped;
    };
  });
  patch(stream, 'pipeThrough', (pipeThrough) => (...args) => {
    const pair = args[0] as ReadableWritablePair<unknown, unknown> | undefined;
    // As the standard's pipeThrough, through the watched pipe; the original for what throws. No
    // one waits on this pipe (its output may never be read): it does not hold the process.
    if (pipe === undefined || stream.locked || pair?.writable?.locked !== false) {
      return pipeThrough(...args);
    }
    seeEnd(pipe(pair.writable, args[1]) as Promise<void>, watch, true, false).catch(noop);
    return pair.readable;
  });
  patch(stream, 'tee', (tee) => () => {
    const branches = tee() as ReadableStream<unknown>[];
    watch.live += 1;
    for (const branch of branches) watchStream(branch, watch);
    return branches;
  });
}

type Method = (...args: unknown[]) => unknown;

/**
 * Gives `target` an own, non-enumerable `key` made by `make` from the method it has (called on
 * `target`); nothing when it has none (a runtime without `bytes()` or async iteration) or
 * cannot be given one (a frozen object).
 */
function patch(target: object, key: PropertyKey, make: (original: Method) => Method): void {
  const original: unknown = Reflect.get(target, key);
  // A frozen response or stream (a test's stub) is left as it is: its end goes unseen.
  if (typeof original !== 'function' || !Object.isExtensible(target)) return;
  const call: Method = (...args) => Reflect.apply(original, target, args) as unknown;
  Object.defineProperty(target, key, { value: make(call), writable: true, configurable: true });
}

/**
 * Whether the timer keeps the process alive: not while the body is unread (a response never
 * read must not hold a process for the bound), and so once a read begins (the caller waits on
 * it, as on any timer; a body that only a timer can end, from a transport with no socket of its
 * own, must not let the process end under the read). Node's and Bun's timers have
 * `ref()`/`unref()`, Deno's ids go to `Deno.refTimer`/`Deno.unrefTimer`; a browser has no
 * process to hold.
 */
export function hold(timer: unknown, ref: boolean): void {
  const handle = hostHandle(timer);
  const key = ref ? 'ref' : 'unref';
  if (typeof handle === 'object' && handle !== null) {
    const method: unknown = Reflect.get(handle, key);
    if (typeof method === 'function') Reflect.apply(method, handle, []);
  } else if (typeof handle === 'number') {
    const deno = (globalThis as { Deno?: Record<string, unknown> }).Deno;
    const method = deno?.[ref ? 'refTimer' : 'unrefTimer'];
    if (typeof method === 'function') Reflect.apply(method, deno, [handle]);
  }
}
