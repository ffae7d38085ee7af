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
