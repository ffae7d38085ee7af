import { wallNow } from '../index.js';

// A brand in the global symbol registry lets the guard recognise errors made by another copy of
// the package (two versions in one node_modules tree), where `instanceof` would say no.
const BRAND: unique symbol = Symbol.for('bulwark.HttpStatusError') as never;

/**
 * The longest wait a `Retry-After` header can ask for: one hour. A larger value (or a date
 * further ahead) reads as one hour, so a misbehaving server cannot park a retry for days.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Options of the {@link HttpStatusError} constructor. */
export interface HttpStatusErrorOptions {
  /** False when the request cannot be sent again. @defaultValue true */
  readonly retryable?: boolean | undefined;
  /** The request's method, shown in the message. */
  readonly method?: string | undefined;
  /**
   * The request's URL, shown in the message without its query string, fragment or credentials.
   * @defaultValue the response's `url`, when it has one
   */
  readonly url?: string | undefined;
  readonly cause?: unknown;
}

/** What `JSON.stringify` (and a logger) writes of an {@link HttpStatusError}. */
export interface HttpStatusErrorJSON {
  readonly name: 'HttpStatusError';
  readonly code: 'HTTP_STATUS';
  readonly message: string;
  readonly status: number;
  readonly statusText: string;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;
}

/**
 * A response whose status `resilientFetch` treats as a failure (one of its `retryStatuses`),
 * thrown inside the policy so that retry, circuit breaker and fallback see it.
 *
 * Its message names the status, the method and the URL, as in
 * `HTTP status 503 Service Unavailable (DELETE https://api.example.com/users/42)`. The URL (in the
 * message, in `url` and in `toJSON()`) is shown without its query string, fragment or credentials,
 * which may hold secrets (tokens, signatures, passwords); the full URL stays on the request.
 *
 * `resilientFetch` returns the last such response as `fetch` would once the policy gives up, or
 * rejects with this error when `throwOnStatus` is true. The body of `response` is then unread:
 * read it, or cancel it (`error.response.body?.cancel()`), so its connection is freed.
 */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError' as const;
  /** Stable, machine-readable code. */
  readonly code = 'HTTP_STATUS' as const;
  /**
   * The response that carried the status. Not enumerable: a logger that walks an error's keys
   * (pino's) would write it as `{}`.
   */
  declare readonly response: Response;
  /** The response's status. */
  readonly status: number;
  /** The request's method (upper-cased by `resilientFetch`), when known. */
  readonly method: string | undefined;
  /** The request's URL without query string, fragment or credentials, when known. */
  readonly url: string | undefined;
  /**
   * Milliseconds the server asked to wait (`Retry-After`, as delta-seconds or an HTTP-date),
   * at most {@link MAX_RETRY_AFTER_MS}; `undefined` when the header is absent or malformed.
   */
  readonly retryAfterMs: number | undefined;
  /**
   * False when the request cannot be sent again (a method that is not idempotent and has no
   * `Idempotency-Key`, or a one-shot stream body): `resilientFetch` never re-sends it.
   */
  readonly retryable: boolean;
  /** @internal */
  declare readonly [BRAND]: true;

  constructor(response: Response, options?: HttpStatusErrorOptions) {
    const text = response.statusText ? ` ${response.statusText}` : '';
    const method = options?.method || undefined;
    const url = shownUrl(
      options,
      options?.url || (typeof response.url === 'string' && response.url) || undefined,
    );
    const request = [method, url].filter((part) => part !== undefined).join(' ');
    super(
      `HTTP status ${response.status}${text}${request ? ` (${request})` : ''}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    Object.defineProperty(this, 'response', { value: response, configurable: true });
    this.status = response.status;
    this.method = method;
    this.url = url;
    this.retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    this.retryable = options?.retryable ?? true;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof HttpStatusError` also knows one made by another copy of the package (a second
   * version installed beside this one, or a browser bundle that gives `require` and `import` each
   * its own build), so a retry's `retryOn: [HttpStatusError]` matches it. A subclass keeps the
   * prototype chain.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // The class is known by owning this method, not by its name: a class that names itself in its
    // body is renamed by a bundle (`var HttpStatusError = class _HttpStatusError`), and a logger
    // would print its errors as `_HttpStatusError: ...`. A subclass inherits the method.
    return (
      (Object.hasOwn(this, Symbol.hasInstance) && isHttpStatusError(value)) ||
      super[Symbol.hasInstance](value)
    );
  }

  /**
   * The error as plain data, for `JSON.stringify` and loggers: its `response` would otherwise
   * print as `{}`. The URL is redacted as in the message.
   */
  toJSON(): HttpStatusErrorJSON {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      statusText: this.response.statusText,
      method: this.method,
      url: this.url,
      retryAfterMs: this.retryAfterMs,
      retryable: this.retryable,
    };
  }
}

// The URL shown for an options object, by the URL it was read from: options given again (as
// `resilientFetch` gives one request's to the error of each of its failing attempts) have their
// URL parsed once.
const shown = new WeakMap<object, readonly [string | undefined, string | undefined]>();

