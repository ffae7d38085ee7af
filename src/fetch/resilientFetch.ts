// The core only through its entry point: the build turns this into an import of 'bulwark', so
// the option errors thrown here are the core's classes (`instanceof OptionTypeError` from
// 'bulwark' holds) and the helpers are not bundled a second time.
import {
  booleanOption,
  functionOption,
  OptionRangeError,
  OptionTypeError,
  optionsObject,
  show,
  type ExecuteOptions,
  type ExecutionContext,
  type Thunk,
  linkAbort,
  listenAbort,
  notRetryable,
  OperationTimeoutError,
  positiveDuration,
  unlistenAbort,
  type Duration,
} from '../index.js';
import { watchBody } from './bodyTimeout.js';
import { describeError } from '../internal/describeError.js';
import { cancelBody, drain } from './drain.js';
import { noop } from '../internal/signals.js';
import {
  HttpStatusError,
  isHttpStatusError,
  redactUrl,
  type HttpStatusErrorOptions,
} from './HttpStatusError.js';
import { carriedStatus } from './carriedStatus.js';
import { follow, type Follower } from './follow.js';
import { isRedirectFailure } from './redirect.js';
import { attemptInput, callerSignals, requestFacts, requestUrl } from './request.js';

/** `fetch`'s signature, as `resilientFetch` takes its transport. */
export type FetchFunction = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/** The `init` of the function {@link resilientFetch} returns: `fetch`'s, and `data`. */
export interface ResilientFetchInit extends RequestInit {
  /**
   * Data for the policy's stages and fallback, in `ctx.data` beside the request's `url` and
   * `method` (a limiter keyed per client: `key: (ctx) => String(ctx.data.get('client'))`). A
   * `Map`, or any object, whose own enumerable string keys become the entries, as `execute`'s
   * `data`; copied into a `Map` of the call's own, so the caller's is never written. It may not
   * set `url` or `method`, which are the request's. Never handed to the transport.
   */
  readonly data?: ExecuteOptions['data'];
}

/**
 * `fetch`'s signature, as {@link resilientFetch} returns it, its `init` taking `data` as well. It
 * can be given wherever a `typeof fetch` is expected.
 */
export type ResilientFetchFunction = (
  input: string | URL | Request,
  init?: ResilientFetchInit,
) => Promise<Response>;

/**
 * What `resilientFetch` needs of a policy: a `Policy` that answers a `Response`-producing thunk
 * with a `Response`. A policy whose fallback answers with something else
 * (`Policy.builder<Response>('api').fallback({ value: null })`, a `Policy<Response, null>`) does
 * not fit: its fallback would hide the failure behind a value `fetch`'s callers cannot take.
 */
export interface FetchPolicy {
  execute(fn: Thunk<Response>, options?: ExecuteOptions): Promise<Response>;
}

