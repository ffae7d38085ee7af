// What a log shows of a failed request: HttpStatusError names the request (method and URL,
// without its secrets) and serialises as data.
import { expect } from 'chai';
import { HttpStatusError, resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf } from '../support/promises.js';

import { reply, startServer, type TestServer } from './server.js';

describe('resilientFetch: the HttpStatusError of a failure status', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  it('names the method and the URL without query string, fragment or credentials', async () => {
    server.script(reply(503, 'busy', { 'retry-after': '1' }));
    const http = resilientFetch(Policy.builder<Response>('users-api').build(), {
      throwOnStatus: true,
    });
    const port = new URL(server.url).port;
    const url = `http://alice:s3cret@127.0.0.1:${port}/users/42?api_key=secret#part`;
    // Node's fetch refuses a URL with credentials: the transport sends the request without them.
    const forward = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const target = new URL(String(input));
      target.username = '';
      target.password = '';
      return fetch(target, init);
    };
    const error = (await rejectionOf(
      resilientFetch(Policy.builder<Response>('users-api').build(), {
        throwOnStatus: true,
        fetch: forward,
      })(url, { method: 'delete' }),
    )) as HttpStatusError;
    expect(error).to.be.instanceOf(HttpStatusError);
    expect(error.message).to.equal(
      `HTTP status 503 Service Unavailable (DELETE http://127.0.0.1:${port}/users/42)`,
    );
    expect(String(error)).to.equal(`HttpStatusError: ${error.message}`);
    const logged = JSON.stringify({ err: error });
    for (const secret of ['alice', 's3cret', 'api_key', 'secret', 'part']) {
      expect(logged, secret).not.to.include(secret);
    }
    expect(JSON.parse(logged).err).to.deep.equal({
      name: 'HttpStatusError',
      code: 'HTTP_STATUS',
      message: error.message,
      status: 503,
      statusText: 'Service Unavailable',
      method: 'DELETE',
      url: `http://127.0.0.1:${port}/users/42`,
      retryAfterMs: 1000,
      retryable: true,
    });
    await error.response.body?.cancel();

    server.script(reply(502));
    const plain = (await rejectionOf(http(`${server.url}a/b?x=1`))) as HttpStatusError;
    expect(plain.message).to.equal(`HTTP status 502 Bad Gateway (GET ${server.url}a/b)`);
    await plain.response.body?.cancel();
  });
});

describe('HttpStatusError: the URL it shows', () => {
  it("is read once for a request's failing attempts, however many fail", async () => {
    const url = 'http://127.0.0.1/users/42?token=secret';
    const parsed: string[] = [];
    const Original = globalThis.URL;
    globalThis.URL = class extends Original {
      constructor(input: string | URL, base?: string | URL) {
        super(input, base);
        parsed.push(String(input));
      }
    };
    let errors: HttpStatusError[];
    try {
      const policy = Policy.builder<Response>('api').retry({ maxAttempts: 3, delay: 0 }).build();
      const seen: HttpStatusError[] = [];
      policy.on('retry', (e) => seen.push(e.error as HttpStatusError));
      const last = (await rejectionOf(
        resilientFetch(policy, {
          throwOnStatus: true,
          fetch: async () => new Response(null, { status: 503 }),
        })(url),
      )) as HttpStatusError;
      errors = [...seen, last];
    } finally {
      globalThis.URL = Original;
    }
    expect(errors).to.have.length(3);
    for (const error of errors) expect(error.url).to.equal('http://127.0.0.1/users/42');
    expect(parsed.filter((input) => input === url)).to.have.length(1);
  });

  it('follows options given again with another URL', () => {
    const response = new Response(null, { status: 503 });
    const options = { url: 'http://a.example/x?key=1' };
    expect(new HttpStatusError(response, options).url).to.equal('http://a.example/x');
    options.url = 'http://b.example/y?key=2';
    expect(new HttpStatusError(response, options).url).to.equal('http://b.example/y');
    expect(new HttpStatusError(response, options).url).to.equal('http://b.example/y');
  });
});
