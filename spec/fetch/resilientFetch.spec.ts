// resilientFetch against a real node:http server on 127.0.0.1, through Node's own fetch.
import { ManualClock } from '../support/clock.js';
import { rejectionOf } from '../support/promises.js';
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { CircuitOpenError, OperationTimeoutError } from '../../src/errors.js';
import { isOptionError, OptionRangeError, OptionTypeError } from '../../src/optionErrors.js';
import {
  HttpStatusError,
  isHttpStatusError,
  isRetryable,
  resilientFetch,
  type FetchFunction,
} from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

import { hang, reply, startServer, waitFor, type Handler, type TestServer } from './server.js';

function rejectionOfSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

function retrying(maxAttempts = 3) {
  return Policy.builder<Response>('http').retry({ maxAttempts }).build();
}

describe('resilientFetch', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  describe('statuses', () => {
    it('returns a success or a status outside retryStatuses as fetch would, without retrying', async () => {
      server.script(reply(404, 'missing'), reply(200, 'ok'));
      const http = resilientFetch(retrying());
      const res = await http(server.url);
      expect(res.status).to.equal(404);
      expect(await res.text()).to.equal('missing');
      expect(server.requests).to.have.length(1);
    });

    it('retries a GET on 503 and returns the response that succeeded', async () => {
      server.script(reply(503, 'a'), reply(502, 'b'), reply(200, 'ok'));
      const res = await resilientFetch(retrying())(server.url);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.equal('ok');
      expect(server.requests.map((r) => r.method)).to.deep.equal(['GET', 'GET', 'GET']);
    });

    it('returns the last Response as fetch would when the retries run out', async () => {
      server.script(reply(503, 'first'), reply(503, 'second'), reply(429, 'last'));
      const res = await resilientFetch(retrying())(server.url);
      expect(res.status).to.equal(429);
      expect(await res.text()).to.equal('last');
      expect(server.requests).to.have.length(3);
    });

    it('rejects with the HttpStatusError, Retry-After read, with throwOnStatus', async () => {
      server.script(reply(503, 'busy', { 'retry-after': '2' }));
      const http = resilientFetch(retrying(1), { throwOnStatus: true });
      const error = await rejectionOf(http(server.url));
      expect(isHttpStatusError(error)).to.equal(true);
      const e = error as HttpStatusError;
      expect(e.status).to.equal(503);
      expect(e.retryAfterMs).to.equal(2000);
      expect(e.retryable).to.equal(true);
      expect(await e.response.text()).to.equal('busy');
    });

    it('reads an HTTP-date Retry-After into retryAfterMs', async () => {
      const at = new Date(Date.now() + 30_000).toUTCString();
      server.script(reply(429, '', { 'retry-after': at }));
      const http = resilientFetch(retrying(1), { throwOnStatus: true });
      const e = (await rejectionOf(http(server.url))) as HttpStatusError;
      expect(e.status).to.equal(429);
      expect(e.retryAfterMs).to.be.within(28_000, 30_000);
    });

    it('treats exactly the statuses in retryStatuses as failures', async () => {
      server.script(reply(418, 'teapot'), reply(200, 'ok'));
      const res = await resilientFetch(retrying(), { retryStatuses: [418] })(server.url);
      expect(res.status).to.equal(200);
      expect(server.requests).to.have.length(2);
      server.script(reply(503, 'down'), reply(200, 'ok'));
      const again = await resilientFetch(retrying(), { retryStatuses: [418] })(server.url);
      expect(again.status).to.equal(503);
    });

    it('lets a fallback replace a failure status, with the request in ctx.data', async () => {
      server.script(reply(500, 'broken'));
      const seen: unknown[] = [];
      const policy = Policy.builder<Response>('http')
        .fallback({
          method: (error, ctx) => {
            seen.push(error, ctx.data.get('url'), ctx.data.get('method'));
            return new Response('cached');
          },
        })
        .build();
      const res = await resilientFetch(policy)(new URL(`${server.url}items?id=1`), {
        method: 'delete',
      });
      expect(await res.text()).to.equal('cached');
      expect(seen).to.have.length(3);
      expect((seen[0] as HttpStatusError).status).to.equal(500);
      expect(seen.slice(1)).to.deep.equal([`${server.url}items?id=1`, 'DELETE']);
      await waitFor(() => server.connections(), 0);
    });
  });

  describe('circuit breaker', () => {
    it('opens on a run of 503s, and the server sees no request until half-open', async () => {
      const clock = new ManualClock(1_000);
      const policy = Policy.builder<Response>('http')
        .circuitBreaker({ failureThreshold: 3, recoveryTimeout: '10s', clock })
        .build();
      const http = resilientFetch(policy);
      server.script(reply(503, 'down'));
      for (let i = 0; i < 3; i++) expect((await http(server.url)).status).to.equal(503);
      expect(server.requests).to.have.length(3);

      for (let i = 0; i < 5; i++) {
        expect(await rejectionOf(http(server.url))).to.be.instanceOf(CircuitOpenError);
      }
      await clock.advance(9_999);
      expect(await rejectionOf(http(server.url))).to.be.instanceOf(CircuitOpenError);
      expect(server.requests).to.have.length(3);

      await clock.advance(1);
      server.script(reply(200, 'back'));
      const res = await http(server.url);
      expect(await res.text()).to.equal('back');
      expect(server.requests).to.have.length(4);
    });
  });

  describe('idempotency', () => {
    it('does not send a POST again', async () => {
      server.script(reply(503, 'once'), reply(200, 'never'));
      const res = await resilientFetch(retrying())(server.url, { method: 'POST', body: 'x' });
      expect(res.status).to.equal(503);
      expect(await res.text()).to.equal('once');
      expect(server.requests).to.have.length(1);
    });

    it('sends a POST with an Idempotency-Key again', async () => {
      server.script(reply(503), reply(503), reply(201, 'created'));
      const res = await resilientFetch(retrying())(server.url, {
        method: 'POST',
        headers: { 'Idempotency-Key': 'k-1' },
        body: 'payload',
      });
      expect(res.status).to.equal(201);
      expect(server.requests.map((r) => r.body)).to.deep.equal(['payload', 'payload', 'payload']);
      expect(server.requests.every((r) => r.headers['idempotency-key'] === 'k-1')).to.equal(true);
    });

    it('sends again the methods retryMethods lists, and only those', async () => {
      server.script(reply(503), reply(200, 'ok'));
      const post = resilientFetch(retrying(), { retryMethods: ['post'] });
      expect((await post(server.url, { method: 'POST', body: 'x' })).status).to.equal(200);
      expect(server.requests).to.have.length(2);
      server.script(reply(503), reply(200, 'ok'));
      expect((await post(server.url)).status).to.equal(503);
      expect(server.requests).to.have.length(3);
    });

    it('sends the idempotent methods again by default', async () => {
      for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
        server.script(reply(503), reply(204));
        const before = server.requests.length;
        const res = await resilientFetch(retrying())(server.url, { method });
        expect(res.status, method).to.equal(204);
        expect(server.requests.length - before, method).to.equal(2);
      }
      for (const method of ['POST', 'PATCH']) {
        server.script(reply(503), reply(204));
        const before = server.requests.length;
        const res = await resilientFetch(retrying())(server.url, { method, body: 'x' });
        expect(res.status, method).to.equal(503);
        expect(server.requests.length - before, method).to.equal(1);
      }
    });

    it('still lets the breaker and the fallback see a POST that failed', async () => {
      server.script(reply(503, 'down'));
      const clock = new ManualClock(1_000);
      const policy = Policy.builder<Response>('http')
        .circuitBreaker({ failureThreshold: 2, recoveryTimeout: '10s', clock })
        .build();
      const http = resilientFetch(policy, { throwOnStatus: true });
      for (let i = 0; i < 2; i++) {
        const e = (await rejectionOf(http(server.url, { method: 'POST' }))) as HttpStatusError;
        expect(e.retryable).to.equal(false);
        await e.response.body?.cancel();
      }
      expect(await rejectionOf(http(server.url, { method: 'POST' }))).to.be.instanceOf(
        CircuitOpenError,
      );
      expect(server.requests).to.have.length(2);
    });

    it('with retryOn: isRetryable, a POST fails at once without retry waits', async () => {
      server.script(reply(503, 'down'));
      const policy = Policy.builder<Response>('http')
        .retry({ maxAttempts: 3, delay: '10s', retryOn: isRetryable })
        .build();
      let retries = 0;
      policy.on('retry', () => retries++);
      const started = Date.now();
      const res = await resilientFetch(policy)(server.url, { method: 'POST' });
      expect(res.status).to.equal(503);
      expect(retries).to.equal(0);
      expect(Date.now() - started).to.be.below(5_000);
      expect(server.requests).to.have.length(1);
    });

    it('does not send a POST again after a per-attempt timeout', async () => {
      server.script(hang);
      const policy = Policy.builder<Response>('http').retry({ maxAttempts: 3 }).timeout(50).build();
      const error = await rejectionOf(resilientFetch(policy)(server.url, { method: 'POST' }));
      expect(error).to.be.instanceOf(OperationTimeoutError);
      expect(isRetryable(error)).to.equal(false);
      // On a busy machine the server may read the request only after the client gave up on it.
      expect(await waitFor(() => server.requests.length, 1)).to.equal(1);
      await (server.requests[0] as { closed: Promise<void> }).closed;
      expect(server.requests).to.have.length(1);
    });

    it('repeats the first outcome of a POST that failed on the network, without sending it again', async () => {
      let calls = 0;
      const failing: FetchFunction = () => {
        calls++;
        return Promise.reject(new TypeError('fetch failed'));
      };
      const http = resilientFetch(retrying(), { fetch: failing });
      const error = await rejectionOf(http('http://127.0.0.1:1/', { method: 'POST' }));
      expect(error).to.be.instanceOf(TypeError);
      expect(isRetryable(error)).to.equal(false);
      expect(calls).to.equal(1);

      const get = await rejectionOf(http('http://127.0.0.1:1/'));
      expect(isRetryable(get)).to.equal(true);
      expect(calls).to.equal(4);
    });
  });

  describe('bodies', () => {
    const replayable: Array<[string, () => BodyInit, string]> = [
      ['a string', () => 'text body', 'text body'],
      ['bytes', () => new TextEncoder().encode('bytes body'), 'bytes body'],
      ['an ArrayBuffer', () => new TextEncoder().encode('buffer').buffer as ArrayBuffer, 'buffer'],
      ['URLSearchParams', () => new URLSearchParams({ a: '1', b: '2' }), 'a=1&b=2'],
      ['a Blob', () => new Blob(['blob body']), 'blob body'],
    ];
    for (const [what, make, sent] of replayable) {
      it(`re-sends ${what} on each attempt`, async () => {
        server.script(reply(503), reply(503), reply(200));
        const res = await resilientFetch(retrying())(server.url, { method: 'PUT', body: make() });
        expect(res.status).to.equal(200);
        expect(server.requests.map((r) => r.body)).to.deep.equal([sent, sent, sent]);
      });
    }

    it('re-sends FormData on each attempt', async () => {
      server.script(reply(503), reply(200));
      const form = new FormData();
      form.set('field', 'value');
      const res = await resilientFetch(retrying())(server.url, { method: 'PUT', body: form });
      expect(res.status).to.equal(200);
      expect(server.requests).to.have.length(2);
      for (const r of server.requests) expect(r.body).to.contain('value');
    });

    it("re-sends a Request's own body, cloned for each attempt", async () => {
      server.script(reply(503), reply(200));
      const request = new Request(server.url, { method: 'PUT', body: 'from request' });
      const res = await resilientFetch(retrying())(request);
      expect(res.status).to.equal(200);
      expect(server.requests.map((r) => r.body)).to.deep.equal(['from request', 'from request']);
    });

    it('refuses a Request whose body was used, as fetch does, before any stage sees it', async () => {
      const request = new Request(server.url, { method: 'PUT', body: 'once' });
      await request.text();
      const policy = Policy.builder<Response>('http')
        .retry({ maxAttempts: 3 })
        .circuitBreaker({ failureThreshold: 1, recoveryTimeout: 60_000 })
        .build();
      const attempts: number[] = [];
      policy.on('attempt', (event) => attempts.push(event.attempt));
      const http = resilientFetch(policy);
      const error = await rejectionOf(http(request));
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.equal(
        "resilientFetch: the Request's body has already been used; make a new Request, " +
          'or send a clone() made before its body was read',
      );
      expect(attempts).to.deep.equal([]);
      expect(server.requests).to.have.length(0);
      // The caller's mistake opened no breaker: the next call goes through.
      expect((await http(server.url)).status).to.equal(200);
    });

    it("sends init.body in place of a used Request's own, as fetch does", async () => {
      server.script(reply(503), reply(200));
      const request = new Request(server.url, { method: 'PUT', body: 'once' });
      await request.text();
      const res = await resilientFetch(retrying())(request, { body: 'instead' });
      expect(res.status).to.equal(200);
      expect(server.requests.map((r) => r.body)).to.deep.equal(['instead', 'instead']);
    });

    it('sends a stream body once and never retries it', async () => {
      server.script(reply(503, 'down'), reply(200));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed'));
          controller.close();
        },
      });
      const init = { method: 'PUT', body, duplex: 'half' } as RequestInit;
      const res = await resilientFetch(retrying())(server.url, init);
      expect(res.status).to.equal(503);
      expect(server.requests.map((r) => r.body)).to.deep.equal(['streamed']);
    });
  });

  describe('signals and sockets', () => {
    it('passes ctx.signal to each attempt, so a per-attempt timeout ends the request', async () => {
      server.script(hang, reply(200, 'ok'));
      const policy = Policy.builder<Response>('http')
        .retry({ maxAttempts: 2 })
        .timeout(100)
        .build();
      const res = await resilientFetch(policy)(server.url);
      expect(await res.text()).to.equal('ok');
      await (server.requests[0] as { closed: Promise<void> }).closed;
    });

    it('rejects with the timeout when every attempt times out', async () => {
      server.script(hang);
      const policy = Policy.builder<Response>('http').timeout(50).build();
      const error = await rejectionOf(resilientFetch(policy)(server.url));
      expect(error).to.be.instanceOf(OperationTimeoutError);
      await (server.requests[0] as { closed: Promise<void> }).closed;
    });

    it("closes the socket when the caller aborts, and rejects with the caller's reason", async () => {
      server.script(hang);
      const controller = new AbortController();
      const call = resilientFetch(retrying())(server.url, { signal: controller.signal });
      await waitFor(() => server.requests.length, 1);
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(await rejectionOf(call)).to.equal(reason);
      await (server.requests[0] as { closed: Promise<void> }).closed;
      expect(await waitFor(() => server.connections(), 0)).to.equal(0);
    });

    it("links a Request's own signal and init.signal, and keeps one listener only while a response may be read", async () => {
      server.script(hang);
      const own = new AbortController();
      const other = new AbortController();
      const request = new Request(server.url, { signal: own.signal });
      const call = resilientFetch(retrying())(request, { signal: other.signal });
      await waitFor(() => server.requests.length, 1);
      own.abort(new Error('request aborted'));
      expect(((await rejectionOf(call)) as Error).message).to.equal('request aborted');
      await (server.requests[0] as { closed: Promise<void> }).closed;

      server.script(reply(200));
      const done = new AbortController();
      const http = resilientFetch(retrying());
      for (let i = 0; i < 3; i++) {
        await http(new Request(server.url, { signal: done.signal }), { signal: other.signal });
      }
      // The calls' links are gone; their responses follow both signals (one listener for all)
      // until they are collected or a signal aborts.
      expect(getEventListeners(other.signal, 'abort')).to.have.length(1);
      done.abort();
      expect(getEventListeners(other.signal, 'abort')).to.have.length(0);
    });

    it('cancels the bodies of responses it discards, so no socket stays open', async () => {
      // 503s whose bodies never end: only cancelling them frees their connections.
      const endless: Handler = (_req, res) => {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.write('partial');
      };
      server.script(endless, endless, reply(200, 'ok', { connection: 'close' }));
      const res = await resilientFetch(retrying())(server.url);
      expect(await res.text()).to.equal('ok');
      expect(server.requests).to.have.length(3);
      // The server sees the discarded responses' connections close. Node's fetch may open one
      // idle spare connection after a destroyed one; without the cancels there would be three.
      await Promise.all(server.requests.slice(0, 2).map((r) => r.closed));
      expect(
        await waitFor(
          () => server.connections(),
          (n) => n <= 1,
        ),
      ).to.be.at.most(1);
    });

    describe('cancels a success response the policy rejects', () => {
      // A 200 whose body never ends: only a cancel frees its connection.
      const endless: Handler = (_req, res) => {
        res.writeHead(200, { 'x-retry': '1' });
        res.write('partial');
      };
      const rejected = (res: Response) => res.headers.get('x-retry') === '1';
      const closedSoon = (i: number) =>
        Promise.race([
          (server.requests[i] as { closed: Promise<void> }).closed.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_000)),
        ]);
      const cases = {
        "by a retry's retryOnResult": () =>
          Policy.builder<Response>('http').retry({ maxAttempts: 2, retryOnResult: rejected }),
        "by a hedge's on": () =>
          Policy.builder<Response>('http').hedge({
            maxHedges: 1,
            delay: 'on-failure',
            on: (o) => !o.ok || rejected(o.result),
          }),
        "by a fallback's onResult, once its method has answered": () =>
          Policy.builder<Response>('http').fallback({
            onResult: rejected,
            method: (e) => {
              // Still readable in the method.
              expect((e as { result: Response }).result.bodyUsed).to.equal(false);
              return new Response('cached');
            },
          }),
      };
      for (const [name, builder] of Object.entries(cases)) {
        it(name, async () => {
          server.script(endless, reply(200, 'fresh'));
          const res = await resilientFetch(builder().build())(server.url);
          expect(await res.text()).to.be.oneOf(['fresh', 'cached']);
          expect(await closedSoon(0)).to.equal(true);
        });
      }
    });

    it('cancels the held response when the policy ends with another error', async () => {
      const endless: Handler = (_req, res) => {
        res.writeHead(503);
        res.write('partial');
      };
      server.script(endless);
      const clock = new ManualClock(1_000);
      const policy = Policy.builder<Response>('http')
        .retry({ maxAttempts: 2 })
        .circuitBreaker({ failureThreshold: 1, recoveryTimeout: '1m', clock })
        .build();
      const error = await rejectionOf(resilientFetch(policy)(server.url));
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(server.requests).to.have.length(1);
      await (server.requests[0] as { closed: Promise<void> }).closed;
      expect(
        await waitFor(
          () => server.connections(),
          (n) => n <= 1,
        ),
      ).to.be.at.most(1);
    });
  });

  describe('transport', () => {
    it('uses an injected fetch', async () => {
      const calls: unknown[] = [];
      const fake: FetchFunction = (input, init) => {
        calls.push([input, init?.method]);
        return Promise.resolve(
          new Response(calls.length < 2 ? null : 'ok', { status: calls.length < 2 ? 503 : 200 }),
        );
      };
      const res = await resilientFetch(retrying(), { fetch: fake })('https://example.test/', {
        method: 'GET',
      });
      expect(await res.text()).to.equal('ok');
      expect(calls).to.deep.equal([
        ['https://example.test/', 'GET'],
        ['https://example.test/', 'GET'],
      ]);
    });

    it('looks the global fetch up at each call', async () => {
      const http = resilientFetch(retrying(1));
      const original = globalThis.fetch;
      globalThis.fetch = () => Promise.resolve(new Response('stubbed'));
      try {
        expect(await (await http('https://example.test/')).text()).to.equal('stubbed');
      } finally {
        globalThis.fetch = original;
      }
    });
  });

  describe('validation', () => {
    it('refuses a policy without execute with an OptionTypeError naming `policy`', () => {
      for (const [policy, got] of [
        [{}, 'an object'],
        [undefined, 'undefined'],
        [null, 'null'],
        [{ execute: 1 }, 'an object'],
      ] as const) {
        const thrown = rejectionOfSync(() => resilientFetch(policy as never));
        expect(thrown, got).to.be.instanceOf(OptionTypeError);
        expect(isOptionError(thrown), got).to.equal(true);
        expect(thrown, got).to.include({
          option: 'policy',
          expected: 'a Policy (an object with execute())',
          received: policy,
        });
        expect((thrown as Error).message).to.equal(
          `\`policy\` must be a Policy (an object with execute()), got ${got}`,
        );
      }
    });

    it('refuses bad options with option errors naming the option and the value', () => {
      const p = retrying();
      const cases: Array<
        [unknown, typeof OptionTypeError | typeof OptionRangeError, object, string]
      > = [
        [
          { fetch: 1 },
          OptionTypeError,
          { option: 'fetch', received: 1 },
          '`fetch` must be a function, got 1',
        ],
        [
          { retryStatuses: 503 },
          OptionTypeError,
          { option: 'retryStatuses', received: 503 },
          '`retryStatuses` must be an array of integers in [100, 599], got 503',
        ],
        [
          { retryStatuses: 'x' },
          OptionTypeError,
          { option: 'retryStatuses', received: 'x' },
          '`retryStatuses` must be an array of integers in [100, 599], got "x"',
        ],
        [
          { retryStatuses: [503, 600] },
          OptionRangeError,
          { option: 'retryStatuses[1]', expected: 'an integer in [100, 599]', received: 600 },
          '`retryStatuses[1]` must be an integer in [100, 599], got 600',
        ],
        [
          { retryStatuses: [99] },
          OptionRangeError,
          { option: 'retryStatuses[0]', received: 99 },
          '`retryStatuses[0]` must be an integer in [100, 599], got 99',
        ],
        [
          { retryStatuses: [1.5] },
          OptionRangeError,
          { option: 'retryStatuses[0]', received: 1.5 },
          '`retryStatuses[0]` must be an integer in [100, 599], got 1.5',
        ],
        [
          { retryStatuses: ['503'] },
          OptionTypeError,
          { option: 'retryStatuses[0]', received: '503' },
          '`retryStatuses[0]` must be an integer in [100, 599], got "503"',
        ],
        [
          { retryMethods: 'GET' },
          OptionTypeError,
          { option: 'retryMethods', received: 'GET' },
          '`retryMethods` must be an array of method names, got "GET"',
        ],
        [
          { retryMethods: ['GET', 'BAD METHOD'] },
          OptionTypeError,
          { option: 'retryMethods[1]', expected: 'a method name', received: 'BAD METHOD' },
          '`retryMethods[1]` must be a method name, got "BAD METHOD"',
        ],
        [
          { retryMethods: [1] },
          OptionTypeError,
          { option: 'retryMethods[0]', received: 1 },
          '`retryMethods[0]` must be a method name, got 1',
        ],
        [
          { throwOnStatus: 'yes' },
          OptionTypeError,
          { option: 'throwOnStatus', expected: 'a boolean', received: 'yes' },
          '`throwOnStatus` must be a boolean, got "yes"',
        ],
        [
          { retryStatus: [503] },
          OptionTypeError,
          { option: 'retryStatus' },
          'resilientFetch: unknown option `retryStatus` (did you mean `retryStatuses`?)',
        ],
      ];
      for (const [options, Class, fields, message] of cases) {
        const label = JSON.stringify(options);
        let thrown: unknown;
        try {
          resilientFetch(p, options as never);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, label).to.be.instanceOf(Class);
        expect(isOptionError(thrown), label).to.equal(true);
        expect(thrown, label).to.include(fields);
        expect((thrown as Error).message, label).to.equal(message);
      }
    });
  });
});
