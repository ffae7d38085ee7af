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
