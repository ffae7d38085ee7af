// Redirect failures (a loop, a redirect met with `redirect: 'error'`) can never succeed by
// sending the request again: resilientFetch sends them once, against a real node:http server on
// 127.0.0.1 through Node's own fetch, and recognises the other runtimes' wording by their shapes.
import { rejectionOf } from '../support/promises.js';
import { expect } from 'chai';
import {
  isHttpStatusError,
  isRetryable,
  resilientFetch,
  type FetchFunction,
} from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

import { reply, startServer, type Handler, type TestServer } from './server.js';

function retrying(maxAttempts = 3) {
  return Policy.builder<Response>('http').retry({ maxAttempts }).build();
}

/** A transport that fails every call with `error()`, and counts its calls. */
function failing(error: () => unknown): { fetch: FetchFunction; calls: () => number } {
  let calls = 0;
  return {
    fetch: () => {
      calls++;
      return Promise.reject(error());
    },
    calls: () => calls,
  };
}

describe('resilientFetch: redirect failures', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  it("retries a status met after a redirect from the request's own URL, which its error names", async () => {
    const hop: Handler = (_req, res) => {
      res.writeHead(302, { location: '/moved' });
      res.end();
    };
    server.script(hop, reply(503, 'busy'), hop, reply(200, 'ok'));
    const http = resilientFetch(retrying(2));
    const res = await http(`${server.url}start?token=secret`);
    expect(await res.text()).to.equal('ok');
    expect(res.redirected).to.equal(true);
    expect(res.url).to.equal(`${server.url}moved`);
    const paths = ['/start?token=secret', '/moved'];
    expect(server.requests.map((r) => r.url)).to.deep.equal([...paths, ...paths]);

    server.script(hop, reply(503, 'busy'));
    const error = await rejectionOf(
      resilientFetch(retrying(1), { throwOnStatus: true })(`${server.url}start?token=secret`),
    );
    expect(isHttpStatusError(error)).to.equal(true);
    if (!isHttpStatusError(error)) return;
    expect(error.url).to.equal(`${server.url}start`);
    expect(error.response.url).to.equal(`${server.url}moved`);
  });

  it("sends a redirect loop once, and rejects with fetch's own error marked not retryable", async () => {
    server.script(reply(302, '', { location: server.url }));
    // What one fetch of the loop costs: the request and every redirect the transport follows.
    const plain = await rejectionOf(fetch(server.url));
    const once = server.requests.length;
    expect(once).to.be.above(1);
    expect((plain as Error).name).to.equal('TypeError');

    const error = await rejectionOf(resilientFetch(retrying())(server.url));
    expect(server.requests).to.have.length(2 * once);
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).cause).to.have.property('message', 'redirect count exceeded');
    expect(Object.getOwnPropertyDescriptor(error, 'retryable')).to.include({
      value: false,
      enumerable: false,
    });
    expect(isRetryable(error)).to.equal(false);
  });

  it("sends a request with redirect: 'error' once when it meets a redirect", async () => {
    server.script(reply(307, '', { location: `${server.url}elsewhere` }));
    const error = await rejectionOf(resilientFetch(retrying())(server.url, { redirect: 'error' }));
    expect(server.requests).to.have.length(1);
    expect((error as Error).cause).to.have.property('message', 'unexpected redirect');
    expect(isRetryable(error)).to.equal(false);
  });

  it('is not retried by a retryOn that would retry any error', async () => {
    server.script(reply(302, '', { location: server.url }));
    let asked = 0;
    const policy = Policy.builder<Response>('http')
      .retry({
        maxAttempts: 3,
        retryOn: () => {
          asked++;
          return true;
        },
      })
      .build();
    await rejectionOf(resilientFetch(policy)(server.url, { redirect: 'error' }));
    expect(asked).to.equal(0);
    expect(server.requests).to.have.length(1);
  });

  it('still retries a network error that is not a redirect failure', async () => {
    const { fetch, calls } = failing(
      () => new TypeError('fetch failed', { cause: new Error('other side closed') }),
    );
    const error = await rejectionOf(resilientFetch(retrying(), { fetch })('https://api.test/'));
    expect(calls()).to.equal(3);
    expect(isRetryable(error)).to.equal(true);
  });

  describe("recognises each runtime's redirect failures", () => {
    const withCode = (message: string, props: Record<string, unknown>) =>
      Object.assign(new Error(message), props);
    const cases: Record<string, () => unknown> = {
      'Node (undici): a loop': () =>
        new TypeError('fetch failed', { cause: new Error('redirect count exceeded') }),
      "Node (undici): redirect: 'error'": () =>
        new TypeError('fetch failed', { cause: new Error('unexpected redirect') }),
      'Deno: a loop': () => new TypeError('Fetch failed: Maximum number of redirects (20) reached'),
      "Deno: redirect: 'error'": () =>
        new TypeError("Fetch failed: Encountered redirect while redirect mode is set to 'error'"),
      'Bun: a loop': () =>
        withCode('The response redirected too many times.', { code: 'TooManyRedirects' }),
      "Bun: redirect: 'error'": () => withCode('fetch() failed.', { code: 'UnexpectedRedirect' }),
      'node-fetch: a loop': () =>
        withCode('maximum redirect reached at: https://api.test/', { type: 'max-redirect' }),
      "node-fetch: redirect: 'error'": () =>
        withCode('uri requested responds with a redirect', { type: 'no-redirect' }),
      'a wrapping error, two causes down': () =>
        new Error('request failed', {
          cause: new TypeError('fetch failed', { cause: new Error('redirect count exceeded') }),
        }),
    };
    for (const [name, error] of Object.entries(cases)) {
      it(name, async () => {
        const { fetch, calls } = failing(error);
        const thrown = await rejectionOf(
          resilientFetch(retrying(), { fetch })('https://api.test/'),
        );
        expect(calls()).to.equal(1);
        expect(isRetryable(thrown)).to.equal(false);
        // Known as such before resilientFetch marks it, too.
        expect(isRetryable(error())).to.equal(false);
      });
    }

    const others: Record<string, () => unknown> = {
      "a browser's network error": () => new TypeError('Failed to fetch'),
      'a message that only mentions a redirect': () =>
        new TypeError('fetch failed', { cause: new Error('redirect count exceeded, then reset') }),
      'a message read through a getter (not run)': () =>
        new TypeError('fetch failed', {
          cause: Object.defineProperty(new Error(), 'message', {
            get: () => 'unexpected redirect',
          }),
        }),
      'a cause chain deeper than four errors': () => {
        let error: Error = new Error('redirect count exceeded');
        for (let i = 0; i < 4; i++) error = new Error('wrapped', { cause: error });
        return error;
      },
      'an error that is its own cause': () => {
        const error = new TypeError('fetch failed');
        Object.defineProperty(error, 'cause', { value: error });
        return error;
      },
    };
    for (const [name, error] of Object.entries(others)) {
      it(`but not ${name}`, async () => {
        const { fetch, calls } = failing(error);
        await rejectionOf(resilientFetch(retrying(), { fetch })('https://api.test/'));
        expect(calls()).to.equal(3);
      });
    }
  });

  it("never marks the caller's abort reason, even one worded as a redirect failure", async () => {
    const controller = new AbortController();
    const reason = new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
    // The caller aborts while the request is under way, and the transport rejects with its reason.
    const fetch: FetchFunction = () => {
      controller.abort(reason);
      return Promise.reject(reason);
    };
    const error = await rejectionOf(
      resilientFetch(retrying(), { fetch })('https://api.test/', { signal: controller.signal }),
    );
    expect(error).to.equal(reason);
    expect(Object.getOwnPropertyDescriptor(reason, 'retryable')).to.equal(undefined);
  });
});
