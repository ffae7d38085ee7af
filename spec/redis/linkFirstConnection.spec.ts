// A command sent while the client makes its first connection gets one more `storeTimeout` once
// the client has connected, however soon it connected: the wait before was for the connection,
// not for a server that is away. Unit-level: an ioredis-like client and a manual clock.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { RedisLink } from '../../src/redis/link.js';
import { resolveStoreOptions } from '../../src/redis/options.js';
import { ManualClock } from '../support/clock.js';
import { deferred, settle } from '../support/promises.js';

/** An ioredis-like client with a status, still connecting. */
class ConnectingClient extends EventEmitter {
  status = 'connecting';
  evalsha = (): Promise<unknown> => Promise.resolve(null);
  eval = (): Promise<unknown> => Promise.resolve(null);
  script = (): Promise<unknown> => Promise.resolve('');
  time = (): Promise<unknown> => Promise.resolve(['0', '0']);
  to(status: string): void {
    this.status = status;
    this.emit(status);
  }
}

/** A link over `client` with a 100 ms storeTimeout, on a manual clock. */
function linkOn(client: ConnectingClient, options: Record<string, unknown> = {}) {
  const { common } = resolveStoreOptions(
    { client, key: 'k', storeTimeout: 100, ...options },
    'store',
  );
  const link = new RedisLink(common, 'store');
  const clock = new ManualClock();
  link.bind(clock, 'store', 'primitive');
  return { link, clock };
}

describe('RedisLink on a client making its first connection', function () {
  for (const connectedAt of [10, 90]) {
    it(`gives a command one more storeTimeout once the client connected (at ${connectedAt} ms)`, async function () {
      const client = new ConnectingClient();
      const { common } = resolveStoreOptions({ client, key: 'k', storeTimeout: 100 }, 'store');
      const link = new RedisLink(common, 'store');
      const clock = new ManualClock();
      link.bind(clock, 'store', 'primitive');
      const answer = deferred<string>();
      const sent = settle(link.run(() => answer.promise));
      await clock.advance(connectedAt);
      client.to('ready');
      // Past the first storeTimeout, counted from the send: the command is still waiting.
      await clock.advance(100 - connectedAt);
      expect(sent.status).to.equal('pending');
      answer.resolve('OK');
      await clock.advance(0);
      expect(sent.value).to.equal('OK');
    });
  }

  it('takes a command still unanswered a storeTimeout after that as an outage', async function () {
    const client = new ConnectingClient();
    const { common } = resolveStoreOptions({ client, key: 'k', storeTimeout: 100 }, 'store');
    const link = new RedisLink(common, 'store');
    const clock = new ManualClock();
    link.bind(clock, 'store', 'primitive');
    const sent = settle(link.run(() => new Promise(() => {})));
    await clock.advance(50);
    client.to('ready');
    await clock.advance(140);
    expect(sent.status, 'at 190 ms').to.equal('pending');
    await clock.advance(10);
    expect(sent.status).to.equal('rejected');
    expect(String(sent.reason)).to.match(/did not answer within 100 ms/);
  });
});

