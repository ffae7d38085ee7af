// The worker of the workerd run of the runtime matrix (see workerd.mjs): bulwark as an
// application on Cloudflare Workers uses it, one instance of each primitive shared by every
// request. There a timer belongs to the request that set it, and a request that waits with no
// timer or I/O of its own is cancelled as hung: each request's waits must be its own. Each route
// answers the call's outcome as text: its value, or the name of the error it failed with.
import { Bulkhead, Hedge, Policy, PolicyRegistry } from 'bulwark';
import { resilientFetch } from 'bulwark/fetch';

const timeout = Policy.builder('timeout').timeout(200).build();
const hedge = new Hedge({ maxHedges: 1, delay: 100 });
const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 10, maxWait: 5000 });
const plain = Policy.builder('plain').build();

/** Never settles, and sets no timer: only bulwark's can end a wait on it. */
const never = () => new Promise(() => {});
const after = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

const routes = {
  '/host': () => `${navigator.userAgent}, WeakRef ${typeof WeakRef}`,
  // A call that takes `ms`, or with none, one that never ends.
  '/timeout': (ms) => timeout.execute(() => (ms > 0 ? after(ms, 'done') : never())),
  // A call whose first attempt takes `ms`, or with none, never ends while its hedge answers.
  '/hedge': (ms) =>
    hedge.execute((_signal, attempt) =>
      ms > 0 ? after(ms, 'first') : attempt === 1 ? never() : 'hedge',
    ),
  '/bulkhead': (ms) => bulkhead.execute(() => after(ms, 'served')),
  // A registry made, and a policy removed by a reload and configured again by the next one.
  '/registry': async () => {
    const config = { policies: { api: [{ 'time-limiter': '1s' }] } };
    const registry = PolicyRegistry.fromConfig(config);
    registry.reload({ policies: {} });
    registry.reload(config);
    return registry.policy('api').execute(() => 'configured');
  },
  // Reads, with a `bodyTimeout` of `ms`, a body of this worker's that stalls (`/stalled`).
  '/body': async (ms, env) => {
    const http = resilientFetch(plain, {
      fetch: (input, init) => env.SELF.fetch(input, init),
      bodyTimeout: ms,
    });
    return (await http('http://worker/stalled')).text();
  },
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/stalled') {
      const { readable, writable } = new TransformStream();
      const writer = writable.getWriter();
      void writer.write(new TextEncoder().encode('part of it'));
      // Ends after a while, long after the reader's bound.
      setTimeout(() => writer.close().catch(() => {}), 3000);
      return new Response(readable);
    }
    const route = routes[url.pathname];
    if (route === undefined) return new Response('no such route', { status: 404 });
    try {
      return new Response(String(await route(Number(url.searchParams.get('ms') ?? 0), env)));
    } catch (error) {
      return new Response(error instanceof Error ? error.name : String(error));
    }
  },
};