/** Options of {@link resilientFetch}. */
export interface ResilientFetchOptions {
  /**
   * The transport each attempt calls.
   * @defaultValue the global `fetch`, looked up at each call
   */
  readonly fetch?: FetchFunction | undefined;
  /**
   * Statuses that count as failures: the response becomes an {@link HttpStatusError} inside the
   * policy, so retry, circuit breaker and fallback see it. Integers in [100, 599].
   * @defaultValue `[408, 425, 429, 500, 502, 503, 504]`
   */
  readonly retryStatuses?: readonly number[] | undefined;
  /**
   * Methods whose requests may be sent again (case-insensitive). A request with another method
   * is sent again only when it carries an `Idempotency-Key` header.
   * @defaultValue `['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']`
   */
  readonly retryMethods?: readonly string[] | undefined;
  /**
   * When the policy gives up on a failure status: `false` resolves with that last `Response`,
   * as `fetch` would; `true` rejects with its {@link HttpStatusError}.
   * @defaultValue false
   */
  readonly throwOnStatus?: boolean | undefined;
  /**
   * How long reading the body of the response handed to the caller may take, counted from when
   * it is handed out (the returned promise resolves with it, or rejects with an
   * {@link HttpStatusError} holding it): a finite duration > 0. A value above 2^31 - 1 ms (about
   * 24.8 days, the longest delay host timers honour) is clamped to it. A policy's `.timeout()` bounds
   * getting the response, its status and headers; this bounds the rest, a body that stalls after
   * the headers. It does not run from the call's start: the policy's stages (retry waits, a
   * queue, a timeout per attempt) already bound the time to the response, and a body's budget
   * should not shrink with how long they took. For one bound over the whole exchange, give the
   * call a signal of its own (`AbortSignal.timeout(ms)`).
   *
   * When it passes, the request is aborted, so the body read under way or to come (`text()`,
   * `json()`, the body's reader, `for await` over it) rejects with an `OperationTimeoutError`
   * (from `bulwark`; code `'TIMEOUT'`, `timeoutMs`, message
   * `reading the body of GET https://api.example.com/users exceeded timeout of 5.0s`, the URL
   * without its query string as in {@link HttpStatusError}), rather than the `DOMException`
   * `TimeoutError` of `AbortSignal.timeout`: it is bulwark's own timeout, told apart from a
   * caller's by `isOperationTimeoutError` and `error.code` as the policy's are. The caller's
   * abort, coming first, still rejects with the caller's reason.
   *
   * The response is the transport's own (`url`, `redirected`, `type` intact): the bound works
   * through the signal the request was sent with, so a transport that does not follow its
   * signal is not stopped. Its timer is cleared once the body is read to its end, fails or is
   * cancelled, seen through the response's body methods and its body stream's (own,
   * non-enumerable properties that call the originals; a read by other means leaves the timer
   * to fire on a finished request, which does nothing). It keeps a process alive only while a
   * read is under way, as any timer a caller waits on: a response whose body is never read does
   * not hold a process for `bodyTimeout`. Responses the call discards (retried, hedged) get
   * none; nor does one without a body.
   * @defaultValue undefined: no bound on reading the body
   */
  readonly bodyTimeout?: Duration | undefined;
}

const FETCH_DEFAULTS = Object.freeze({
  retryStatuses: Object.freeze([408, 425, 429, 500, 502, 503, 504]),
  retryMethods: Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']),
  throwOnStatus: false,
});

const FETCH_OPTIONS: readonly string[] = Object.freeze([
  'fetch',
  'retryStatuses',
  'retryMethods',
  'throwOnStatus',
  'bodyTimeout',
]);

// Errors from requests that may not be sent again which could not carry their own
// `retryable: false` (frozen or sealed objects, Proxies that refuse it), for `isRetryable`.
const unrepeatable = new WeakSet<object>();

/**
 * False for an outcome of a request `resilientFetch` will not send again (a method that is not
 * idempotent without an `Idempotency-Key`, or a one-shot stream body), for a redirect loop or
 * a redirect met with `redirect: 'error'` (the transport's error, as `resilientFetch` recognises
 * it: see its documentation), and for another HTTP client's error that carries a failure status
 * `resilientFetch` does not retry; true otherwise. Such an
 * outcome carries its own `retryable: false`, which bulwark's retry honours by itself; use this
 * as the `retryOn` of a retry that does not (another library's, a custom stage's). It reads that
 * mark first, so it also knows errors marked by another copy of the package. The reason a caller
 * aborted with is the caller's own object and is left unmarked (true here): a retry never retries
 * a call its caller aborted.
 *
 * An error of another client (axios, got, ky, undici, superagent, http-errors) is judged by the
 * status it carries, as its own `status` or `statusCode`, or its own `response`'s `status` or
 * `statusCode`: a status in `retryStatuses`' default (408, 425, 429, 500, 502, 503, 504) is
 * retryable, any other in [400, 599] (a 404, a 501) is not. An error with no such status (a
 * network error, a timeout, a status below 400) is retryable, as before.
 *
 * @example
 * ```ts
 * const policy = Policy.builder<Response>('api').retry({ maxAttempts: 3, retryOn: isRetryable }).build();
 * ```
 */
