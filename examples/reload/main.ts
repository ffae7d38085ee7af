// A service whose resilience settings live in a YAML file and change without a restart: on
// SIGHUP it reads the file again and hands it to `registry.reload`. The whole file is checked
// before anything changes (a mistake is refused, the running settings stay); the policy objects
// the service took once keep working and take the new settings for calls that start after the
// reload; an open circuit stays open and a drained bucket stays drained.
//
//   node <built example>/reload/main.js [file.yaml]   serve GET /quote?id=... and GET /health on
//                                                     127.0.0.1:$PORT; reload on SIGHUP; Ctrl+C stops
//   node <built example>/reload/main.js --once        a scripted run on a copy of resilience.yaml:
//                                                     traffic, an edit and SIGHUP, a broken edit and
//                                                     SIGHUP, then exit
//
// (SIGHUP is a POSIX signal: on Windows, call `reload()` from wherever the change is noticed.)
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCircuitOpenError, PolicyRegistry } from 'bulwark';
import { parse } from 'yaml';

const once = process.argv.includes('--once');
const bundled = fileURLToPath(new URL('./resilience.yaml', import.meta.url));
// The scripted run edits a copy; a service reads the file it is given, or the one beside it.
const scratch = once ? mkdtempSync(join(tmpdir(), 'bulwark-reload-')) : undefined;
const file =
  scratch !== undefined ? join(scratch, 'resilience.yaml') : (process.argv[2] ?? bundled);
if (scratch !== undefined) copyFileSync(bundled, file);

function read(): unknown {
  return (parse(readFileSync(file, 'utf8')) as { resilience?: unknown } | null)?.resilience;
}

const registry = PolicyRegistry.fromConfig(read() as Record<string, unknown>);
registry.on('reload', ({ added, removed, changed }) => {
  const list = (names: readonly string[]): string => names.join(', ') || '-';
  console.log(
    `reloaded ${file}: added ${list(added)}; removed ${list(removed)}; changed ${list(changed)}`,
  );
});

/** Reads the file again; a file that does not parse or validate changes nothing. */
function reload(): void {
  try {
    registry.reload(read() as Record<string, unknown>);
  } catch (error) {
    console.log(`reload refused, the running settings stay: ${(error as Error).message}`);
  }
}

// Taken once: these objects follow every reload.
const quotes = registry.policy<number, null>('quotes');
const stock = registry.policy<number>('stock');

// The downstream services: the quote API answers, the inventory service is down.
const quoteApi = (id: string): Promise<number> => Promise.resolve(100 + id.length);
const inventory = (): Promise<number> => Promise.reject(new Error('inventory service down'));

async function quoteBurst(n: number): Promise<string> {
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) => quotes.execute(() => quoteApi(`sku-${i}`))),
  );
  const served = answers.filter((a) => a !== null).length;
  return `${served} of ${n} quotes served, ${n - served} got the fallback (null)`;
}

async function stockCheck(): Promise<string> {
  try {
    return `stock: ${await stock.execute(inventory)}`;
  } catch (error) {
    return isCircuitOpenError(error)
      ? `stock: refused, circuit ${error.state} for ${Math.ceil(error.retryAfterMs / 1000)} s more`
      : `stock: failed (${(error as Error).message})`;
  }
}

function settings(): string {
  const limiter = registry.rateLimiter('quote-api');
  return (
    `quote-api bucket ${Math.floor(limiter.availableTokens)}/${limiter.maxTokens} tokens, ` +
    `refill ${limiter.refillRate}/s; inventory circuit ${registry.circuitBreaker('inventory').state}`
  );
}

/**
 * Sends this process SIGHUP and waits until its handler has run; answers the settings as they
 * stood right after the reload (read in the same turn: a bucket refilling at 50/s would show
 * tokens of its own a few ms later).
 */
function hangUp(): Promise<string> {
  return new Promise((resolve) => {
    // A signal listener does not keep the process alive while the signal is on its way.
    const alive = setTimeout(() => {}, 10_000);
    process.once('SIGHUP', () => {
      const after = settings();
      setImmediate(() => {
        clearTimeout(alive);
        resolve(after);
      });
    });
    process.kill(process.pid, 'SIGHUP');
  });
}

function edit(from: RegExp, to: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
}

function serve(): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const reply = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') reply(405, { error: 'GET only' });
    else if (url.pathname === '/health') reply(200, registry.health());
    else if (url.pathname === '/quote') {
      const id = url.searchParams.get('id') ?? 'sku-0';
      quotes
        .execute(() => quoteApi(id))
        .then(
          (price) => reply(price === null ? 503 : 200, { id, price }),
          (error: unknown) => reply(500, { id, error: String(error) }),
        );
    } else reply(404, { error: 'not found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => resolve(server));
  });
}

process.on('SIGHUP', reload);

if (once) {
  try {
    console.log(`Loaded ${file}; policies: ${registry.names().join(', ')}`);
    console.log(`quotes:\n${quotes.describe().replace(/^/gm, '  ')}`);
    console.log(await quoteBurst(8));
    for (let i = 0; i < 3; i++) await stockCheck();
    console.log(await stockCheck());
    console.log(settings());

    console.log('\nEdit: a bigger, faster bucket, a more patient breaker; then SIGHUP');
    edit(/max-tokens: 5/, 'max-tokens: 10');
    edit(/refill-rate: 1\b/, 'refill-rate: 50');
    edit(/failure-threshold: 3/, 'failure-threshold: 5');
    // The drained bucket and the open circuit were carried over into the new primitives.
    console.log(await hangUp());
    console.log(await stockCheck());
    await new Promise((resolve) => setTimeout(resolve, 200));
    console.log(`200 ms later: ${await quoteBurst(8)}`);

    console.log('\nEdit: a mistake (max-tokens: 0); then SIGHUP');
    edit(/max-tokens: 10/, 'max-tokens: 0');
    console.log(await hangUp());
  } finally {
    process.off('SIGHUP', reload);
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
} else {
  const server = await serve();
  const { port } = server.address() as AddressInfo;
  console.log(
    `Serving http://127.0.0.1:${port}/quote?id=... and /health; settings from ${file}; ` +
      `reload with: kill -HUP ${process.pid}`,
  );
  const stop = (): void => {
    process.off('SIGHUP', reload);
    server.closeAllConnections();
    server.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
