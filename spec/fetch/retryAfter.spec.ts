// Waits that listen to the server, end to end: resilientFetch against a real node:http server on
// 127.0.0.1 through Node's own fetch; the retry's waits run on a manual clock.
import { expect } from 'chai';
import { RateLimitExceededError } from '../../src/errors.js';
import { isHttpStatusError, resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { ManualClock } from '../support/clock.js';
import { settle } from '../support/promises.js';
import { reply, startServer, waitFor, type TestServer } from './server.js';

// A short real pause, for requests that must NOT reach the server.
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('resilientFetch with Retry-After', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  it('waits at least the 2 s a 503 asks for in Retry-After, then returns the 200', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<Response>('http')
      .retry({ maxAttempts: 3, delay: 100, clock })
      .build();
    const retries: unknown[] = [];
    policy.on('retry', (e) => retries.push(e.delayMs));
    server.script(reply(503, 'busy', { 'retry-after': '2' }), reply(200, 'ok'));
    const call = settle(resilientFetch(policy)(server.url));
    expect(await waitFor(() => clock.pending(), 1)).to.equal(1);
    expect(clock.delays).to.deep.equal([2000]);
    expect(retries).to.deep.equal([2000]);
    await clock.advance(1999);
    await pause(50);
    expect(server.requests).to.have.length(1);
    await clock.advance(1);
    await waitFor(
      () => call.status,
      (s) => s !== 'pending',
    );
    expect(call.status).to.equal('fulfilled');
    const res = (call as { value: Response }).value;
    expect(res.status).to.equal(200);
    expect(await res.text()).to.equal('ok');
    expect(server.requests).to.have.length(2);
    expect(clock.pending()).to.equal(0);
  });

  it('caps the Retry-After wait at maxRetryAfter', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<Response>('http')
      .retry({ maxAttempts: 2, maxRetryAfter: '500ms', clock })
      .build();
    server.script(reply(429, 'slow down', { 'retry-after': '3600' }), reply(200, 'ok'));
    const call = settle(resilientFetch(policy)(server.url));
    await waitFor(() => clock.pending(), 1);
    expect(clock.delays).to.deep.equal([500]);
    await clock.advance(500);
    await waitFor(
      () => call.status,
      (s) => s !== 'pending',
    );
    expect((call as { value: Response }).value.status).to.equal(200);
  });

  it("waits a RateLimitExceededError's retryAfterMs from a rate limiter inside the retry, then sends", async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<Response>('http')
      .retry({ maxAttempts: 2, delay: 10, clock })
      .rateLimiter({ maxTokens: 1, refillRate: 0.5, clock })
      .build();
    const refused: unknown[] = [];
    policy.on('retry', (e) => refused.push(e.error));
    const http = resilientFetch(policy);
    server.script(reply(200, 'first'), reply(200, 'second'));
    expect(await (await http(server.url)).text()).to.equal('first');
    const call = settle(http(server.url));
    await waitFor(() => clock.pending(), 1);
    expect(refused).to.have.length(1);
    expect(refused[0]).to.be.instanceOf(RateLimitExceededError);
    expect((refused[0] as RateLimitExceededError).retryAfterMs).to.equal(2000);
    expect(clock.delays).to.deep.equal([2000]);
    await clock.advance(1999);
    await pause(50);
    expect(server.requests).to.have.length(1);
    await clock.advance(1);
    await waitFor(
      () => call.status,
      (s) => s !== 'pending',
    );
    expect(await (call as { value: Response }).value.text()).to.equal('second');
    expect(server.requests).to.have.length(2);
  });

  it('does not retry a POST refused with 503 (its error is marked retryable: false)', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder<Response>('http')
      .retry({ maxAttempts: 3, delay: 10, clock })
      .build();
    const retries: unknown[] = [];
    policy.on('retry', (e) => retries.push(e));
    server.script(reply(503, 'once', { 'retry-after': '1' }), reply(200, 'never'));
    const res = await resilientFetch(policy)(server.url, { method: 'POST', body: 'x' });
    expect(res.status).to.equal(503);
    expect(await res.text()).to.equal('once');
    expect(retries).to.deep.equal([]);
    expect(clock.delays).to.deep.equal([]);
    expect(server.requests).to.have.length(1);
  });

  // A hedge inside the retry: its attempt that is not acceptable starts the next one in the next
  // turn, before the retry outside it sees the status.
  for (const [name, on, waits] of [
    [
      'resends at once after a 503, its default `on` taking the status for a failure',
      undefined,
      false,
    ],
    [
      'lets the retry wait the Retry-After when its `on` accepts failure statuses',
      (o: { ok: boolean; error?: unknown }) => !o.ok && !isHttpStatusError(o.error),
      true,
    ],
  ] as const) {
    it(`a hedge inside the retry ${name}`, async () => {
      const clock = new ManualClock();
      const policy = Policy.builder<Response>('http')
        .retry({ maxAttempts: 3, delay: 100, clock })
        .hedge({ maxHedges: 1, delay: '5s', clock, ...(on === undefined ? {} : { on }) })
        .build();
      server.script(reply(503, 'busy', { 'retry-after': '2' }), reply(200, 'ok'));
      const call = settle(resilientFetch(policy)(server.url));
      if (!waits) {
        // No time passes on the clock: the second request goes out at once.
        await waitFor(
          () => call.status,
          (s) => s !== 'pending',
        );
        expect(server.requests).to.have.length(2);
        expect(clock.delays).to.not.include(2000);
        expect((call as { value: Response }).value.status).to.equal(200);
        return;
      }
      await waitFor(() => clock.delays.includes(2000), true);
      await pause(50);
      expect(server.requests).to.have.length(1);
      await clock.advance(2000);
      await waitFor(
        () => call.status,
        (s) => s !== 'pending',
      );
      expect(server.requests).to.have.length(2);
      expect((call as { value: Response }).value.status).to.equal(200);
    });
  }
});
