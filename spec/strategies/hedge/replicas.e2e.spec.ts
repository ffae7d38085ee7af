// End to end, in real time: a hedged policy in front of a real node:http server on 127.0.0.1 that
// answers every third request slowly (one slow replica, as it were). The hedge must cut the tail
// (p99 below the slow answer), close the losers' connections, and send at most
// (1 + maxHedges) requests per call.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { Policy } from '../../../src/pipeline/Policy.js';

const SLOW_MS = 1000;
const DELAY_MS = 60;
const CALLS = 30;
const MAX_HEDGES = 1;

interface Request {
  readonly n: number;
  readonly slow: boolean;
  /** Set when the request's connection closed before the server answered it. */
  closedEarly: boolean;
  /** Resolves when the request's socket has closed. */
  readonly socketClosed: Promise<void>;
}

interface SlowReplica {
  readonly url: string;
  readonly requests: Request[];
  close(): Promise<void>;
}

async function startReplica(): Promise<SlowReplica> {
  const requests: Request[] = [];
  // Each socket's close, one listener per (keep-alive) socket.
  const sockets = new Map<Socket, Promise<void>>();
  const server: Server = createServer((req, res) => {
    const n = requests.length + 1;
    const slow = n % 3 === 0;
    const socketClosed = sockets.get(req.socket) ?? Promise.resolve();
    const request: Request = { n, slow, closedEarly: false, socketClosed };
    requests.push(request);
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`answer ${n}`);
    };
    if (!slow) {
      answer();
      return;
    }
    const timer = setTimeout(answer, SLOW_MS);
    res.on('close', () => {
      if (!res.writableEnded) {
        request.closedEarly = true;
        clearTimeout(timer);
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.set(
      socket,
      new Promise<void>((resolve) =>
        socket.on('close', () => {
          sockets.delete(socket);
          resolve();
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.keys()) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const p99 = (latencies: number[]): number => {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1] as number;
};

describe('Hedge against a slow replica (node:http, real time)', function () {
  this.timeout(30_000);
  let replica: SlowReplica;
  beforeEach(async () => {
    replica = await startReplica();
  });
  afterEach(() => replica.close());

  const get = (url: string, signal: AbortSignal): Promise<string> =>
    fetch(url, { signal }).then((res) => res.text());

  it('keeps p99 below the slow answer, closes the losers and sends at most 1 + maxHedges requests per call', async () => {
    // Unhedged, one call in three waits for the slow answer.
    const plain = Policy.builder<string>('plain').build();
    const unhedged: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await plain.execute((ctx) => get(replica.url, ctx.signal));
      unhedged.push(performance.now() - start);
    }
    expect(p99(unhedged)).to.be.at.least(SLOW_MS - 5);

    const hedged = Policy.builder<string>('hedged')
      .hedge({ maxHedges: MAX_HEDGES, delay: DELAY_MS })
      .build();
    const before = replica.requests.length;
    const latencies: number[] = [];
    const answers: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const start = performance.now();
      answers.push(await hedged.execute((ctx) => get(replica.url, ctx.signal)));
      latencies.push(performance.now() - start);
    }
    const sent = replica.requests.slice(before);
    const slow = sent.filter((r) => r.slow);

    expect(answers).to.have.length(CALLS);
    expect(p99(latencies), `latencies ${latencies.map(Math.round).join(', ')}`).to.be.below(
      SLOW_MS,
    );
    expect(sent.length).to.be.at.most((1 + MAX_HEDGES) * CALLS);
    // Every slow request lost to its hedge and was aborted: its connection closed before the
    // server answered, and its socket is gone.
    expect(slow.length).to.be.greaterThan(5);
    await Promise.all(slow.map((r) => r.socketClosed));
    expect(slow.map((r) => r.closedEarly)).to.deep.equal(slow.map(() => true));
    expect(answers.every((a) => !slow.some((r) => a === `answer ${r.n}`))).to.equal(true);
    expect(hedged.metrics().stages[0]).to.deep.include({ running: 0 });
    expect(hedged.metrics().stages[0]?.hedges).to.be.at.least(slow.length);
  });
});
