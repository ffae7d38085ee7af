// A health endpoint: GET /health answers with registry.health(), a plain JSON snapshot of every
// policy's counters and every shared primitive's live state (circuit states, free bulkhead
// slots, tokens left). No OpenTelemetry needed; for metrics see bulwark/otel.
//
//   node <built example>/health-server/main.js            serve until Ctrl+C (PORT=8080 to pick one)
//   node <built example>/health-server/main.js --once     send demo traffic, fetch /health once,
//                                                         print the JSON and exit
//
// Demo traffic: `pricing` is rate-limited (a burst beyond its budget gets the fallback value),
// `stock` calls an inventory service that is down (its breaker opens), and `reports` holds
// every slot of the shared `legacy-db` bulkhead (one caller waits in its queue).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Policy, PolicyRegistry } from 'bulwark';

const registry = PolicyRegistry.fromConfig({
  'rate-limiter': { 'payment-api': { 'max-tokens': 5, 'refill-rate': 2 } },
  bulkhead: { 'legacy-db': { 'max-concurrent': 2, 'max-queue': 1 } },
  'circuit-breaker': { inventory: { 'failure-threshold': 3, 'recovery-timeout': '10s' } },
  policies: {
    pricing: [
      { fallback: { value: null } },
      { 'rate-limiter': 'payment-api' },
      { 'time-limiter': '1s' },
    ],
    stock: [{ 'circuit-breaker': 'inventory' }, { 'time-limiter': '1s' }],
  },
});
// A policy built in code shares the configured bulkhead, and is registered to show up in health().
registry.register(
  Policy.builder('reports').bulkhead(registry.bulkhead('legacy-db'), 'legacy-db').build(),
);

function serve(): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(registry.health()));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => resolve(server));
  });
}

/** One round of traffic. Resolves to a function that lets the held `reports` calls finish. */
async function traffic(): Promise<() => Promise<void>> {
  const pricing = registry.policy<number, null>('pricing');
  for (let i = 0; i < 8; i++) void pricing.execute(() => 42);
  const stock = registry.policy<number>('stock');
  // One after another, so that the breaker has opened when the fourth call comes.
  for (let i = 0; i < 4; i++) {
    await stock.execute(() => Promise.reject(new Error('inventory service down'))).catch(() => {});
  }
  const reports = registry.policy<string>('reports');
  const releases: Array<() => void> = [];
  const held = [1, 2, 3, 4].map((n) =>
    reports
      .execute(() => new Promise<string>((resolve) => releases.push(() => resolve(`report ${n}`))))
      .catch((error: unknown) => String(error)),
  );
  return async () => {
    // The queued caller gets its slot only when a running one finishes: release until all are in.
    while (releases.length > 0) {
      for (const release of releases.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(held);
  };
}

const server = await serve();
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
console.log(`Health endpoint: ${url}`);

if (process.argv.includes('--once')) {
  const finish = await traffic();
  const response = await fetch(url);
  console.log(JSON.stringify(await response.json(), null, 2));
  await finish();
  server.closeAllConnections();
  server.close();
} else {
  // Traffic every two seconds, until Ctrl+C.
  let round = traffic();
  const timer = setInterval(() => {
    round = round.then(async (finish) => {
      await finish();
      return traffic();
    });
  }, 2000);
  const stop = (): void => {
    clearInterval(timer);
    server.closeAllConnections();
    server.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
