// The bodies of the responses resilientFetch discards (a retried status's) are drained when
// small, so that their keep-alive connections are reused, and cancelled when large or slow, or
// when the attempt that waits on them is aborted.
import { flush, rejectionOf, settle } from '../support/promises.js';
import { expect } from 'chai';
import sinon from 'sinon';
import { OperationTimeoutError } from '../../src/errors.js';
import { resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

import { reply, startServer, type Handler, type TestServer } from './server.js';

function retrying(maxAttempts = 3) {
  return Policy.builder<Response>('http').retry({ maxAttempts, delay: 0 }).build();
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

    it('reuses it for a small body of no declared length (chunked)', async () => {
      const chunked: Handler = (_req, res) => {
        res.writeHead(503);
        res.write('x'.repeat(16 * 1024));
        res.end('x'.repeat(16 * 1024));
      };
      server.script(chunked, chunked, reply(200, 'ok'));
      const res = await resilientFetch(retrying())(server.url);
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

    it('waits at most 100 ms for a body that does not end, then cancels it', async () => {
      const { fetch, seen } = transport(stalled);
      const call = settle(resilientFetch(retrying(), { fetch })('https://api.test/'));
      await retried();
      expect(seen.calls).to.equal(1);
      await clock.tickAsync(99);
      expect(seen.calls).to.equal(1);
      expect(seen.cancelled).to.equal(false);
      await clock.tickAsync(1);
      expect(seen.cancelled).to.equal(true);
      await retried();
      expect(seen.calls).to.equal(2);
      expect(call.status).to.equal('fulfilled');
      expect(clock.countTimers()).to.equal(0);
    });

    it('cancels a body once it has read more than 128 KiB of it, without waiting', async () => {
      const { fetch, seen } = transport((controller) => controller.enqueue(new Uint8Array(8192)));
      const res = await resilientFetch(retrying(), { fetch })('https://api.test/');
      expect(res.status).to.equal(200);
      expect(seen.cancelled).to.equal(true);
      expect(seen.pulled).to.be.within(17, 18);
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

    it("ends the wait at the caller's abort, with the caller's reason, and sends nothing more", async () => {
      const { fetch, seen } = transport(stalled);
      const controller = new AbortController();
      const call = settle(
        resilientFetch(retrying(), { fetch })('https://api.test/', { signal: controller.signal }),
      );
      await retried();
      expect(seen.pulled).to.be.above(0);
      expect(seen.calls).to.equal(1);
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await retried();
      expect(call.status).to.equal('rejected');
      expect(call.reason).to.equal(reason);
      expect(seen.cancelled).to.equal(true);
      expect(seen.calls).to.equal(1);
      expect(clock.countTimers()).to.equal(0);
    });

    it("ends the wait at the policy's deadline", async () => {
      const { fetch, seen } = transport(stalled);
      const policy = Policy.builder<Response>('http')
        .timeout(50)
        .retry({ maxAttempts: 3, delay: 0 })
        .build();
      const call = rejectionOf(resilientFetch(policy, { fetch })('https://api.test/'));
      await retried();
      expect(seen.calls).to.equal(1);
      await clock.tickAsync(50);
      expect(await call).to.be.instanceOf(OperationTimeoutError);
      expect(seen.cancelled).to.equal(true);
      expect(seen.calls).to.equal(1);
    });
  });
});
