// A client still making its first connection (a process that takes traffic right after
// `new Redis(...)`): calls wait for the connection up to `connectTimeout` (by default one
// `storeTimeout`, so a server that cannot be reached costs a call no more than that), and the
// store is back on Redis as soon as the client connects. A refused connection is an outage at
// once. End to end, through a TCP proxy that delays the connection to a real redis-server, for
// both clients.
import { expect } from 'chai';
import net from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import {
  CircuitOpenError,
  RateLimitExceededError,
  StoreUnavailableError,
} from '../../src/errors.js';
import type { RedisClient } from '../../src/redis/adapter.js';
import { RedisCircuitBreakerStore } from '../../src/redis/RedisCircuitBreakerStore.js';
import { RedisRateLimiterStore } from '../../src/redis/RedisRateLimiterStore.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { describeRedis, type ClientKind } from './harness.js';

const STORE_TIMEOUT = 100;
/** Long enough for the delaying proxy's connection, even on a loaded machine. */
const CONNECT_TIMEOUT = 5000;

/** A TCP proxy to `port` that connects each client `delayMs` later (never, for `Infinity`). */
async function delayingProxy(port: number, delayMs: number) {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.pause();
    if (delayMs === Infinity) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const upstream = net.connect(port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A client of `kind` to `port`, used at once: its first connection starts now. `offline`: with
 * its offline queue turned off, so commands sent before it is ready are refused at once.
 */
function startClient(kind: ClientKind, port: number, offline = false) {
  if (kind === 'ioredis') {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      retryStrategy: () => 20,
      enableOfflineQueue: !offline,
    });
    client.on('error', () => {});
    return { client: client as RedisClient, close: () => client.disconnect() };
  }
  const client = createClient({
    socket: { host: '127.0.0.1', port, reconnectStrategy: () => 20 },
    disableOfflineQueue: offline,
  });
  client.on('error', () => {});
  client.connect().catch(() => {});
  return {
    client: client as unknown as RedisClient,
    close: () => {
      if (client.isOpen) client.destroy();
    },
  };
}

