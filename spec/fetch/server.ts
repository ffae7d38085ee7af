// A scripted node:http server on 127.0.0.1 for the bulwark/fetch specs: each request is answered
// by the next handler in the script (the last one repeats), and every request is recorded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  readonly method: string;
  /** The request's path and query. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** Resolves when the server sees the request's connection close. */
  readonly closed: Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface TestServer {
  readonly url: string;
  readonly requests: Seen[];
  readonly server: Server;
  /** Handlers answering the next requests in order; the last one answers any further ones. */
  script(...handlers: Handler[]): void;
  connections(): Promise<number>;
  close(): Promise<void>;
}

/** Answers with `status`, an optional body and headers, and closes nothing. */
export function reply(status: number, body = '', headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
}

/** Resets the connection without answering: the client's fetch fails on the network. */
export const reset: Handler = (req) => {
  req.socket.resetAndDestroy();
};

/** Never answers: the request stays open until the client gives up. */
export const hang: Handler = () => {};

export async function startServer(): Promise<TestServer> {
  const requests: Seen[] = [];
  let handlers: Handler[] = [reply(200, 'ok')];
  let next = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        closed,
      });
      const handler = handlers[Math.min(next++, handlers.length - 1)] as Handler;
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    server,
    script(...h: Handler[]) {
      handlers = h;
      next = 0;
    },
    connections: () =>
      new Promise((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Polls `read` until its value is `want` (or passes the test `want`) or `ms` pass; returns the
 * last value read.
 */
export async function waitFor<T>(
  read: () => Promise<T> | T,
  want: T | ((value: T) => boolean),
  ms = 2000,
): Promise<T> {
  const done = typeof want === 'function' ? (want as (value: T) => boolean) : (v: T) => v === want;
  const end = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
    value = await read();
  }
  return value;
}
