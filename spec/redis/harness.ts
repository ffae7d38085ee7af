// Runs a Redis spec suite once per client library, against a redis-server of its own.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RedisClient } from '../../src/redis/adapter.js';
import { requireRedisServer, startRedisServer, type RedisServer } from '../fixtures/redisServer.js';

export type ClientKind = 'ioredis' | 'node-redis';
export const CLIENT_KINDS: readonly ClientKind[] = ['ioredis', 'node-redis'];

/** One connection, as a store takes it, with what the specs need around it. */
export interface TestClient {
  readonly kind: ClientKind;
  /** The ioredis or node-redis client itself. */
  readonly client: RedisClient;
  /** Sends a raw command. */
  command(...args: string[]): Promise<unknown>;
  /** Resolves once the client answers PING (after a server restart). */
  ready(timeoutMs?: number): Promise<void>;
  /** Drops the connection at once, without QUIT or any clean-up: a crashed process. */
  crash(): void;
}

export interface RedisEnv {
  readonly kind: ClientKind;
  readonly server: RedisServer;
  /** A client for raw commands (inspecting keys, pausing the server, ...). */
  readonly admin: TestClient;
  /**
   * A new client, closed after the suite. By default it fails commands at once while
   * disconnected; `offlineQueue: true` keeps the client library's default of queueing them.
   */
  connect(options?: { offlineQueue?: boolean }): Promise<TestClient>;
  /** A key no other test uses. */
  uniqueKey(): string;
}

/**
 * Declares `describe('<title> (<client>)')` for each client library, each with its own
 * redis-server (skipped loudly when there is none, failing in CI) and clients closed after it.
 */
export function describeRedis(
  title: string,
  body: (this: Mocha.Suite, env: RedisEnv) => void,
): void {
  for (const kind of CLIENT_KINDS) {
    describe(`${title} (${kind})`, function () {
      let server: RedisServer | undefined;
      let admin: TestClient | undefined;
      const clients: TestClient[] = [];
      let counter = 0;
      const env: RedisEnv = {
        kind,
        get server() {
          if (server === undefined) throw new Error('redis-server not started');
          return server;
        },
        get admin() {
          if (admin === undefined) throw new Error('redis-server not started');
          return admin;
        },
        async connect(options) {
          const client = await connectClient(kind, env.server, options?.offlineQueue ?? false);
          clients.push(client);
          return client;
        },
        uniqueKey() {
          counter++;
          return `spec-${counter}`;
        },
      };

      before(async function () {
        const binary = requireRedisServer(this);
        server = await startRedisServer(binary);
        admin = await env.connect();
      });

      after(async function () {
        for (const client of clients) client.crash();
        clients.length = 0;
        await server?.close();
      });

      body.call(this, env);
    });
  }
}

async function connectClient(
  kind: ClientKind,
  server: RedisServer,
  offlineQueue: boolean,
): Promise<TestClient> {
  if (kind === 'ioredis') {
    const client = new Redis({
      host: server.host,
      port: server.port,
      lazyConnect: true,
      // Fail at once while disconnected instead of queueing; the stores bound calls anyway.
      enableOfflineQueue: offlineQueue,
      maxRetriesPerRequest: offlineQueue ? null : 1,
      retryStrategy: () => 20,
    });
    client.on('error', () => {});
    await client.connect();
    return {
      kind,
      client,
      command: (name, ...args) => client.call(name, ...args),
      ready: (timeoutMs) => waitForPong(() => client.ping(), timeoutMs),
      crash: () => client.disconnect(),
    };
  }
  const client = createClient({
    socket: { host: server.host, port: server.port, reconnectStrategy: () => 20 },
    disableOfflineQueue: !offlineQueue,
  });
  client.on('error', () => {});
  await client.connect();
  return {
    kind,
    client,
    command: (...args) => client.sendCommand(args),
    ready: (timeoutMs) => waitForPong(() => client.ping(), timeoutMs),
    crash: () => {
      if (client.isOpen) client.destroy();
    },
  };
}

async function waitForPong(ping: () => Promise<unknown>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if ((await ping()) === 'PONG') return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`no PONG within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check` returns true, polling every 10 ms, failing after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  what = 'the condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline)
      throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export { rejectionOf } from '../support/promises.js';

/** A promise with its resolve function, for calls held open by a spec. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
