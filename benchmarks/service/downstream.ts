// The simulated downstream: a `node:http` server on 127.0.0.1 whose health the runner switches
// between phases. Each request first waits its network latency (a timer; it takes no capacity),
// then holds one of `slots` workers for `workMs` (a timer too, so the simulation costs the machine
// next to nothing). Requests beyond the free workers queue in arrival order; one whose caller has
// gone (a timeout that aborted it) is dropped when its turn comes, as a careful server would.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from './clock.js';

export type Health = 'up' | 'down' | 'slow';

export interface DownstreamOptions {
  /** Mean network latency in ms; each request draws uniformly from 0.5x to 1.5x of it. */
  readonly latencyMs: number;
  /** How many times the latency the slow phase adds. */
  readonly slowFactor: number;
  /** Concurrent workers: the capacity is slots / workMs requests per ms. */
  readonly slots: number;
  readonly workMs: number;
}

export interface Downstream {
  readonly url: string;
  /** Switches the health for the requests that arrive from now on. */
  setHealth(health: Health): void;
  /** Arrival times (epoch ms, see now()) of every request, by the caller's tag. */
  arrivals(tag: string): readonly number[];
  close(): Promise<void>;
}

export async function startDownstream(options: DownstreamOptions): Promise<Downstream> {
  let health: Health = 'up';
  let busy = 0;
  const queue: (() => void)[] = [];
  const seen = new Map<string, number[]>();

  const release = () => {
    busy--;
    const next = queue.shift();
    if (next) next();
  };
  const work = (res: ServerResponse) => {
    if (res.destroyed) {
      // The caller gave up while it queued: skip it, the worker takes the next one.
      release();
      return;
    }
    setTimeout(() => {
      release();
      if (!res.destroyed)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}');
    }, options.workMs);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const tag = String(req.headers['x-tag'] ?? '');
    let list = seen.get(tag);
    if (!list) seen.set(tag, (list = []));
    list.push(now());
    req.resume();
    if (health === 'down') {
      // A dead backend behind a proxy: an immediate 503.
      res.writeHead(503).end();
      return;
    }
    const factor = health === 'slow' ? options.slowFactor : 1;
    const latency = options.latencyMs * factor * (0.5 + Math.random());
    setTimeout(() => {
      if (busy < options.slots) {
        busy++;
        work(res);
      } else {
        queue.push(() => {
          busy++;
          work(res);
        });
      }
    }, latency);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    setHealth: (h) => {
      health = h;
    },
    arrivals: (tag) => seen.get(tag) ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