export function isRetryable(error: unknown): boolean {
  if (isHttpStatusError(error)) return error.retryable;
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return true;
  // The mark `resilientFetch` leaves, read first: it holds across copies of the package (two
  // versions installed, or a browser bundle's CommonJS and ES builds), where a copy's own WeakSet
  // knows nothing of the other's.
  if (notRetryable(error)) return false;
  if (isRedirectFailure(error)) return false;
  if (unrepeatable.has(error)) return false;
  // Another client's status error (axios, got, ky, ...): the statuses resilientFetch retries.
  const status = carriedStatus(error);
  return status === undefined || FETCH_DEFAULTS.retryStatuses.includes(status);
}

/** A `Response`, or an object that serves as one (another realm's, a polyfill's). */
function isResponse(value: unknown): value is Response {
  return (
    (typeof Response === 'function' && value instanceof Response) ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { status?: unknown }).status === 'number' &&
      typeof (value as { headers?: unknown }).headers === 'object')
  );
}

function notAResponse(value: unknown): TypeError {
  return new TypeError(
    `resilientFetch: the policy answered with ${show(value)}, not a Response ` +
      '(a fallback in a policy given to resilientFetch must return one)',
  );
}

/**
 * Wraps `fetch` in a policy: each attempt the policy makes is one request, and statuses in
 * `retryStatuses` are failures that retry, circuit breaker and fallback see.
 *
 * - Each attempt's request follows `ctx.signal`, so a per-attempt timeout really stops it; the
 *   caller's `init.signal` (and a Request's own signal) is the execution's signal, and also stops
 *   the body of the response returned while the caller reads it, as with `fetch`. A call given a
 *   signal sends each request with a signal of its own that follows it, so a signal shared by
 *   every call (a server's shutdown signal) keeps one `abort` listener however many requests
 *   follow it, where the transport would keep one per request. A request follows it until
 *   nothing can need that: the request failed, its response has no body or was discarded, or
 *   the body was read to its end or failed through the response's body methods (through its
 *   stream, or cancelled, as well with `bodyTimeout`); else until the response is collected.
 * - With `bodyTimeout`, reading the body of the response handed out is bounded as well, from
 *   the hand-out; the policy's `.timeout()` bounds only getting the response.
 * - A failure status becomes an {@link HttpStatusError} inside the policy. When the policy gives
 *   up on it, the last `Response` is returned as `fetch` would (or the error is thrown, with
 *   `throwOnStatus: true`). Other errors (network, timeout, circuit open, ...) reject as the
 *   policy throws them.
 * - A request is sent again only when that is safe: an idempotent method (`retryMethods`) or an
 *   `Idempotency-Key` header, and a body that can be re-sent (none, a string, bytes,
 *   URLSearchParams, FormData, a Blob, or a Request's own body, which is cloned). Otherwise it is
 *   sent once: its failure (a failure status, a network error, a per-attempt timeout) carries its
 *   own `retryable: false`, so a retry stage gives up at once and the breaker and the fallback
 *   see one failure; a further attempt a custom stage runs anyway repeats the first outcome
 *   without touching the network. The caller's abort reason, the caller's own object (possibly
 *   shared by every call it cancels), is never marked. A Request whose own body was already read
 *   (and no `init.body` replaces it) rejects the call with a `TypeError`, as `fetch` would,
 *   before any stage runs.
 * - A redirect loop (more redirects than the transport follows) and a redirect met with
 *   `redirect: 'error'` cannot succeed by sending the same request again: the transport's error
 *   (a `TypeError`, as for any network error) is marked `retryable: false` as well, whatever the
 *   method. Recognised on the error or its `cause` chain: Node's fetch and `undici` (a cause
 *   whose message is `redirect count exceeded` or `unexpected redirect`), Deno (`Fetch failed:
 *   Maximum number of redirects (20) reached`, `Fetch failed: Encountered redirect while redirect
 *   mode is set to 'error'`), Bun (`code` `'TooManyRedirects'` or `'UnexpectedRedirect'`) and
 *   node-fetch (`type` `'max-redirect'` or `'no-redirect'`). A browser's error says nothing of
 *   the redirect: it is retried as any network error.
 * - `ctx.data` holds the request's `url` (a string) and `method` (upper-cased), for stages and
 *   fallbacks that depend on the request (a breaker keyed per host, a cached answer per URL),
 *   and the entries of the call's `init.data` (a limiter keyed per client: `http(url, { data: {
 *   client } })`), a `Map` or any object, copied. Data that sets `url` or `method`, or is not an
 *   object, rejects the call with an `OptionTypeError` (from `bulwark`) naming `init.data`, and
 *   nothing is sent. The transport never sees `data`.
 * - The bodies of responses it discards (a retried attempt's, one a retry's `retryOnResult` or a
 *   hedge's `on` rejected, a hedge's other outcomes, one that arrives after the call ended) are
 *   let go: every response but the one returned. A small one (at most 128 KiB, declared or read)
 *   that ends within 100 ms is read to its end and dropped, so its keep-alive connection is used
 *   again; any other is cancelled, which closes its connection. No attempt waits for that: a
 *   failure status's body (of a request that may be sent again) is read ahead from its arrival,
 *   through a `clone()`, during the retry's wait, so the next attempt goes out on the connection
 *   freed when the body ended within that wait, and no attempt's time counts the read; handed
 *   out after all, the response's body is whole and its read-ahead stops. A response a
 *   fallback's `onResult` rejected is readable in
 *   the fallback's method (as `error.result`) and let go once the call has settled, unless the
 *   method answers with it: read what it needs before answering, or answer with it.
 * - The returned function keeps `fetch`'s promise: it resolves with a `Response` or rejects. The
 *   types refuse a policy whose fallback answers with anything else
 *   (`Policy.builder<Response>('api').fallback({ value: null })` does not compile). A policy
 *   typed only at run time that does (a registry policy configured with
 *   `fallback: { value: null }`) makes it reject with a `TypeError` naming that value; give such
 *   a policy a fallback that returns a `Response`.
 *
 * @throws OptionTypeError (from `bulwark`) for a `policy` without `execute`, an option of the
 *   wrong type or an unknown option
 * @throws OptionRangeError (from `bulwark`) for a status outside [100, 599]
 * @example
 * ```ts
 * const policy = Policy.builder<Response>('api')
 *   .retry({ maxAttempts: 3, delay: '200ms', backoff: 2, retryOn: isRetryable })
 *   .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
 *   .timeout('2s')
 *   .build();
 * const http = resilientFetch(policy);
 * const res = await http('https://api.example.com/users/1');
 * ```
 */
