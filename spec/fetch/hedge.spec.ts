// resilientFetch through a hedge, against a real node:http server on 127.0.0.1: attempts run at
// once, so several failure responses may be held at one time; every one the caller does not get
// is cancelled, which closes its connection.
import { expect } from 'chai';
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { startServer, type Handler, type Seen, type TestServer } from './server.js';

/** A 503 whose body never ends, sent after `ms`: only a cancel frees its connection. */
const endless503 =
  (ms: number): Handler =>
  (_req, res) => {
    const timer = setTimeout(() => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.write('partial');
    }, ms);
    res.on('close', () => clearTimeout(timer));
  };

/** True when the server saw the request's connection close within `ms`. */
async function closedWithin(seen: Seen | undefined, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const closed = (seen as Seen).closed.then(() => true);
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('resilientFetch through a hedge', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  for (const [name, first, second] of [
    ['the first attempt answers last', 80, 0],
    ['the first attempt answers first', 20, 60],
  ] as const) {
    it(`cancels the failure response it does not return when both attempts fail (${name})`, async () => {
      server.script(endless503(first), endless503(second));
      const policy = Policy.builder<Response>('h').hedge({ maxHedges: 1, delay: 10 }).build();
      const res = await resilientFetch(policy)(server.url);
      expect(res.status).to.equal(503);
      expect(server.requests).to.have.length(2);
      await res.body?.cancel();
      const closed = await Promise.all(server.requests.map((r) => closedWithin(r, 1000)));
      expect(closed).to.deep.equal([true, true]);
    });
  }

  it('throws the error of the response it would return, with throwOnStatus, and cancels the other', async () => {
    server.script(endless503(80), endless503(0));
    const policy = Policy.builder<Response>('h').hedge({ maxHedges: 1, delay: 10 }).build();
    const error = await resilientFetch(policy, { throwOnStatus: true })(server.url).then(
      () => undefined,
      (e: unknown) => e as { response: Response },
    );
    expect(error?.response.status).to.equal(503);
    await error?.response.body?.cancel();
    const closed = await Promise.all(server.requests.map((r) => closedWithin(r, 1000)));
    expect(closed).to.deep.equal([true, true]);
  });
});