describeRedis('Redis stores on a client making its first connection', function (env) {
  const cleanups: (() => unknown)[] = [];
  afterEach(async function () {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function slowClient(delayMs: number) {
    const proxy = await delayingProxy(env.server.port, delayMs);
    cleanups.push(proxy.close);
    const started = startClient(env.kind, proxy.port);
    cleanups.push(started.close);
    return started.client;
  }

  it('by default decides within storeTimeout when the connection never comes', async function () {
    const client = await slowClient(Infinity);
    const store = new RedisRateLimiterStore({
      client,
      key: env.uniqueKey(),
      storeTimeout: STORE_TIMEOUT,
      onStoreError: 'fail-closed',
    });
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 1, store });
    const start = performance.now();
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(performance.now() - start).to.be.below(STORE_TIMEOUT * 2 + 200);
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect((error as Error).message).to.include(`did not connect within ${STORE_TIMEOUT} ms`);
  });

  it('by default is back on Redis as soon as a slow first connection is made', async function () {
    // storeTimeout 250 ms: the back-off after the first call gives up lasts 1 s.
    const client = await slowClient(400);
    const key = env.uniqueKey();
    const store = new RedisRateLimiterStore({ client, key, storeTimeout: 250 });
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 0.001, store });
    const start = performance.now();
    await limiter.acquire(); // decided locally: the client has not connected within 250 ms
    expect(store.redisAvailable).to.equal(false);
    while (!store.redisAvailable && performance.now() - start < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Connected at about 400 ms, the back-off would have lasted until about 1,250 ms.
    expect(store.redisAvailable).to.equal(true);
    expect(performance.now() - start).to.be.below(1100);
    await limiter.acquire();
    // That call took its token from the shared bucket (the first one's came back to it).
    const other = new RedisRateLimiterStore({ client: (await env.connect()).client, key });
    const shared = new RateLimiter({ maxTokens: 10, refillRate: 0.001, store: other });
    await Promise.all(Array.from({ length: 9 }, () => shared.acquire()));
    expect(await shared.acquire().catch((e: unknown) => e)).to.be.instanceOf(
      RateLimitExceededError,
    );
  });

  it('waits for the connection: a shared bucket admits its tokens, and refuses no call as unavailable', async function () {
    const client = await slowClient(300);
    const store = new RedisRateLimiterStore({
      client,
      key: env.uniqueKey(),
      storeTimeout: STORE_TIMEOUT,
      connectTimeout: CONNECT_TIMEOUT,
      onStoreError: 'fail-closed',
    });
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 0.001, store });
    const start = performance.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 15 }, () => limiter.acquire()));
    expect(performance.now() - start).to.be.greaterThan(250);
    const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(10);
    expect(refusals).to.have.length(5);
    for (const error of refusals) expect(error).to.be.instanceOf(RateLimitExceededError);
    expect(store.redisAvailable).to.equal(true);
  });

  it('does not fall back to local limits while connecting (onStoreError: local)', async function () {
    const client = await slowClient(300);
    const key = env.uniqueKey();
    const limiter = new RateLimiter({
      maxTokens: 10,
      refillRate: 0.001,
      store: new RedisRateLimiterStore({
        client,
        key,
        storeTimeout: STORE_TIMEOUT,
        connectTimeout: CONNECT_TIMEOUT,
      }),
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 15 }, () => limiter.acquire()));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(10);
    // The tokens were taken from the shared bucket, not from a local one.
    const other = new RateLimiter({
      maxTokens: 10,
      refillRate: 0.001,
      store: new RedisRateLimiterStore({ client: (await env.connect()).client, key }),
    });
    expect(await other.acquire().catch((e: unknown) => e)).to.be.instanceOf(RateLimitExceededError);
  });

  it('sees a circuit opened elsewhere while connecting', async function () {
    const key = env.uniqueKey();
    const opener = new CircuitBreaker({
      store: new RedisCircuitBreakerStore({ client: (await env.connect()).client, key }),
    });
    opener.isolate();
    await opener.metrics; // a round trip after the isolation
    const client = await slowClient(300);
    const breaker = new CircuitBreaker({
      store: new RedisCircuitBreakerStore({
        client,
        key,
        storeTimeout: STORE_TIMEOUT,
        connectTimeout: CONNECT_TIMEOUT,
      }),
    });
    const error = await breaker.execute(() => 'ran').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CircuitOpenError).that.includes({ state: 'isolated' });
  });

  it('gives up after connectTimeout when the connection never comes', async function () {
    const client = await slowClient(Infinity);
    const store = new RedisRateLimiterStore({
      client,
      key: env.uniqueKey(),
      storeTimeout: STORE_TIMEOUT,
      connectTimeout: 400,
      onStoreError: 'fail-closed',
    });
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 1, store });
    const start = performance.now();
    const error = await limiter.acquire().catch((e: unknown) => e);
    const ms = performance.now() - start;
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect((error as Error).message).to.include('did not connect within 400 ms');
    expect(ms).to.be.within(390, 1000);
    expect(store.redisAvailable).to.equal(false);
  });

  it('with the offline queue off, is back on Redis as soon as the client is ready', async function () {
    const proxy = await delayingProxy(env.server.port, 150);
    cleanups.push(proxy.close);
    const started = startClient(env.kind, proxy.port, true);
    cleanups.push(started.close);
    // storeTimeout 250 ms: the back-off after the refused first call would last 1 s.
    const store = new RedisRateLimiterStore({
      client: started.client,
      key: env.uniqueKey(),
      storeTimeout: 250,
    });
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 0.001, store });
    const start = performance.now();
    await limiter.acquire(); // refused at once by the client, decided locally
    expect(store.redisAvailable).to.equal(false);
    while (!store.redisAvailable && performance.now() - start < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(store.redisAvailable).to.equal(true);
    expect(performance.now() - start).to.be.below(800);
  });

  it('takes a refused connection as an outage within one storeTimeout', async function () {
    const started = startClient(env.kind, await closedPort());
    cleanups.push(started.close);
    // Long enough to tell one storeTimeout from two on a loaded machine.
    const storeTimeout = 400;
    const store = new RedisRateLimiterStore({
      client: started.client,
      key: env.uniqueKey(),
      storeTimeout,
      onStoreError: 'fail-closed',
    });
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 1, store });
    const start = performance.now();
    const error = await limiter.acquire().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect((error as Error).message).to.include('could not connect');
    expect(performance.now() - start).to.be.below(storeTimeout + 300);
  });
});