export function resilientFetch(
  policy: FetchPolicy,
  options?: ResilientFetchOptions,
): ResilientFetchFunction {
  if (
    policy === null ||
    typeof policy !== 'object' ||
    typeof (policy as { execute?: unknown }).execute !== 'function'
  ) {
    throw new OptionTypeError('policy', 'a Policy (an object with execute())', policy);
  }
  const raw = optionsObject(options, 'resilientFetch', FETCH_OPTIONS);
  const transport = functionOption(raw.fetch, 'fetch', undefined) as FetchFunction | undefined;
  const statuses = new Set(statusList(raw.retryStatuses));
  const methods = new Set(methodList(raw.retryMethods));
  const throwOnStatus = booleanOption(raw.throwOnStatus, 'throwOnStatus', false);
  const bodyMs = positiveDuration(raw.bodyTimeout, 'bodyTimeout', undefined);

  return function fetchThroughPolicy(input, init) {
    let facts;
    let data: Map<string, unknown>;
    try {
      facts = requestFacts(input, init);
      data = callData(requestUrl(input), facts.method, init?.data);
    } catch (error) {
      return Promise.reject(error);
    }
    const request = { url: data.get('url') as string, method: facts.method };
    const sendInit = withoutData(init);
    const resendable = facts.replayableBody && (methods.has(facts.method) || facts.idempotencyKey);
    // The global fetch is looked up per call, so a fetch installed later (or stubbed) is used.
    const send: FetchFunction = transport ?? ((i, o) => globalThis.fetch(i, o));
    let settled = false;
    // For a request that may not be sent again: its one attempt, whose outcome any further
    // attempt repeats (also while it is still in flight, e.g. after a per-attempt timeout).
    let first: Promise<Response> | undefined;
    // Responses not yet handed to the caller nor discarded: the last attempt's, or several when
    // attempts run at once (a hedge), any of which the policy may answer with; a success too, as a
    // retry's `retryOnResult` or a hedge's `on` may reject it.
    const held = new Set<Response>();
    const callers = callerSignals(input, init);
    const linked = link(callers);
    let statusOptions: HttpStatusErrorOptions | undefined;
    // The failure of a request that may not be sent again, marked; not the caller's abort reason.
    const failure = resendable
      ? undefined
      : (error: unknown): unknown =>
          isCallerReason(callers, error) ? error : unrepeatableError(error);

    const sendOnce = async (ctx: ExecutionContext): Promise<Response> => {
      // A new attempt: the responses before it will not answer the call. They are let go in
      // the background, and this attempt waits on none of them: a failure status's body has
      // been read ahead since it arrived (see `readAhead`), during the retry's wait, so its
      // connection is back in the transport's pool by now unless the body is slower than the
      // wait; the time of that read is no attempt's.
      if (held.size > 0) discardAll(held, undefined);
      const follower = requestFollower(ctx.signal, callers, linked.signal, bodyMs !== undefined);
      // A per-attempt timeout fails the attempt as it aborts it, before the request settles: the
      // reason of a request that may not be sent again is marked then, so that the retry stage,
      // which sees it first, stops as well.
      const markReason = failure && (() => failure(ctx.signal.reason));
      if (markReason !== undefined) listenAbort(ctx.signal, markReason);
      let response: Response;
      try {
        response = await send(attemptInput(input, init), {
          ...sendInit,
          signal: follower === undefined ? ctx.signal : follower.controller.signal,
        });
      } catch (error) {
        follower?.release();
        if (failure !== undefined) throw failure(error);
        // A redirect loop or a refused redirect: the same request meets the same redirect.
        throw isRedirectFailure(error) && !isCallerReason(callers, error)
          ? unrepeatableError(error)
          : error;
      } finally {
        if (markReason !== undefined) unlistenAbort(ctx.signal, markReason);
      }
      if (!isResponse(response)) {
        follower?.release();
        throw new TypeError(
          `resilientFetch: \`fetch\` answered with ${show(response)}, not a Response`,
        );
      }
      if (follower !== undefined) tie(response, follower);
      if (settled || ctx.signal.aborted) {
        // Nobody will read it: the attempt or the call ended while it was on its way.
        void discard(response);
        const reason: unknown = ctx.signal.aborted
          ? ctx.signal.reason
          : new Error('The call ended before its response arrived');
        throw failure === undefined ? reason : failure(reason);
      }
      held.add(response);
      if (!statuses.has(response.status)) return response;
      // A response that a retry may discard: its body is read ahead now, outside any attempt.
      if (resendable) readAhead(response);
      // The same options for every failing attempt: the URL the errors show is parsed once.
      throw new HttpStatusError(
        response,
        (statusOptions ??= { retryable: resendable, method: request.method, url: request.url }),
      );
    };

    const attempt = (ctx: ExecutionContext): Promise<Response> => {
      if (first !== undefined) return first;
      const outcome = sendOnce(ctx);
      if (!resendable) first = outcome;
      return outcome;
    };

    const execute = linked.signal === undefined ? { data } : { signal: linked.signal, data };
    return policy.execute(attempt, execute).then(
      (value) => {
        settled = true;
        linked.unlink();
        discardAll(held, value);
        if (!isResponse(value)) throw notAResponse(value);
        return handOut(value, bodyMs, request);
      },
      (error: unknown) => {
        settled = true;
        linked.unlink();
        const answer =
          isHttpStatusError(error) && held.has(error.response) ? error.response : undefined;
        discardAll(held, answer);
        if (answer === undefined) throw error;
        handOut(answer, bodyMs, request);
        if (throwOnStatus) throw error;
        return answer;
      },
    );
  };
}

