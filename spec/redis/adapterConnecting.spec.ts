// What the adapter of an ioredis or node-redis client (a cluster client too) tells of the
// client's first connection (`connecting`), by the client's status and its events, and that it
// leaves no listener behind once the first connection is over.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { toRedisAdapter } from '../../src/redis/adapter.js';

const ENDS = ['ready', 'close', 'end', 'reconnecting'];

function listeners(client: EventEmitter): number {
  return ENDS.reduce((n, event) => n + client.listenerCount(event), 0);
}

/** An ioredis-like client with a status, as `Redis` and `Cluster` have. */
class IoredisFake extends EventEmitter {
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

/** A node-redis-like client (or cluster client, with `masters`) with `isReady`. */
class NodeRedisFake extends EventEmitter {
  isReady = false;
  evalSha = (): Promise<unknown> => Promise.resolve(null);
  eval = (): Promise<unknown> => Promise.resolve(null);
  scriptLoad = (): Promise<unknown> => Promise.resolve('');
  time = (): Promise<unknown> => Promise.resolve(['0', '0']);
}

describe('Redis client adapters: connecting', function () {
  it('ioredis: connecting until ready, then never again, and its listeners are gone', function () {
    const client = new IoredisFake();
    const adapter = toRedisAdapter(client);
    expect(adapter.connecting()).to.equal(true);
    client.to('connect');
    expect(adapter.connecting()).to.equal(true);
    client.to('ready');
    expect(adapter.connecting()).to.equal(false);
    expect(listeners(client)).to.equal(0);
    client.to('close');
    client.to('reconnecting');
    client.to('connecting');
    expect(adapter.connecting()).to.equal(false);
  });

  it('ioredis: a failed first attempt ends it (a refused connection is an outage)', function () {
    const client = new IoredisFake();
    const adapter = toRedisAdapter(client);
    client.to('close');
    client.to('reconnecting');
    client.to('connecting');
    expect(adapter.connecting()).to.equal(false);
    expect(listeners(client)).to.equal(0);
  });

  it('ioredis: a client already ready, or reconnecting, is not connecting and gets no listener', function () {
    for (const status of ['ready', 'reconnecting', 'end']) {
      const client = new IoredisFake();
      client.status = status;
      expect(toRedisAdapter(client).connecting()).to.equal(false);
      expect(listeners(client)).to.equal(0);
    }
  });

  it('node-redis: connecting until ready; reconnecting or end ends it', function () {
    for (const ending of ['ready', 'reconnecting', 'end']) {
      const client = new NodeRedisFake();
      const adapter = toRedisAdapter(client);
      expect(adapter.connecting()).to.equal(true);
      if (ending === 'ready') client.isReady = true;
      client.emit(ending);
      client.isReady = false;
      expect(adapter.connecting(), ending).to.equal(false);
      expect(listeners(client)).to.equal(0);
    }
  });

  it('tells the first connection of real clients not yet connected, a cluster too', function () {
    const clients = [
      new Redis({ lazyConnect: true }),
      new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true }),
      createClient(),
      createCluster({ rootNodes: [{ socket: { host: '127.0.0.1', port: 1 } }] }),
    ];
    for (const client of clients) {
      expect(toRedisAdapter(client).connecting(), toRedisAdapter(client).name).to.equal(true);
    }
  });
});
