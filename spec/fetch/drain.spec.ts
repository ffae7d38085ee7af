// The bodies of the responses resilientFetch discards (a retried status's) are drained when
// small, so that their keep-alive connections are reused, and cancelled when large or slow; a
// failure status's is read ahead from its arrival, outside every attempt, which waits on none.
import { flush, settle } from '../support/promises.js';
import { expect } from 'chai';
import sinon from 'sinon';
import { resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

import { reply, startServer, type Handler, type TestServer } from './server.js';

function retrying(maxAttempts = 3, delay = 0) {
  return Policy.builder<Response>('http').retry({ maxAttempts, delay }).build();
}

describe('resilientFetch: discarded bodies', () => {
  describe('against a node:http server', () => {
    let server: TestServer;
    let connections: number;

    beforeEach(async () => {
      server = await startServer();
      connections = 0;
      server.server.on('connection', () => connections++);
    });

    afterEach(async () => {
      await server.close();
    });

    it('reuses one connection for retried 503s with small bodies', async () => {
      // 32 KiB: more than the transport has taken in when the next attempt starts.
      server.script(reply(503, 'x'.repeat(32 * 1024)));
      const res = await resilientFetch(retrying(5))(server.url);
      expect(res.status).to.equal(503);
      expect(await res.text()).to.have.length(32 * 1024);
      expect(server.requests).to.have.length(5);
      expect(connections).to.equal(1);
    });

    it('reuses it for a small body of no declared length (chunked) that ends in the wait', async () => {
      const chunked: Handler = (_req, res) => {
        res.writeHead(503);
        res.write('x'.repeat(16 * 1024));
        setTimeout(() => res.end('x'.repeat(16 * 1024)), 5);
      };
      server.script(chunked, chunked, reply(200, 'ok'));
      // The body ends 5 ms after its status; the retry waits 50 ms.
      const res = await resilientFetch(retrying(3, 50))(server.url);
      expect(await res.text()).to.equal('ok');
      expect(server.requests).to.have.length(3);
      expect(connections).to.equal(1);
    });

    it('closes the connection of a body that declares more than 128 KiB', async () => {
      server.script(reply(503, 'x'.repeat(128 * 1024 + 1)), reply(200, 'ok'));
      const res = await resilientFetch(retrying())(server.url);
      expect(await res.text()).to.equal('ok');
      const closed = await Promise.race([
        server.requests[0]?.closed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
      ]);
      expect(closed).to.equal(true);
    });
  });

  describe('bounds', () => {
    let clock: sinon.SinonFakeTimers;

    beforeEach(() => {
      clock = sinon.useFakeTimers({
        toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'],
      });
    });

    afterEach(() => {
      clock.restore();
    });

    // Lets the first attempt fail and the retry (after a real macrotask) begin the next one.
    const retried = async () => {
      for (let i = 0; i < 5; i++) await flush();
    };

    /**
     * A transport whose first answer is a 503 with a body that `first` feeds, and whose later
     * answers are a 200; records its calls and whether the 503's body was cancelled.
     */
    function transport(
      first: (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void> | void,
    ) {
      const seen = { calls: 0, cancelled: false, pulled: 0 };
      const fetch: FetchFunction = () => {
        seen.calls++;
        if (seen.calls > 1) return Promise.resolve(new Response('ok'));
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            seen.pulled++;
            return first(controller);
          },
          cancel() {
            seen.cancelled = true;
          },
        });
        return Promise.resolve(new Response(body, { status: 503 }));
      };
      return { fetch, seen };
    }

    // A body that sends a byte, then nothing.
    const stalled = (controller: ReadableStreamDefaultController<Uint8Array>) => {
      if (controller.desiredSize !== null) controller.enqueue(new Uint8Array(1));
      return new Promise<void>(() => {});
    };

    it('counts none of a slow body against the next attempt (a per-attempt timeout)', async () => {
      // The 503's body stalls; the next request answers in 30 ms; each attempt has 50 ms.
      let calls = 0;
      let cancelled = false;
      const fetch: FetchFunction = () => {
        if (++calls > 1) {
          return new Promise((resolve) => setTimeout(() => resolve(new Response('ok')), 30));
        }
        const body = new ReadableStream<Uint8Array>({
          pull: stalled,
          cancel() {
            cancelled = true;
          },
        });
        return Promise.resolve(new Response(body, { status: 503 }));
      };
      const policy = Policy.builder<Response>('http')
        .retry({ maxAttempts: 2, delay: 0 })
        .timeout(50)
        .build();
      const call = settle(resilientFetch(policy, { fetch })('https://api.test/'));
      await retried();
      expect(calls).to.equal(2);
      await clock.tickAsync(30);
      expect(call.status).to.equal('fulfilled');
      expect(await (call.value as Response).text()).to.equal('ok');
      // Let go in the background: cancelled 100 ms after it arrived, leaving no timer.
      await clock.tickAsync(69);
      expect(cancelled).to.equal(false);
      await clock.tickAsync(1);
      expect(cancelled).to.equal(true);
      expect(clock.countTimers()).to.equal(0);
    });

    it('reads a body ahead from its arrival, so that it ends before the next attempt', async () => {
      // Each part of the 503's body comes 20 ms after the one before; the retry waits 50 ms.
      let ended = false;
      const { fetch, seen } = transport(async (controller) => {
        if (seen.pulled > 2) {
          ended = true;
          controller.close();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(new Uint8Array(16));
      });
      const call = settle(resilientFetch(retrying(3, 50), { fetch })('https://api.test/'));
      await clock.tickAsync(49);
      expect(ended).to.equal(true);
      expect(seen.cancelled).to.equal(false);
      expect(seen.calls).to.equal(1);
      await clock.tickAsync(1);
      expect(seen.calls).to.equal(2);
      expect(call.status).to.equal('fulfilled');
      expect(clock.countTimers()).to.equal(0);
    });

    it('hands out a response read ahead with its whole body, and stops the read', async () => {
      // The policy gives up on the 503, whose body has a part at once and one after 150 ms.
      const { fetch, seen } = transport(async (controller) => {
        if (seen.pulled === 1) return controller.enqueue(new TextEncoder().encode('a'));
        if (seen.pulled > 2) return controller.close();
        await new Promise((resolve) => setTimeout(resolve, 150));
        controller.enqueue(new TextEncoder().encode('b'));
      });
      const res = await resilientFetch(retrying(1), { fetch })('https://api.test/');
      expect(res.status).to.equal(503);
      // Its read-ahead's timer went with the hand-out: only the body's own part is pending.
      expect(clock.countTimers()).to.equal(1);
      const text = res.text();
      await clock.tickAsync(150);
      expect(await text).to.equal('ab');
      expect(seen.cancelled).to.equal(false);
    });

    it('cancels a body once it has read more than 128 KiB of it, without waiting', async () => {
      const { fetch, seen } = transport((controller) => controller.enqueue(new Uint8Array(8192)));
      const res = await resilientFetch(retrying(), { fetch })('https://api.test/');
      expect(res.status).to.equal(200);
      expect(seen.cancelled).to.equal(true);
      expect(seen.pulled).to.be.within(17, 19);
      expect(clock.now).to.equal(0);
    });

    it('cancels at once a body that declares more than 128 KiB', async () => {
      let cancelled = false;
      let calls = 0;
      const fetch: FetchFunction = () => {
        if (++calls > 1) return Promise.resolve(new Response('ok'));
        const body = new ReadableStream<Uint8Array>({
          cancel() {
            cancelled = true;
          },
        });
        const headers = { 'content-length': String(128 * 1024 + 1) };
        return Promise.resolve(new Response(body, { status: 503, headers }));
      };
      const res = await resilientFetch(retrying(), { fetch })('https://api.test/');
      expect(res.status).to.equal(200);
      expect(cancelled).to.equal(true);
      expect(clock.now).to.equal(0);
    });

    it("stops a read-ahead at the caller's abort, leaving no timer", async () => {
      // A transport whose 503 body stalls and errors when its request is aborted.
      let errored = false;
      const fetch: FetchFunction = (_input, init) => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(1));
            init?.signal?.addEventListener('abort', () => {
              errored = true;
              controller.error(init.signal?.reason);
            });
          },
        });
        return Promise.resolve(new Response(body, { status: 503 }));
      };
      const controller = new AbortController();
      const call = settle(
        resilientFetch(retrying(3, 1000), { fetch })('https://api.test/', {
          signal: controller.signal,
        }),
      );
      await clock.tickAsync(10);
      expect(clock.countTimers()).to.equal(2); // the retry's wait, and the read-ahead's
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await retried();
      expect(call.status).to.equal('rejected');
      expect(call.reason).to.equal(reason);
      expect(errored).to.equal(true);
      expect(clock.countTimers()).to.equal(0);
    });
  });
});