/** The keys of `ctx.data` that are the request's own. */
const REQUEST_KEYS: readonly string[] = ['url', 'method'];

/**
 * The call's `ctx.data`: the request's `url` and `method`, then the entries of `init.data`
 * (checked as `execute`'s `data`: an object or a Map). Throws the `OptionTypeError` that rejects
 * the call for data that is not an object, cannot be read, or sets `url` or `method`.
 */
function callData(url: string, method: string, extra: unknown): Map<string, unknown> {
  const data = new Map<string, unknown>([
    ['url', url],
    ['method', method],
  ]);
  if (extra === undefined) return data;
  // As `execute` checks its `data`, in this call's words.
  if (typeof extra !== 'object' || extra === null) {
    throw new OptionTypeError('init.data', 'an object or a Map', extra, {
      message: `resilientFetch: \`init.data\` must be an object or a Map, got ${show(extra)}`,
    });
  }
  let entries: Iterable<[string, unknown]>;
  try {
    entries = extra instanceof Map ? [...(extra as Map<string, unknown>)] : Object.entries(extra);
  } catch (error) {
    // A hostile object (a revoked Proxy, say) that throws wherever it is touched.
    throw new OptionTypeError('init.data', 'an object or a Map that can be read', extra, {
      message: `resilientFetch: \`init.data\` could not be read: ${describeError(error, show)}`,
      cause: error,
    });
  }
  for (const [key, value] of entries) {
    if (REQUEST_KEYS.includes(key)) {
      throw new OptionTypeError(`init.data.${key}`, 'left unset', value, {
        message:
          `resilientFetch: \`init.data\` must not set \`${key}\`: ` +
          "ctx.data holds the request's own url and method",
      });
    }
    data.set(key, value);
  }
  return data;
}

