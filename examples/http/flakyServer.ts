// A small HTTP API on 127.0.0.1 that fails in the ways real ones do, each route scripted so that
// every run sees the same story:
//
//   GET  /users/1          503 with `Retry-After: 1` the first time, then 200
//   GET  /users/2          never answers the first time (until the client gives up), then 200
//   POST /orders           503 the first time for each `Idempotency-Key` (or none), then 201
//   GET  /inventory/<sku>  always 503: an outage
//   GET  /health           200
//
// It records every request it sees, when, and whether the client hung up before an answer.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server saw. */
export interface Seen {
  readonly method: string;
  readonly path: string;
  /** Milliseconds since the server started. */
  readonly at: number;
  /** The status it answered, or 0 while it has not. */
  status: number;
  /** True when the client closed the connection before an answer (a timeout or an abort). */
  abandoned: boolean;
}

/** A running flaky API. */
export interface FlakyApi {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Every request seen, in order (`/health` excluded). */
  readonly seen: readonly Seen[];
  /** Stops the server, dropping pending requests and idle connections. */
  close(): Promise<void>;
}

/** Starts the API on 127.0.0.1 on a free port. */
export async function startFlakyApi(): Promise<FlakyApi> {
  const started = performance.now();
  const seen: Seen[] = [];
  const count = new Map<string, number>();
  /** How many times this route (and key) was asked before, this one excluded. */
  const before = (key: string): number => {
    const n = count.get(key) ?? 0;
    count.set(key, n + 1);
    return n;
  };

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"up"}');
      return;
    }
    const entry: Seen = {
      method,
      path,
      at: performance.now() - started,
      status: 0,
      abandoned: false,
    };
    seen.push(entry);
    res.on('close', () => {
      if (!res.writableEnded) entry.abandoned = true;
    });
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res
        .writeHead(status, { 'content-type': 'application/json', ...headers })
        .end(JSON.stringify(body));
    };
    // Read (and drop) any request body before answering, so the connection stays reusable.
    req.resume();

    if (method === 'GET' && path === '/users/1') {
      if (before(path) === 0) reply(503, { error: 'warming up' }, { 'retry-after': '1' });
      else reply(200, { id: 1, name: 'Ada' });
      return;
    }
    if (method === 'GET' && path === '/users/2') {
      // The first request hangs: only the client's per-attempt timeout ends it.
      if (before(path) > 0) reply(200, { id: 2, name: 'Grace' });
      return;
    }
    if (method === 'POST' && path === '/orders') {
      const key = req.headers['idempotency-key'];
      if (before(`${path} ${String(key)}`) === 0) reply(503, { error: 'order service busy' });
      else reply(201, { order: key });
      return;
    }
    if (method === 'GET' && path.startsWith('/inventory/')) {
      reply(503, { error: 'inventory database down' });
      return;
    }
    reply(404, { error: 'not found' });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
