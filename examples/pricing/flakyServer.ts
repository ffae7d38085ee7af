// A stand-in for the external pricing API of the PyFly resilience guide's complete example: a
// local HTTP server that answers `GET /prices/<productId>` quickly, slowly, with a 503, or never (and `GET /health`
// always). What it does for a product is a seeded hash of the product id, so every run (and the
// example specs) sees the same behaviour for the same product, whatever order concurrent requests
// arrive in.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server does with a request. */
export type Behaviour = 'fast' | 'slow' | 'error' | 'hang';

/** Options of {@link startFlakyServer}. */
export interface FlakyServerOptions {
  /** Seed of the behaviour pattern. Default 7. */
  readonly seed?: number;
  /** How long a slow answer takes, in milliseconds. Default 80. */
  readonly slowMs?: number;
}

/** A running flaky server. */
export interface FlakyServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Price requests served so far, by behaviour. */
  readonly served: Readonly<Record<Behaviour, number>>;
  /** Stops the server, dropping hanging and pending requests. */
  close(): Promise<void>;
}

/** The JSON body of a successful answer. */
export interface PriceBody {
  readonly productId: string;
  readonly price: number;
  readonly currency: string;
}

/** A 32-bit hash of the seed and product id (FNV-1a, then a murmur-style finaliser). */
function hash(seed: number, productId: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < productId.length; i++) {
    h = Math.imul(h ^ productId.charCodeAt(i), 0x01000193) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * What the server does for a product: 55% fast, 20% slow, 15% a 503, 10% no answer at all.
 */
export function behaviourOf(productId: string, seed = 7): Behaviour {
  const roll = hash(seed, productId) % 100;
  if (roll < 55) return 'fast';
  if (roll < 75) return 'slow';
  if (roll < 90) return 'error';
  return 'hang';
}

/** The price the server quotes for a product: stable, between 5.00 and 99.99. */
export function listPrice(productId: string): number {
  return 5 + (hash(0, productId) % 9500) / 100;
}

/** Starts the server on 127.0.0.1 on a free port. */
export async function startFlakyServer(options: FlakyServerOptions = {}): Promise<FlakyServer> {
  const seed = options.seed ?? 7;
  const slowMs = options.slowMs ?? 80;
  const served: Record<Behaviour, number> = { fast: 0, slow: 0, error: 0, hang: 0 };
  const pending = new Set<NodeJS.Timeout>();

  const answer = (res: ServerResponse, productId: string): void => {
    const body: PriceBody = { productId, price: listPrice(productId), currency: 'USD' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"up"}');
      return;
    }
    const match = /^\/prices\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method !== 'GET' || match === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const productId = decodeURIComponent(match[1] ?? '');
    const behaviour = behaviourOf(productId, seed);
    served[behaviour]++;
    switch (behaviour) {
      case 'fast':
        answer(res, productId);
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          pending.delete(timer);
          answer(res, productId);
        }, slowMs);
        pending.add(timer);
        // A client that gave up (its signal aborted) needs no answer.
        res.on('close', () => {
          clearTimeout(timer);
          pending.delete(timer);
        });
        return;
      }
      case 'error':
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end('{"error":"pricing backend unavailable"}');
        return;
      case 'hang':
        // Never answers: only the client's timeout (or close()) ends this request.
        return;
    }
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
    served,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