/** `init` as the transport gets it: without `data`, which is the policy's. */
function withoutData(init: ResilientFetchInit | undefined): RequestInit | undefined {
  if (init === undefined || !('data' in init)) return init;
  const { data: _data, ...rest } = init;
  return rest;
}

/**
 * The response handed to the caller: its request follows the caller's signals only until its
 * body is done, and with a `bodyTimeout` (`bodyMs`), its body's bound starts now. Out here, so
 * that a call with neither makes nothing for them.
 */
function handOut(
  response: Response,
  bodyMs: number | undefined,
  request: { readonly method: string; readonly url: string },
): Response {
  // The caller reads it now: its read-ahead stops, and what it has read stays in the body.
  ahead.get(response)?.stop();
  const follower = ties.get(response);
  if (follower !== undefined) {
    watchBody(
      response,
      follower,
      bodyMs === undefined ? undefined : { ms: bodyMs, timeout: bodyTimeoutError(bodyMs, request) },
    );
  }
  return response;
}

/**
 * Makes the error of a body read `bodyTimeout` failed, when it fails. Made out here, so that the
 * timer holds nothing of the call (its responses) through it.
 */
function bodyTimeoutError(
  ms: number,
  request: { readonly method: string; readonly url: string },
): () => OperationTimeoutError {
  const { method, url } = request;
  return () =>
    new OperationTimeoutError(ms, `reading the body of ${method} ${redactUrl(url) ?? url}`);
}

