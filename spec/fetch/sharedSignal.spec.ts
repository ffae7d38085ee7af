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

/**
 * A transport that listens on the signal of each request it is given until the request is
 * collected, as undici (Node's `fetch`) does: a listener per request on a signal the caller
 * shares would stay there. Answers at once with a small body.
 */
function listening(): { fetch: FetchFunction; signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    fetch: (_input, init) => {
      const signal = init?.signal;
      if (signal != null) {
        signals.push(signal);
        signal.addEventListener('abort', () => {});
      }
      return Promise.resolve(new Response('ok'));
    },
  };
}

describe('resilientFetch: a long-lived signal and a transport that listens on it', () => {
  // No stage of these makes a signal of its own: each attempt's signal is the caller's.
  for (const [name, policy] of [
    ['no stages', () => Policy.builder<Response>('api').build()],
    ['a retry only', () => Policy.builder<Response>('api').retry({ maxAttempts: 2 }).build()],
    [
      'a bulkhead and a circuit breaker',
      () =>
        Policy.builder<Response>('api')
          .bulkhead({ maxConcurrent: 50 })
          .circuitBreaker({ failureThreshold: 5, recoveryTimeout: '30s' })
          .build(),
    ],
  ] as const) {
    it(`keeps one listener on the shared signal over many calls, with ${name}`, async () => {
      const transport = listening();
      const http = resilientFetch(policy(), { fetch: transport.fetch });
      const shutdown = new AbortController();
      const responses: Response[] = [];
      for (let i = 0; i < 50; i++) {
        const res = await http('http://localhost/items', { signal: shutdown.signal });
        await res.text();
        responses.push(res);
      }
      // Each body read to its end: no request follows the shared signal any more, without a GC.
      expect(listeners(shutdown.signal)).to.equal(0);
      // The transport got a signal of each request's own, not the shared one.
      expect(transport.signals).to.have.length(50);
      expect(transport.signals).to.not.include(shutdown.signal);
      expect(new Set(transport.signals).size).to.equal(50);
      // Responses whose bodies are not read yet follow it, through one listener.
      for (let i = 0; i < 3; i++)
        responses.push(await http('http://localhost/items', { signal: shutdown.signal }));
      expect(listeners(shutdown.signal)).to.equal(1);
      // The shared signal's abort still reaches every request whose body may still be read,
      // and no request whose body was read.
      const reason = new Error('shutting down');
      shutdown.abort(reason);
      expect(transport.signals.slice(50).every((s) => s.aborted && s.reason === reason)).to.equal(
        true,
      );
      expect(transport.signals.slice(0, 50).some((s) => s.aborted)).to.equal(false);
      expect(listeners(shutdown.signal)).to.equal(0);
    });
  }

  it('hands the transport a signal of its own only when the caller gave one', async () => {
    const transport = listening();
    const http = resilientFetch(Policy.builder<Response>('api').retry({ maxAttempts: 2 }).build(), {
      fetch: transport.fetch,
    });
    await (await http('http://localhost/items')).text();
    // The policy's never-aborting signal, the same for every call: nothing was made for it.
    await (await http('http://localhost/items')).text();
    expect(transport.signals).to.have.length(2);
    expect(transport.signals[0]).to.equal(transport.signals[1]);
    expect(transport.signals[0]?.aborted).to.equal(false);
  });
});
