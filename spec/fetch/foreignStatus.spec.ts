// isRetryable judges another HTTP client's error by the status it carries, in the shapes of
// axios, got, ky, undici, superagent and http-errors, with the statuses resilientFetch retries.
import { expect } from 'chai';
import { isCircuitOpenError } from '../../src/errors.js';
import { isRetryable } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { reply, startServer, type TestServer } from './server.js';

// axios: AxiosError's own `status` and its `response` (a plain object).
function axiosLike(status: number): Error {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    status,
    response: { status, data: 'body', headers: {} },
  });
}
// axios before 1.7: the status only in `response`.
const olderAxiosLike = (status: number): Error =>
  Object.assign(new Error('Request failed'), { response: { status } });
// got: HTTPError's `response` (an IncomingMessage with `statusCode`), own and not enumerable.
function gotLike(statusCode: number, name = 'HTTPError'): Error {
  const error = Object.assign(new Error('Response code'), { name });
  Object.defineProperty(error, 'response', { value: { statusCode }, enumerable: false });
  return error;
}
// ky: HTTPError's `response`, a fetch Response (its `status` a getter).
const kyLike = (status: number): Error =>
  Object.assign(new Error('Request failed'), { response: new Response(null, { status }) });
// undici's ResponseError, http-errors, superagent: own numbers.
const statusCodeLike = (statusCode: number): Error =>
  Object.assign(new Error('Response Error'), { statusCode });
const httpErrorsLike = (status: number): Error =>
  Object.assign(new Error('Not Found'), { status, statusCode: status });

const SHAPES = { axiosLike, olderAxiosLike, gotLike, kyLike, statusCodeLike, httpErrorsLike };

describe('isRetryable, for another HTTP client’s error', () => {
  for (const [shape, make] of Object.entries(SHAPES)) {
    it(`${shape}: true for the statuses resilientFetch retries, false for other failure statuses`, () => {
      for (const status of [408, 425, 429, 500, 502, 503, 504]) {
        expect(isRetryable(make(status)), String(status)).to.equal(true);
      }
      for (const status of [400, 401, 403, 404, 409, 422, 451, 501, 505, 599]) {
        expect(isRetryable(make(status)), String(status)).to.equal(false);
      }
    });
  }

  it('true, as before, without a failure status: a network error, a status below 400, an exit status, a status that is not an integer', () => {
    expect(
      isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
    ).to.equal(true);
    // got's ReadError over a 200: the body failed, not the status.
    expect(isRetryable(gotLike(200, 'ReadError'))).to.equal(true);
    expect(isRetryable(axiosLike(304))).to.equal(true);
    expect(isRetryable(Object.assign(new Error('Command failed'), { status: 1 }))).to.equal(true);
    expect(isRetryable(Object.assign(new Error('x'), { status: '404' }))).to.equal(true);
    expect(isRetryable(Object.assign(new Error('x'), { status: 404.5 }))).to.equal(true);
    expect(isRetryable(Object.assign(new Error('x'), { response: null }))).to.equal(true);
    expect(isRetryable({ response: { status: 404 } })).to.equal(false);
  });

  it('runs no getter of the error, and answers true when a Proxy or a response’s getter throws', () => {
    let reads = 0;
    const getter = Object.defineProperty(new Error('x'), 'status', {
      get: () => {
        reads++;
        return 404;
      },
    });
    expect(isRetryable(getter)).to.equal(true);
    expect(reads).to.equal(0);
    const throwing = Object.assign(new Error('x'), {
      response: {
        get status(): number {
          throw new Error('no');
        },
      },
    });
    expect(isRetryable(throwing)).to.equal(true);
    const hostile = new Proxy(new Error('x'), {
      getOwnPropertyDescriptor() {
        throw new Error('no');
      },
    });
    expect(isRetryable(hostile)).to.equal(true);
  });

  it('a mark or a redirect failure still wins over a retryable status', () => {
    expect(isRetryable(Object.assign(axiosLike(503), { retryable: false }))).to.equal(false);
  });

  describe('as a retry’s retryOn, against a node:http server', () => {
    let server: TestServer;

    beforeEach(async () => {
      server = await startServer();
    });

    afterEach(async () => {
      await server.close();
    });

    async function attempts(status: number, make: (status: number) => Error): Promise<number> {
      server.script(reply(status, 'answer'));
      const before = server.requests.length;
      const policy = Policy.builder<string>('client')
        .retry({
          maxAttempts: 3,
          delay: 0,
          retryOn: (e) => isRetryable(e) && !isCircuitOpenError(e),
        })
        .build();
      await policy
        .execute(async (ctx) => {
          const res = await fetch(server.url, { signal: ctx.signal });
          const text = await res.text();
          if (!res.ok) throw make(res.status);
          return text;
        })
        .catch(() => undefined);
      return server.requests.length - before;
    }

    it('sends a 404 once and a 503 three times, whatever the shape', async () => {
      for (const [shape, make] of Object.entries(SHAPES)) {
        expect(await attempts(404, make), `${shape} 404`).to.equal(1);
        expect(await attempts(503, make), `${shape} 503`).to.equal(3);
      }
    });
  });
});