// The read-ahead of each response a retry may discard (see `readAhead`): how to stop it, and its
// end.
const ahead = new WeakMap<object, { readonly stop: () => void; readonly done: Promise<void> }>();

/**
 * Starts reading ahead the body of a response that carries a failure status of a request that
 * may be sent again, as soon as it arrives: a retry would discard it, and its keep-alive
 * connection serves the next attempt only once its body has been read to its end (see
 * `drain.ts`). Not awaited by any attempt: the attempt fails at once with the status, and the
 * read runs during the retry's wait, so neither attempt counts its time (a per-attempt timeout,
 * a slow-call breaker, an adaptive limit's sample). The copy made by `clone()` is what is read
 * (at most 128 KiB, within 100 ms, on a timer that holds no process): what it takes in stays in
 * the response's own body, which the caller reads whole if the response is handed out after
 * all (the read then stops); a discard cancels the response's body, and the transport's stream
 * is cancelled, closing its connection, once the read-ahead has ended without reaching the end.
 * Nothing for a response that cannot be cloned (a used or locked body, an object that only
 * serves as a Response, or whose copy shares its body) or whose body is no web stream (a Node
 * stream's copy holds back the original): it is drained when discarded.
 */
function readAhead(response: Response): void {
  let copy: Response;
  try {
    // A body that is no web stream is not read ahead: node-fetch's is a Node stream, whose
    // clone() pipes it into two, so a copy read too slowly (a drain reads none of it) would hold
    // back the body the caller may be handed, once the copy's buffer is full.
    if (typeof (response.body as Partial<ReadableStream> | null)?.getReader !== 'function') return;
    copy = response.clone();
    // A copy that shares the body (a polyfill's clone() answering with itself) is no copy.
    if (copy === response || copy.body === response.body) return;
  } catch {
    return;
  }
  const stopper = new AbortController();
  ahead.set(response, { stop: () => stopper.abort(), done: drain(copy, stopper.signal) });
}

/**
 * Lets a response go: its body is cancelled once its read-ahead ends, or, when it had none,
 * drained when small, so that its connection is reused, or cancelled, which closes it (see
 * `drain.ts`). It follows the caller's signals until then, so the caller's abort still stops it.
 * Resolves once that is done; never rejects.
 */
function discard(response: Response): Promise<void> {
  const follower = ties.get(response);
  const read = ahead.get(response);
  if (read !== undefined) cancelBody(response);
  return (read?.done ?? drain(response)).then(() => follower?.release());
}

/** Discards every response in `responses` but `keep`, and forgets them all. */
function discardAll(responses: Set<Response>, keep: unknown): void {
  for (const response of responses) if (response !== keep) void discard(response);
  responses.clear();
}

/**
 * The follower a request is sent with, or undefined when there is no caller's signal and no
 * `bodyTimeout`: then the request is sent with the attempt's signal (the policy's, which makes it
 * short-lived or never aborting), as `fetch` would be. With a caller's signal, a request always
 * gets a signal of its own, even when the attempt's signal is the caller's (no deadline nor hedge
 * in the policy): the transport listens on the signal it is given for as long as it keeps the
 * request (undici, Node's `fetch`, until the request is collected), so the caller's own signal,
 * often shared by every call (a server's shutdown signal), would collect a listener per request.
 * The follower listens on it through the one listener all requests share. It follows the
 * attempt's signal as well as the caller's: the attempt's stops following the caller once the
 * attempt settles (a per-attempt timeout's, a hedged attempt's, or one linking two caller's
 * signals), yet the caller's abort must still stop the body the caller reads. With `own` (a
 * `bodyTimeout`), a request always has a signal of its own, which its body's bound aborts.
 */
