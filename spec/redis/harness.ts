// Runs a Redis spec suite once per client library, against a redis-server of its own, and on
// request once more per cluster client against a Redis Cluster shared by the whole run.
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import type { RedisClient, RedisClientAdapter } from '../../src/redis/adapter.js';
import { findRedisCli, startRedisCluster, type RedisCluster } from '../fixtures/redisCluster.js';
import { requireRedisServer, startRedisServer, type RedisServer } from '../fixtures/redisServer.js';

export type ClientKind = 'ioredis' | 'node-redis' | 'ioredis-cluster' | 'node-redis-cluster';
export const CLIENT_KINDS: readonly ClientKind[] = ['ioredis', 'node-redis'];
export const CLUSTER_CLIENT_KINDS: readonly ClientKind[] = [
  'ioredis-cluster',
  'node-redis-cluster',
];
const LABELS: Readonly<Record<ClientKind, string>> = {
  ioredis: 'ioredis',
  'node-redis': 'node-redis',
  'ioredis-cluster': 'ioredis Cluster',
  'node-redis-cluster': 'node-redis createCluster',
};

/** One connection, as a store takes it, with what the specs need around it. */
export interface TestClient {
  readonly kind: ClientKind;
  /** The ioredis or node-redis client itself. */
  readonly client: Exclude<RedisClient, RedisClientAdapter>;
  /** Sends a raw command. */
  command(...args: string[]): Promise<unknown>;
  /** Resolves once the client answers PING (after a server restart). */
  ready(timeoutMs?: number): Promise<void>;
  /** Drops the connection at once, without QUIT or any clean-up: a crashed process. */
  crash(): void;
}

export interface RedisEnv {
  readonly kind: ClientKind;
  /** Whether the suite runs against the Redis Cluster (then there is no single `server`). */
  readonly cluster: boolean;
  readonly server: RedisServer;
  /** The Redis Cluster (cluster suites only). */
  readonly redisCluster: RedisCluster;
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

// The one Redis Cluster of a spec run: started by the first cluster suite, stopped at the end.
let sharedCluster: Promise<RedisCluster> | undefined;
let clusterKeys = 0;

after(async function () {
  const cluster = sharedCluster;
  sharedCluster = undefined;
  if (cluster !== undefined) await (await cluster.catch(() => undefined))?.close();
});

function redisCluster(binary: string): Promise<RedisCluster> {
  const cli = findRedisCli(binary);
  if (cli === undefined) throw new Error(`redis-cli not found beside ${binary}`);
  return (sharedCluster ??= startRedisCluster(binary, cli));
}

/**
 * Declares `describe('<title> (<client>)')` for each client library, each with its own
 * redis-server (skipped loudly when there is none, failing in CI) and clients closed after it.
 * With `cluster: true`, also one per cluster client (ioredis `Cluster`, node-redis
 * `createCluster`) against a Redis Cluster of three masters shared by the run; with
 * `cluster: 'only'`, those alone.
 */
export function describeRedis(
  title: string,
  body: (this: Mocha.Suite, env: RedisEnv) => void,
  options: { readonly cluster?: boolean | 'only' } = {},
): void {
  const kinds =
    options.cluster === 'only'
      ? CLUSTER_CLIENT_KINDS
      : options.cluster === true
        ? [...CLIENT_KINDS, ...CLUSTER_CLIENT_KINDS]
        : CLIENT_KINDS;
  for (const kind of kinds) {
    const cluster = CLUSTER_CLIENT_KINDS.includes(kind);
    describe(`${title} (${LABELS[kind]})`, function () {
      let server: RedisServer | undefined;
      let nodes: RedisCluster | undefined;
      let admin: TestClient | undefined;
      const clients: TestClient[] = [];
      let counter = 0;
      const env: RedisEnv = {
        kind,
        cluster,
        get server() {
          if (server === undefined) {
            throw new Error(
              cluster ? 'no single redis-server in a cluster' : 'redis-server not started',
            );
          }
          return server;
        },
        get redisCluster() {
          if (nodes === undefined) throw new Error('no Redis Cluster in this suite');
          return nodes;
        },
        get admin() {
          if (admin === undefined) throw new Error('redis-server not started');
          return admin;
        },
        async connect(options) {
          const offlineQueue = options?.offlineQueue ?? false;
          const client = cluster
            ? await connectClusterClient(kind, env.redisCluster, offlineQueue)
            : await connectClient(kind, env.server, offlineQueue);
          clients.push(client);
          return client;
        },
        uniqueKey() {
          counter++;
          // Suites on the shared cluster must not meet each other's keys.
          return cluster ? `cluster-${++clusterKeys}` : `spec-${counter}`;
        },
      };

      before(async function () {
        const binary = requireRedisServer(this);
        if (cluster) {
          // Room for the fixture's attempts at creating the cluster on a busy machine.
          this.timeout(120_000);
          nodes = await redisCluster(binary);
        } else {
          server = await startRedisServer(binary);
        }
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

async function connectClusterClient(
  kind: ClientKind,
  cluster: RedisCluster,
  offlineQueue: boolean,
): Promise<TestClient> {
  const rootNodes = cluster.ports.map((port) => ({ host: cluster.host, port }));
  if (kind === 'ioredis-cluster') {
    const client = new Cluster(rootNodes, {
      lazyConnect: true,
      enableOfflineQueue: offlineQueue,
      clusterRetryStrategy: () => 20,
      redisOptions: { maxRetriesPerRequest: offlineQueue ? null : 1 },
    });
    client.on('error', () => {});
    await client.connect();
    // A Cluster connects to a node on its first command to it; a store's first decisions would
    // otherwise wait for that too, within their storeTimeout, on a machine busy with other specs.
    await Promise.all(client.nodes('master').map((node) => node.ping()));
    return {
      kind,
      client,
      command: (name, ...args) => client.call(name, ...args),
      ready: (timeoutMs) => waitForPong(() => client.ping(), timeoutMs),
      crash: () => client.disconnect(),
    };
  }
  const client = createCluster({
    rootNodes: rootNodes.map((socket) => ({ socket })),
    defaults: { socket: { reconnectStrategy: () => 20 }, disableOfflineQueue: !offlineQueue },
  });
  client.on('error', () => {});
  await client.connect();
  return {
    kind,
    client,
    // Routed by the first key (every command the specs send names one first).
    command: (...args) => client.sendCommand(args[1], false, args),
    ready: (timeoutMs) =>
      waitForPong(() => client.sendCommand(undefined, true, ['PING']), timeoutMs),
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

/**
 * A `storeTimeout` beyond any pause of a busy machine, for specs about what Redis decides: under
 * the default (250 ms), a command held up by a slow CI runner is decided without Redis, as
 * `onStoreError` says, which is what other specs check, not these.
 */
export const PATIENT = '10s';

/**
 * Ends a circuit breaker's current open period in Redis (`stateKey`: its store's `redisKey`), as
 * if its open time had passed: the next call of any instance finds the circuit HALF_OPEN. A spec
 * can then give open times far beyond any pause of a busy machine, and check them to the
 * millisecond, without waiting them out.
 */
export async function endOpenPeriod(admin: TestClient, stateKey: string): Promise<void> {
  const [openedAt, openFor] = (await admin.command('HMGET', stateKey, 'oa', 'od')) as [
    string | null,
    string | null,
  ];
  if (openedAt === null || openFor === null) throw new Error(`${stateKey} has never been open`);
  await admin.command('HSET', stateKey, 'oa', String(Number(openedAt) - Number(openFor)));
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
