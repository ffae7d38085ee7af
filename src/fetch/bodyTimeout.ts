// The bound `bodyTimeout` puts on reading a response's body, from when the response is handed to
// the caller. When it passes, the request's own signal (the one the transport was given, which
// also follows the caller's) aborts with the timeout's error, so the transport errors the body
// stream itself: the caller keeps the transport's own `Response`, its `url`, `redirected` and
// `type` intact, which a wrapping `new Response(stream, init)` would lose.
//
// The timer goes as soon as the body has been read to its end, has failed or was cancelled, or
// the request's signal aborted (the caller's abort). To see that, the response's body methods
// (`text()`, `json()`, ..., `clone()`) and its body stream's ways of being read (`getReader()`
// and the reader's `read()`/`cancel()`, async iteration, `pipeTo()`, `pipeThrough()`, `tee()`,
// `cancel()`) are watched through own, non-enumerable properties that call the originals. A
// read none of them sees (a runtime reading the body by its own internal means) leaves the
// timer until it fires, which then aborts a request already done (nothing happens), or until
// the body stream is collected. The timer keeps a process alive (Node, Bun, Deno) only while a
// read it sees is under way: a response never read, or read in part and left, does not hold the
// process for `bodyTimeout`.
// The timer holds the request's controller weakly, so a dropped response is not kept for the
// timer's sake. It is the system clock's (the host's timers): whether it keeps the process alive
// is changed on the host's own handle (see `hold`).
// The core's clock through its entry point (the build makes it an import of 'bulwark'); the
// reading of its handles is a pure helper, bundled.
import { systemClock } from '../index.js';
import { hostHandle } from '../internal/timerHandle.js';
import { noop } from '../internal/signals.js';
import type { Follower } from './follow.js';

/** How one handed-out response's body is watched: its streams still being read, and the end. */
interface Watch {
  /** Body streams that may still be read (a clone or a tee adds one). */
  live: number;
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
  /** The body was read to its end, or failed: every stream of it is done. */
  readonly end: () => void;
  /** One stream was cancelled: the end once no stream is left to read. */
  readonly cancel: () => void;
}

const METHODS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const;

// Streams already watched (a runtime whose `clone()` keeps the same stream is not watched twice).
const watched = new WeakSet<object>();

// Clears the timer of a body stream that can no longer be reached (nobody can read it). Made at
// the first bound body, so that importing the module does nothing.
let collected: FinalizationRegistry<() => void> | undefined;

/**
 * Starts the bound on reading `response`'s body: after `ms`, `follower`'s controller (the
 * signal its request was sent with) aborts with `timeout()`. Nothing for a response without a
 * body, or whose body is already used or whose request has already aborted.
 */
export function boundBody(
  response: Response,
  follower: Follower,
  ms: number,
  timeout: () => unknown,
): void {
  // An object that serves as a Response (another realm's, a polyfill's) may have no stream.
  const body = response.body as ReadableStream<unknown> | null | undefined;
  const signal = follower.controller.signal;
  if (typeof body?.getReader !== 'function' || response.bodyUsed || body.locked || signal.aborted)
    return;
  const ref = new WeakRef(follower);
  const finish = (): void => {
    if (watch.live < 0) return;
    watch.live = -1;
    systemClock.clearTimeout(timer);
    ref.deref()?.controller.signal.removeEventListener('abort', finish);
    collected?.unregister(finish);
  };
  const watch: Watch = {
    live: 1,
    end: finish,
    cancel: () => {
      if (--watch.live === 0) finish();
    },
    waiting: new Set(),
    pending: 0,
    reading: () => {
      if (watch.pending++ === 0 && watch.live > 0) hold(timer, true);
    },
    idle: () => {
      if (--watch.pending === 0 && watch.live > 0) hold(timer, false);
    },
  };
  // At most `MAX_TIMER_MS` (about 24.8 days), with the timers installed now (fake timers too),
  // which clear it whatever is installed then.
  const timer = systemClock.setTimeout(() => {
    finish();
    const error = (watch.timedOut = timeout());
    const held = ref.deref();
    if (held !== undefined) {
      held.controller.abort(error);
      held.release();
    }
    // The reads under way fail now, whatever the transport does with the abort.
    for (const fail of watch.waiting) fail(error);
    watch.waiting.clear();
  }, ms);
  hold(timer, false);
  signal.addEventListener('abort', finish);
  (collected ??= new FinalizationRegistry((clear) => clear())).register(body, finish, finish);
  watchResponse(response, watch);
}

