// HTTP with `bulwark/fetch`: `resilientFetch` runs each request through a policy, one request per
// attempt, and turns failure statuses (503, 429, ...) into errors the policy sees. The recipe,
// outermost stage first:
//
//   fallback         a stale answer for reads when everything inside failed
//   retry            idempotent requests only (isRetryable), never while the breaker is open;
//                    each wait is at least the server's Retry-After (`retryAfterMs` of the
//                    HttpStatusError), capped by `maxRetryAfter`, which defaults to `maxDelay`
//   circuit breaker  stops sending requests to an API that keeps failing
//   timeout          per attempt: each request gets its own deadline (ctx.signal)
//
// Against a local flaky API (./flakyServer.ts), it prints what each call got and how many
// requests the server saw, then a summary, and exits.
import { Policy, isCircuitOpenError, type ExecutionContext } from 'bulwark';
import { isRetryable, resilientFetch } from 'bulwark/fetch';
import { startFlakyApi } from './flakyServer.js';

/** Last known answers, by URL path: what the fallback serves when the API is down. */
const stale = new Map<string, unknown>([['/inventory/sku-1', { sku: 'sku-1', stock: 12 }]]);

/** A stale answer for a read, if there is one; otherwise the failure reaches the caller. */
function staleAnswer(error: unknown, ctx: ExecutionContext): Response {
  const path = new URL(ctx.data.get('url') as string).pathname;
  const body = ctx.data.get('method') === 'GET' ? stale.get(path) : undefined;
  if (body === undefined) throw error;
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return Response.json(body, { headers: { 'x-fallback': reason } });
}

const api = Policy.builder<Response>('flaky-api')
  .fallback({ method: staleAnswer })
  .retry({
    maxAttempts: 3,
    delay: '200ms',
    backoff: 2,
    maxDelay: '2s', // also the cap on a server's Retry-After

    retryOn: (e) => isRetryable(e) && !isCircuitOpenError(e),
  })
  // One breaker for the whole API here; with keyed primitives, `key: (ctx) => host of
  // ctx.data.get('url')` gives each host its own.
  .circuitBreaker({ failureThreshold: 3, recoveryTimeout: '30s' })
  .timeout('500ms') // per attempt
  .build();

const http = resilientFetch(api);
const server = await startFlakyApi();

/** Makes one call and prints what it got and how many requests the server saw for it. */
async function call(label: string, path: string, init?: RequestInit): Promise<void> {
  const from = server.seen.length;
  const res = await http(server.url + path, init);
  const body = await res.text();
  const requests = server.seen.length - from;
  const fallback = res.headers.get('x-fallback');
  const how = fallback === null ? '' : ` from the fallback (${fallback})`;
  console.log(`  ${label.padEnd(37)} ${res.status} ${body}${how}; ${requests} request(s)`);
}

try {
  // A first request loads fetch (a moment, the first time) before any timeout matters.
  await fetch(`${server.url}/health`).then((res) => res.text());
  console.log(`Flaky API at ${server.url}`);
  console.log(`\nPolicy "${api.name}", outermost stage first:`);
  console.log(api.describe().replace(/^/gm, '  '));

  console.log('\nCalls:');
  await call('GET /users/1 (503, Retry-After: 1)', '/users/1');
  const [first, retried] = server.seen.filter((s) => s.path === '/users/1');
  if (first !== undefined && retried !== undefined) {
    console.log(
      `    the retry came ${((retried.at - first.at) / 1000).toFixed(1)} s after the 503`,
    );
  }
  await call('GET /users/2 (first request hangs)', '/users/2');
  const hung = server.seen.find((s) => s.path === '/users/2' && s.abandoned);
  console.log(
    `    the client ${hung === undefined ? 'kept' : 'closed'} the hanging request at its timeout`,
  );
  await call('POST /orders', '/orders', { method: 'POST', body: '{"sku":"sku-1"}' });
  await call('POST /orders with an Idempotency-Key', '/orders', {
    method: 'POST',
    body: '{"sku":"sku-1"}',
    headers: { 'idempotency-key': 'order-42' },
  });
  for (let i = 1; i <= 3; i++) {
    await call(`GET /inventory/sku-1 (outage, #${i})`, '/inventory/sku-1');
  }

  const m = api.metrics();
  console.log(
    `\nPolicy "${api.name}": ${m.calls} calls, ${m.successes} successes, ${m.failures} failures; ` +
      `retries ${m.retries}, timeouts ${m.timeouts}, circuit-open ${m.rejections.circuitOpen}, ` +
      `fallbacks ${m.fallbacks}`,
  );
  const inventory = server.seen.filter((s) => s.path.startsWith('/inventory/')).length;
  console.log(
    `Server saw ${server.seen.length} requests, ${inventory} of them during the outage ` +
      'before the breaker opened',
  );
} finally {
  await server.close();
}