/** The URL an error made with `options` shows for `url`: {@link redactUrl}'s, read once. */
function shownUrl(options: object | undefined, url: string | undefined): string | undefined {
  if (options === undefined) return redactUrl(url);
  const known = shown.get(options);
  if (known !== undefined && known[0] === url) return known[1];
  const redacted = redactUrl(url);
  shown.set(options, [url, redacted]);
  return redacted;
}

/**
 * A URL without its query string, fragment and credentials (`user:password@`), which may hold
 * secrets. A URL that does not parse (a relative one) loses what follows `?` or `#` and any
 * `user:password@` after `//`.
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.href;
  } catch {
    return url.replace(/[?#].*$/s, '').replace(/^([a-z][a-z0-9+.-]*:)?\/\/[^/]*@/i, '$1//');
  }
}

/** True for an {@link HttpStatusError}, from this or another copy of the package. */
export function isHttpStatusError(e: unknown): e is HttpStatusError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { [BRAND]?: unknown })[BRAND] === true &&
    (e as { code?: unknown }).code === 'HTTP_STATUS'
  );
}

const DELTA_SECONDS = /^\s*(\d+)\s*$/;

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

// The three forms of an HTTP-date (RFC 9110, 5.6.7), all in GMT: the IMF-fixdate `Sun, 06 Nov
// 1994 08:49:37 GMT` and the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` (day, month,
// year, time), and asctime `Sun Nov  6 08:49:37 1994` (month, day, time, year), which has no
// `GMT`. Read here rather than by `Date.parse`, which takes much else: text that only looks
// like a date (`x 2099`, `May 2030`, read as a far date and a long wait), another zone, or no
// zone at all (read in the local one). Letters in any case. Literals, so that a bundle that
// does not use them drops them.
const IMF =
  /^(?:mon|tue|wed|thu|fri|sat|sun), (\d\d) (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (\d{4}) (\d\d):(\d\d):(\d\d) gmt$/i;
const RFC850 =
  /^(?:mon|tues|wednes|thurs|fri|satur|sun)day, (\d\d)-(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)-(\d\d) (\d\d):(\d\d):(\d\d) gmt$/i;
const ASCTIME =
  /^(?:mon|tue|wed|thu|fri|sat|sun) (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) ( \d|\d\d) (\d\d):(\d\d):(\d\d) (\d{4})$/i;

/**
 * An HTTP-date as ms since the epoch; `undefined` for any other text, and for a date that does
 * not exist (`31 Feb`, hour 24). An RFC 850 date's two-digit year is the latest year of those
 * digits whose date is at most 50 years after `now` (RFC 9110, 5.6.7: one that appears to be
 * more than 50 years in the future is the most recent past year with those digits).
 */
function httpDate(text: string, now: number): number | undefined {
  const fixed = IMF.exec(text) ?? RFC850.exec(text);
  const asc = fixed === null ? ASCTIME.exec(text) : null;
  // Day, month, year, hours, minutes, seconds.
  const parts = (fixed?.slice(1) ?? (asc && [asc[2], asc[1], asc[6], asc[3], asc[4], asc[5]])) as
    string[] | null;
  if (parts === null) return undefined;
  const [dd, name, yy, hh, mm, ss] = parts as [string, string, string, string, string, string];
  const [d, h, min, sec] = [+dd, +hh, +mm, +ss];
  const month = MONTHS.indexOf(name.charAt(0).toUpperCase() + name.slice(1).toLowerCase()) / 3;
  const time = ((h * 60 + min) * 60 + sec) * 1000;
  let year = +yy;
  if (yy.length === 2) {
    // The year of those digits nearest `now` from below `now` + 50 years: in `now`'s century, or
    // the next one's late in a century; then the one before when the date itself is more than
    // 50 years ahead (by the time of day too, not the year alone).
    const current = new Date(now).getUTCFullYear();
    year += current - (current % 100);
    if (year < current - 50) year += 100;
    const bound = new Date(now);
    bound.setUTCFullYear(current + 50);
    if (Date.UTC(year, month, d) + time > bound.getTime()) year -= 100;
  }
  const date = Date.UTC(year, month, d);
  if (new Date(date).getUTCDate() !== d || h > 23 || min > 59 || sec > 60) return undefined;
  return date + time;
}

/**
 * Reads a `Retry-After` value (RFC 9110, section 10.2.3) as milliseconds to wait: delta-seconds
 * (`'120'`) or an HTTP-date (`'Wed, 21 Oct 2026 07:28:00 GMT'`, also the obsolete RFC 850 and
 * asctime forms). A date in the past reads as 0. The result is at most
 * {@link MAX_RETRY_AFTER_MS}. Anything else (absent, empty, negative, fractional, garbage, text
 * that only looks like a date, a date in another zone or in none, a day that does not exist)
 * reads as `undefined`.
 *
 * @param now - the current wall-clock time in ms since the epoch, for HTTP-dates
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = wallNow(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const delta = DELTA_SECONDS.exec(value);
  if (delta !== null) return Math.min(Number(delta[1]) * 1000, MAX_RETRY_AFTER_MS);
  const at = httpDate(value.trim(), now);
  return at === undefined ? undefined : Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}