/** Watches a response's body methods, `clone()` and its body stream. */
function watchResponse(response: Response, watch: Watch): void {
  for (const name of METHODS) {
    patch(response, name, (method) => (...args) => {
      const unread = !response.bodyUsed && response.body?.locked === false;
      const read = method(...args) as Promise<unknown>;
      // Settled either way, the body was read to its end or failed (a `json()` whose text does
      // not parse was read to its end too).
      return unread ? seeEnd(read, watch, true) : read;
    });
  }
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
      if (response.body !== null) watchStream(response.body, watch);
    }
    return copy;
  });
  if (response.body !== null) watchStream(response.body, watch);
}

/**
 * Settles as `read` does, ending the watch when it rejects or says done (`whole`: settles once
 * the body is whole). While it is under way the timer holds the process, unless nobody waits on
 * it (`waited` false: a pipe into a stream that may never be read). A read the timeout failed
 * rejects with the timeout's error, whatever error the runtime made of the aborted body
 * (Chromium's `text()` of a stream errored by the abort rejects with a `TypeError: Failed to
 * fetch`), and when the bound passes even if the read never settles (a transport that ignores
 * the request's signal never errors its body): what it settles with later is dropped. A read
 * begun after the bound passed rejects at once with the timeout's error.
 */
function seeEnd<R>(read: Promise<R>, watch: Watch, whole = false, waited = true): Promise<R> {
  if (waited) watch.reading();
  return new Promise<R>((resolve, reject) => {
    // Rejects with the timeout's error, whatever it is (the timer's `fail`).
    const fail: (error: unknown) => void = reject;
    const timedOut = watch.timedOut;
    if (timedOut !== undefined) fail(timedOut);
    else watch.waiting.add(fail);
    // Handled either way: a read that settles after the bound failed it is dropped, and its
    // rejection is no unhandled one.
    read.then(
      (result) => {
        watch.waiting.delete(fail);
        if (waited) watch.idle();
        if (whole || (result as IteratorResult<unknown>).done === true) watch.end();
        resolve(result);
      },
      (error: unknown) => {
        watch.waiting.delete(fail);
        if (waited) watch.idle();
        watch.end();
        reject(watch.timedOut ?? error);
      },
    );
  });
}

/** Watches the ways a body stream is read or cancelled. */
function watchStream(stream: ReadableStream<unknown>, watch: Watch): void {
  if (watched.has(stream)) return;
  watched.add(stream);
  patch(stream, 'getReader', (getReader) => (...args) => {
    const reader = getReader(...args) as object;
    patch(
      reader,
      'read',
      (read) =>
        (...a) =>
          seeEnd(read(...a) as Promise<unknown>, watch),
    );
    patch(reader, 'cancel', (cancel) => (...a) => {
      watch.cancel();
      return cancel(...a);
    });
    return reader;
  });
  patch(stream, 'cancel', (cancel) => (...args) => {
    if (!stream.locked) watch.cancel();
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
          if (options?.preventCancel !== true) watch.cancel();
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
 * `target`); nothing when it has none (a runtime without `bytes()` or async iteration).
 */
function patch(target: object, key: PropertyKey, make: (original: Method) => Method): void {
  const original: unknown = Reflect.get(target, key);
  if (typeof original !== 'function') return;
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