describe('RedisLink: how long a first connection is waited for by default', function () {
  it('gives up one storeTimeout after the send while the client never connects', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const sent = settle(link.run(() => new Promise(() => {})));
    await clock.advance(99);
    expect(sent.status, 'at 99 ms').to.equal('pending');
    await clock.advance(1);
    expect(sent.status).to.equal('rejected');
    expect(String(sent.reason)).to.match(/did not connect within 100 ms/);
    expect(link.up).to.equal(false);
  });

  it('waits up to connectTimeout when it is set higher', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client, { connectTimeout: 1000 });
    const sent = settle(link.run(() => new Promise(() => {})));
    await clock.advance(999);
    expect(sent.status, 'at 999 ms').to.equal('pending');
    await clock.advance(1);
    expect(String(sent.reason)).to.match(/did not connect within 1000 ms/);
  });

  it('is back on Redis as soon as the command that gave up is answered after the connection', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const answer = deferred<string>();
    const sent = settle(link.run(() => answer.promise));
    await clock.advance(100);
    expect(sent.status).to.equal('rejected');
    expect(link.bypassing, 'in the back-off').to.equal(true);
    await clock.advance(50);
    client.to('ready');
    answer.resolve('OK');
    await clock.advance(0);
    // 150 ms: the back-off after a 100 ms storeTimeout would last until 500 ms.
    expect(link.up).to.equal(true);
    expect(link.bypassing).to.equal(false);
    expect(link.shouldTry()).to.equal(true);
  });

  it('keeps the back-off when a command on a connected client is answered late (a slow server)', async function () {
    const client = new ConnectingClient();
    client.to('ready');
    const { link, clock } = linkOn(client);
    const answer = deferred<string>();
    const sent = settle(link.run(() => answer.promise));
    await clock.advance(100);
    expect(String(sent.reason)).to.match(/did not answer within 100 ms/);
    answer.resolve('OK');
    await clock.advance(0);
    expect(link.up).to.equal(false);
    expect(link.bypassing).to.equal(true);
  });

  it('keeps a later outage when the late answer comes after it', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const answer = deferred<string>();
    settle(link.run(() => answer.promise));
    await clock.advance(100);
    client.to('ready');
    // Another command fails as a connection failure after the connect timeout.
    await clock.advance(400);
    const failed = settle(link.run(() => Promise.reject(new Error('Connection is closed.'))));
    await clock.advance(0);
    expect(failed.status).to.equal('rejected');
    answer.resolve('OK');
    await clock.advance(0);
    expect(link.up).to.equal(false);
  });

  it('gives a command no more than one storeTimeout once the first connection failed', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client, { connectTimeout: 1000 });
    const sent = settle(link.run(() => new Promise(() => {})));
    await clock.advance(10);
    client.to('close'); // refused: ioredis goes through 'close', then 'reconnecting'
    client.to('reconnecting');
    await clock.advance(90);
    expect(sent.status).to.equal('rejected');
    expect(String(sent.reason)).to.match(/could not connect/);
  });
});

describe('RedisLink: the end of a start-up outage', function () {
  it('is back on Redis when the first attempt was refused and a later one connected', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const answer = deferred<string>();
    const sent = settle(link.run(() => answer.promise));
    await clock.advance(5);
    client.to('close'); // refused (redis-server not accepting yet); the client retries
    client.to('reconnecting');
    await clock.advance(95);
    expect(String(sent.reason)).to.match(/could not connect/);
    await clock.advance(70);
    client.to('ready');
    answer.resolve('OK');
    await clock.advance(0);
    expect(link.up, 'at 170 ms, the back-off lasting until 500 ms').to.equal(true);
  });

  it('is back on Redis when the late answer is an error reply', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const answer = deferred<string>();
    settle(link.run(() => answer.promise));
    await clock.advance(100);
    client.to('ready');
    answer.reject(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'));
    await clock.advance(0);
    expect(link.up).to.equal(true);
  });
});

describe('RedisLink: a command refused while the client makes its first connection', function () {
  const offline = () =>
    Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));

  it('is an outage until the client is ready, not a whole back-off', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const sent = settle(link.run(offline));
    await clock.advance(0);
    expect(sent.status).to.equal('rejected');
    expect(link.up).to.equal(false);
    await clock.advance(5);
    client.to('ready');
    expect(link.up, 'at 5 ms, the back-off lasting until 400 ms').to.equal(true);
    expect(link.shouldTry()).to.equal(true);
  });

  it('stays an outage when the first connection fails', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    settle(link.run(offline));
    await clock.advance(5);
    client.to('close');
    client.to('ready'); // a later attempt: the first connection was over
    expect(link.up).to.equal(false);
    expect(link.bypassing).to.equal(true);
  });
});

describe('RedisLink: a client refusing commands for a long while before it is ready', function () {
  it('ends the latest outage when the client is ready, after many back-offs', async function () {
    const client = new ConnectingClient();
    const { link, clock } = linkOn(client);
    const refused = () => Promise.reject(new Error('The client is closed'));
    for (let i = 0; i < 50; i++) {
      if (link.shouldTry()) settle(link.run(refused));
      await clock.advance(400);
    }
    expect(link.up).to.equal(false);
    client.to('ready');
    expect(link.up).to.equal(true);
  });
});
