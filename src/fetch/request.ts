// What resilientFetch must know of a request before sending it: its method, whether it carries
// an Idempotency-Key, and whether its body can be sent again.

/** The parts of a request that decide whether it may be re-sent. */
export interface RequestFacts {
  /** The method, upper-cased. */
  readonly method: string;
  /** True when the request carries an `Idempotency-Key` header. */
  readonly idempotencyKey: boolean;
  /** True when every attempt can send the body again (or there is none). */
  readonly replayableBody: boolean;
}

/** Reads the method, headers and body of `fetch`'s arguments as `fetch` itself would. */
export function requestFacts(
  input: string | URL | Request,
  init: RequestInit | undefined,
): RequestFacts {
  const request = isRequest(input) ? input : undefined;
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  // `init.headers` replaces a Request's headers, as in `new Request(request, init)`.
  const headers = init?.headers !== undefined ? new Headers(init.headers) : request?.headers;
  const idempotencyKey = headers !== undefined && headers.has('idempotency-key');
  let replayableBody: boolean;
  if (init !== undefined && 'body' in init && init.body !== undefined) {
    replayableBody = isReplayableBody(init.body);
  } else {
    // A Request's own body is cloned for each attempt (see `attemptInput`).
    replayableBody = true;
  }
  // A Request's own body that was read (or is being read) cannot be sent: fetch refuses it with
  // a TypeError, and so does this, before any stage sees the call, so that the caller's mistake
  // is neither retried nor counted by a breaker against the server.
  const own = ownBody(input, init);
  if (own !== undefined && (own.bodyUsed || own.body?.locked === true)) {
    throw new TypeError(
      "resilientFetch: the Request's body has already been used; make a new Request, " +
        'or send a clone() made before its body was read',
    );
  }
  return { method, idempotencyKey, replayableBody };
}

/**
 * The Request whose own body a request sends: `input` when it is a Request with a body and
 * `init` gives none (`undefined` or `null`, as in `new Request(input, init)`); else undefined.
 */
function ownBody(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Request | undefined {
  return isRequest(input) && input.body !== null && init?.body == null ? input : undefined;
}

/**
 * True for a body that `fetch` serialises afresh on every call: none, a string, bytes
 * (ArrayBuffer or a view), URLSearchParams, FormData or a Blob. A ReadableStream or an async
 * iterable can be read only once.
 */
function isReplayableBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof SharedArrayBuffer !== 'undefined' && body instanceof SharedArrayBuffer) return true;
  if (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  return false;
}

/**
 * The input for one attempt. A Request whose own body is sent is cloned, so the original keeps a
 * body for the next attempt; other inputs (a Request whose body `init.body` replaces among them)
 * are passed as they are.
 */
export function attemptInput(
  input: string | URL | Request,
  init: RequestInit | undefined,
): string | URL | Request {
  return ownBody(input, init)?.clone() ?? input;
}

/** The caller's signals: `init.signal` and the Request's own. */
export function callerSignals(
  input: string | URL | Request,
  init: RequestInit | undefined,
): AbortSignal[] {
  const signals: AbortSignal[] = [];
  if (init?.signal != null) signals.push(init.signal);
  if (isRequest(input) && input.signal !== init?.signal) signals.push(input.signal);
  return signals;
}

/** The request's URL as a string. */
export function requestUrl(input: string | URL | Request): string {
  return isRequest(input) ? input.url : String(input);
}

function isRequest(input: unknown): input is Request {
  return typeof Request !== 'undefined' && input instanceof Request;
}
