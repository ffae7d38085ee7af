// Redirect failures a transport reports: a redirect loop (more redirects than the transport
// follows) and a redirect met with `redirect: 'error'`. The same request meets the same redirect
// again, so sending it again cannot succeed. The fetch standard makes both a plain network error
// (a `TypeError`, as for a reset connection): what tells them apart is each runtime's wording.
//
// Recognised, on the error or on an error in its `cause` chain:
// - Node's fetch (undici, Node 18 to 24) and the `undici` package: `TypeError: fetch failed` with
//   a cause whose message is `redirect count exceeded` or `unexpected redirect`;
// - Deno: a `TypeError` whose message is `Fetch failed: Maximum number of redirects (20)
//   reached` or `Fetch failed: Encountered redirect while redirect mode is set to 'error'`;
// - Bun: an error whose `code` is `'TooManyRedirects'` or `'UnexpectedRedirect'`;
// - node-fetch: a `FetchError` whose `type` is `'max-redirect'` or `'no-redirect'`.
// A browser's `TypeError` (`Failed to fetch`, `NetworkError when attempting to fetch resource.`,
// `Load failed`) says nothing of the redirect, and is not recognised.
//
// Only own data properties are read (no getter runs), and a Proxy that throws is not recognised.

const MESSAGES =
  /^(?:fetch failed: )?(?:redirect count exceeded|unexpected redirect|maximum number of redirects \(\d+\) reached|encountered redirect while redirect mode is set to 'error')$/i;
const CODES = new Set<unknown>(['TooManyRedirects', 'UnexpectedRedirect']);
const TYPES = new Set<unknown>(['max-redirect', 'no-redirect']);

// How deep the `cause` chain is followed: undici's cause is one down; a wrapping transport may
// add a level or two. A cycle ends here too.
const DEPTH = 4;

/** An own data property's value, or undefined (none, an accessor, or a Proxy that throws). */
function own(value: object, key: string): unknown {
  try {
    return Object.getOwnPropertyDescriptor(value, key)?.value;
  } catch {
    return undefined;
  }
}

/**
 * True for a transport's error that says a redirect failed in a way sending the request again
 * cannot change: a redirect loop, or a redirect met with `redirect: 'error'` (see above for the
 * runtimes recognised).
 */
export function isRedirectFailure(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < DEPTH; depth++) {
    if ((typeof current !== 'object' && typeof current !== 'function') || current === null) {
      return false;
    }
    const message = own(current, 'message');
    if (typeof message === 'string' && MESSAGES.test(message)) return true;
    if (CODES.has(own(current, 'code')) || TYPES.has(own(current, 'type'))) return true;
    current = own(current, 'cause');
  }
  return false;
}