function requestFollower(
  attempt: AbortSignal,
  callers: readonly AbortSignal[],
  execution: AbortSignal | undefined,
  own: boolean,
): Follower | undefined {
  if (callers.length === 0) return own ? follow([attempt]) : undefined;
  // The execution's own signal (the caller's, or one linking the caller's two): following the
  // caller's signals is enough.
  return follow(attempt === execution ? callers : [attempt, ...callers]);
}

// A response's follower, kept while the response or its body can be reached: the caller's abort
// still reaches the request while its body is read. Its entry goes when the response is discarded.
const ties = new WeakMap<object, Follower>();

function tie(response: Response, follower: Follower): void {
  ties.set(response, follower);
  const body: unknown = response.body;
  if (typeof body === 'object' && body !== null) ties.set(body, follower);
}

/**
 * True when `error` is the reason a caller's signal aborted with: the caller's own object, which
 * may serve every call it cancels (a shutdown reason), so it is never marked nor remembered. A
 * retry never retries the caller's abort, and a further attempt still repeats the first outcome.
 */
function isCallerReason(callers: readonly AbortSignal[], error: unknown): boolean {
  return callers.some((signal) => signal.aborted && signal.reason === error);
}

/**
 * Marks the error of a request that may not be sent again with an own, non-enumerable
 * `retryable: false`: a retry stage then never retries it (nor consults its `retryOn`), so the
 * breaker records one failure and the `attempt` and `retries` counts match the one request sent,
 * as for an `HttpStatusError` of such a request. Only errors of this attempt are given here: the
 * transport's (a network error), a per-attempt timeout's or a hedge's reason, the policy's own; never
 * the caller's abort reason (see `isCallerReason`). An error that cannot take the mark (frozen,
 * sealed, a Proxy that refuses it) is remembered in a WeakSet for `isRetryable`, and a further
 * attempt still repeats the first outcome without the network.
 */
function unrepeatableError(error: unknown): unknown {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return error;
  let marked = false;
  try {
    marked =
      notRetryable(error) ||
      (Object.isExtensible(error) &&
        Reflect.defineProperty(error, 'retryable', {
          value: false,
          writable: true,
          enumerable: false,
          configurable: true,
        }));
  } catch {
    // A Proxy whose traps throw: remembered below.
  }
  if (!marked) unrepeatable.add(error);
  return error;
}

/** One signal that aborts when any of `signals` does, and a way to stop listening. */
function link(signals: readonly AbortSignal[]): {
  readonly signal: AbortSignal | undefined;
  unlink(): void;
} {
  if (signals.length <= 1) return { signal: signals[0], unlink: noop };
  const aborted = signals.find((s) => s.aborted);
  if (aborted !== undefined) return { signal: aborted, unlink: noop };
  const controller = new AbortController();
  return { signal: controller.signal, unlink: linkAbort(controller, signals) };
}

const STATUS = 'an integer in [100, 599]';

// A bad element is named by its path (`retryStatuses[0]`), with the element as `received`.
function statusList(value: unknown): readonly number[] {
  if (value === undefined) return FETCH_DEFAULTS.retryStatuses;
  if (!Array.isArray(value)) {
    throw new OptionTypeError('retryStatuses', `an array of integers in [100, 599]`, value);
  }
  value.forEach((status: unknown, i) => {
    if (typeof status !== 'number')
      throw new OptionTypeError(`retryStatuses[${i}]`, STATUS, status);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new OptionRangeError(`retryStatuses[${i}]`, STATUS, status);
    }
  });
  return value as number[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

function methodList(value: unknown): readonly string[] {
  if (value === undefined) return FETCH_DEFAULTS.retryMethods;
  if (!Array.isArray(value)) {
    throw new OptionTypeError('retryMethods', 'an array of method names', value);
  }
  return value.map((method: unknown, i) => {
    if (typeof method !== 'string' || !TOKEN.test(method)) {
      throw new OptionTypeError(`retryMethods[${i}]`, 'a method name', method);
    }
    return method.toUpperCase();
  });
}
