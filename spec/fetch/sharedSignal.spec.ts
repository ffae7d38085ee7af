// A long-lived signal given to every call (a server's shutdown signal, a request's signal shared
// by the calls it fans out to) keeps one abort listener, however many calls are in flight.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { settle, type Settled } from '../support/promises.js';

const CALLS = 10_000;

/** A transport whose requests stay in flight until `answer` is called. */
function pending(): { fetch: FetchFunction; answer(): void } {
  const waiting: Array<(response: Response) => void> = [];
  return {
    fetch: () => new Promise<Response>((resolve) => waiting.push(resolve)),
    answer: () => {
      for (const resolve of waiting.splice(0)) resolve(new Response('ok'));
    },
  };
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

describe('resilientFetch: a long-lived signal shared by many calls', function () {
  // Thousands of calls: about a second each alone, more on a busy machine.
  this.timeout(60_000);
  // Two caller's signals, `init.signal` and a Request's own, which each call links.
  for (const aborting of ['init.signal', "the Request's own signal"] as const) {
    it(`keeps one listener on each caller's signal for ${CALLS} calls in flight, which all hear ${aborting} abort`, async () => {
      const transport = pending();
      const http = resilientFetch(Policy.builder<Response>('api').build(), {
        fetch: transport.fetch,
      });
      const shutdown = new AbortController();
      const incoming = new AbortController();
      // A Request follows the signal it is given with a signal of its own.
      const request = new Request('http://localhost/items', { signal: incoming.signal });
      const calls: Array<Settled<Response>> = [];
      for (let i = 0; i < CALLS; i++) {
        calls.push(settle(http(request, { signal: shutdown.signal })));
      }
      // Every request is on its way.
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls.every((c) => c.status === 'pending')).to.equal(true);
      expect(listeners(shutdown.signal)).to.equal(1);
      expect(listeners(request.signal)).to.equal(1);
      const reason = new Error('shutting down');
      (aborting === 'init.signal' ? shutdown : incoming).abort(reason);
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls.filter((c) => c.status === 'rejected' && c.reason === reason)).to.have.length(
        CALLS,
      );
      expect(listeners(shutdown.signal)).to.equal(0);
      expect(listeners(request.signal)).to.equal(0);
      transport.answer();
    });
  }
});

describe("resilientFetch: a shared init.signal and each Request's own signal", () => {
  // A policy with a deadline sends each request with a signal of its own, following the
  // attempt's signal and both of the caller's.
  for (const [name, policy] of [
    ['no deadline', () => Policy.builder<Response>('api').build()],
    ['a deadline', () => Policy.builder<Response>('api').timeout('2s').build()],
    [
      'retries and a deadline per attempt',
      () => Policy.builder<Response>('api').retry({ maxAttempts: 2 }).timeout('2s').build(),
    ],
  ] as const) {
    it(`keeps one listener on the shared signal, with ${name}`, async () => {
      const transport = pending();
      const http = resilientFetch(policy(), { fetch: transport.fetch });
      const shared = new AbortController();
      const own = Array.from({ length: 50 }, () => new AbortController());
      const promises = own.map((c, i) =>
        http(new Request(`http://localhost/x${i}`, { signal: c.signal }), {
          signal: shared.signal,
        }),
      );
      const calls = promises.map((p) => settle(p));
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls.every((c) => c.status === 'pending')).to.equal(true);
      expect(listeners(shared.signal)).to.equal(1);
      // Each call's own signal still stops that call alone.
      own[0]?.abort(new Error('first'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls.filter((c) => c.status === 'rejected')).to.have.length(1);
      transport.answer();
      const responses = await Promise.all(promises.slice(1));
      await Promise.all(responses.map((r) => r.body?.cancel()));
      // A response being read still follows the shared signal; a discarded one does not.
      expect(listeners(shared.signal)).to.be.at.most(1);
    });
  }
});
