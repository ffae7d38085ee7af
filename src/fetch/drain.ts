// What becomes of the body of a response `resilientFetch` discards (a retried attempt's, a
// hedge's other outcomes, ...). A transport puts a keep-alive connection back in its pool only
// once the response's body has been read to its end; a cancelled body closes the connection
// instead, so that every retried failure status would cost a new connection (and, over TLS, a
// new handshake). So a small body is read to its end and dropped, which keeps the connection;
// any other is cancelled, which frees it: one that declares (`Content-Length`) or turns out
// longer than `DRAIN_BYTES`, one that has not ended within `DRAIN_MS` (a slow or stalled body
// costs more to wait for than a new connection does), or one whose read the given signal stops.
// No attempt waits on a drain: it runs in the background (a failure status's body from when it
// arrives, through a copy, see `readAhead` in resilientFetch.ts), on a timer that holds no
// process.
import { listenAbort, systemClock, unlistenAbort } from '../index.js';
import { noop } from '../internal/signals.js';
import { hold } from './bodyTimeout.js';

/** The most a discarded body is read to keep its connection: 128 KiB, as undici's `dump()`. */
const DRAIN_BYTES = 131_072;

/** The longest a discarded body is read before it is cancelled, in milliseconds. */
const DRAIN_MS = 100;

const done: Promise<void> = Promise.resolve();

/** Cancels `body`, if it can be: a body that cannot is already being read by someone. */
function cancel(body: ReadableStream<unknown>): void {
  try {
    body.cancel().catch(noop);
  } catch {
    // Locked, or not a stream at all.
  }
}

/** Cancels the body of `response`, if it has one that can be cancelled. */
export function cancelBody(response: Response): void {
  try {
    const body = response.body as ReadableStream<unknown> | null | undefined;
    if (body != null) cancel(body);
  } catch {
    // An object that serves as a Response and does not serve this far.
  }
}

/** The length a response declares, or -1 when it declares none that can be read. */
function declaredLength(response: Response): number {
  const header = response.headers.get('content-length');
  return header !== null && /^\s*\d+\s*$/.test(header) ? Number(header) : -1;
}

/**
 * Reads `response`'s body to its end and drops it, or cancels it (see above); resolves once that
 * is done, and never rejects. Nothing for a response without a body, or whose body is already
 * used or being read. `signal` (when given) stops the read: its abort cancels the body at once.
 */
export function drain(response: Response, signal?: AbortSignal): Promise<void> {
  let body: ReadableStream<Uint8Array> | null | undefined;
  let length: number;
  try {
    body = response.body;
    if (body == null || response.bodyUsed || body.locked) return done;
    length = declaredLength(response);
  } catch {
    // An object that serves as a Response (another realm's, a polyfill's) and does not serve
    // this far: left to its transport.
    return done;
  }
  if (typeof body.getReader !== 'function') return done;
  if (length > DRAIN_BYTES || signal?.aborted === true) {
    cancel(body);
    return done;
  }
  const reader = body.getReader();
  return new Promise<void>((resolve) => {
    let read = 0;
    let ended = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      systemClock.clearTimeout(timer);
      if (signal !== undefined) unlistenAbort(signal, stop);
      resolve();
    };
    // The body is too long or too slow, or the wait is over: its connection is closed.
    const stop = (): void => {
      if (ended) return;
      finish();
      reader.cancel().catch(noop);
    };
    // `systemClock`'s timer, set with the timers installed now. Nobody waits on it: it does not
    // hold a process whose calls have all settled (a stalled body's open socket still does,
    // until the cancel).
    const timer = systemClock.setTimeout(stop, DRAIN_MS);
    hold(timer, false);
    if (signal !== undefined) listenAbort(signal, stop);
    const next = (): void => {
      reader.read().then((chunk) => {
        if (chunk.done) finish();
        else if ((read += (chunk.value as Uint8Array | undefined)?.byteLength ?? 0) > DRAIN_BYTES)
          stop();
        else if (!ended) next();
      }, finish);
    };
    next();
  });
}
