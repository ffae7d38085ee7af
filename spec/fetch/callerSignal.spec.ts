// The caller's signal stops the body the caller reads, as with `fetch`, whatever stages the policy
// has: a per-attempt timeout's or a hedged attempt's signal stops following the caller once the
// attempt settles, so each request follows the caller's signals itself. Against a real node:http
// server on 127.0.0.1.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { isRetryable, resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf } from '../support/promises.js';
import { reply, startServer, type Handler, type TestServer } from './server.js';

/** A 200 whose body comes in 20 chunks over 400 ms. */
const slowBody: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  let sent = 0;
  const timer = setInterval(() => {
    res.write('x'.repeat(1000));
    if (++sent === 20) {
      clearInterval(timer);
      res.end();
    }
  }, 20);
  res.on('close', () => clearInterval(timer));
};

const policies = {
  'a per-attempt timeout': () => Policy.builder<Response>('t').timeout('5s').build(),
  'the README recipe (retry > breaker > timeout)': () =>
    Policy.builder<Response>('api')
      .retry({ maxAttempts: 3, delay: '200ms', retryOn: isRetryable })
      .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
      .timeout('2s')
      .build(),
  'a hedge': () => Policy.builder<Response>('h').hedge({ maxHedges: 1, delay: '5s' }).build(),
  'a retry only': () => Policy.builder<Response>('r').retry({ maxAttempts: 2 }).build(),
};

describe("resilientFetch: the caller's signal and the body", () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  for (const [name, make] of Object.entries(policies)) {
    it(`the caller's abort rejects the body being read, with ${name}`, async () => {
      server.script(slowBody);
      const controller = new AbortController();
      const res = await resilientFetch(make())(server.url, { signal: controller.signal });
      expect(res.status).to.equal(200);
      const reading = res.text();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(await rejectionOf(reading)).to.equal(reason);
      await (server.requests[0] as { closed: Promise<void> }).closed;
    });
  }

  for (const caller of [false, true]) {
    it(`a per-attempt timeout bounds the headers, not the body after them${caller ? ", with a caller's signal" : ''}`, async () => {
      // The body takes 400 ms; each attempt 100 ms.
      server.script(slowBody);
      const policy = Policy.builder<Response>('t').retry({ maxAttempts: 2 }).timeout(100).build();
      const init = caller ? { signal: new AbortController().signal } : undefined;
      const res = await resilientFetch(policy)(server.url, init);
      expect(await res.text()).to.have.length(20_000);
      expect(server.requests).to.have.length(1);
    });
  }

  it("a Request's own signal rejects the body being read, with init.signal too", async () => {
    server.script(slowBody);
    const own = new AbortController();
    const other = new AbortController();
    const request = new Request(server.url, { signal: own.signal });
    const policy = Policy.builder<Response>('t').timeout('5s').build();
    const res = await resilientFetch(policy)(request, { signal: other.signal });
    const reading = res.text();
    const reason = new Error('request aborted');
    own.abort(reason);
    expect(await rejectionOf(reading)).to.equal(reason);
    expect(getEventListeners(other.signal, 'abort')).to.have.length(0);
  });

  it('a body read to its end is the whole body, the caller not aborting', async () => {
    server.script(slowBody);
    const controller = new AbortController();
    const policy = Policy.builder<Response>('t').timeout('5s').build();
    const res = await resilientFetch(policy)(server.url, { signal: controller.signal });
    expect(await res.text()).to.have.length(20_000);
  });

  it('keeps one listener on a signal shared by many calls, and none once it aborts', async () => {
    server.script(reply(503, 'busy'), reply(200, 'ok'));
    const shared = new AbortController();
    const policy = Policy.builder<Response>('t').retry({ maxAttempts: 2 }).timeout('5s').build();
    const http = resilientFetch(policy);
    const kept: Response[] = [];
    for (let i = 0; i < 20; i++) kept.push(await http(server.url, { signal: shared.signal }));
    expect(kept.map((r) => r.status)).to.deep.equal(new Array(20).fill(200));
    expect(getEventListeners(shared.signal, 'abort')).to.have.length(1);
    shared.abort(new Error('shutting down'));
    expect(getEventListeners(shared.signal, 'abort')).to.have.length(0);
  });

  // No stage makes a signal of its own: the attempt's is the caller's, and Node's fetch keeps a
  // listener on the signal of each request it is given until the request is collected.
  for (const [name, make] of [
    ['a retry only', () => Policy.builder<Response>('r').retry({ maxAttempts: 2 }).build()],
    [
      'a bulkhead and a circuit breaker',
      () =>
        Policy.builder<Response>('b')
          .bulkhead({ maxConcurrent: 10 })
          .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
          .build(),
    ],
  ] as const) {
    it(`keeps one listener on a signal shared by many calls with Node's fetch, none once their bodies are read, with ${name}`, async () => {
      server.script(reply(503, 'busy'), reply(200, 'ok'));
      const shared = new AbortController();
      const http = resilientFetch(make());
      const kept: Response[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await http(server.url, { signal: shared.signal });
        await res.text();
        kept.push(res);
      }
      expect(kept.at(-1)?.status).to.equal(200);
      // Read to their end (and kept): no request follows the signal any more, without a GC.
      expect(getEventListeners(shared.signal, 'abort')).to.have.length(0);
      // Two responses whose bodies are not read yet follow it, through one listener.
      const unread = [
        await http(server.url, { signal: shared.signal }),
        await http(server.url, { signal: shared.signal }),
      ];
      expect(unread.map((r) => r.bodyUsed)).to.deep.equal([false, false]);
      expect(getEventListeners(shared.signal, 'abort')).to.have.length(1);
      shared.abort(new Error('shutting down'));
      expect(getEventListeners(shared.signal, 'abort')).to.have.length(0);
    });
  }

  it('follows the signal no longer after a request fails or its response is discarded', async () => {
    server.script(reply(503, 'busy'));
    const shared = new AbortController();
    const policy = Policy.builder<Response>('t').retry({ maxAttempts: 3 }).timeout('5s').build();
    const res = await resilientFetch(policy, { throwOnStatus: true })(server.url, {
      signal: shared.signal,
    }).catch((error: unknown) => error);
    expect(res).to.be.instanceOf(Error);
    expect(server.requests).to.have.length(3);
    // The two retried responses were discarded; the last one is the error's, the caller's to read.
    expect(getEventListeners(shared.signal, 'abort')).to.have.length(1);
  });
});
