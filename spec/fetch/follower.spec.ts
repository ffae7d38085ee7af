// A request sent for a call given a signal follows that signal only until nothing can need it:
// its response has no body, or the body was read to its end or failed (and, with a
// `bodyTimeout`, cancelled). Until then the caller's abort still errors the body being read.
// Seen without a GC: the caller's signal keeps its listener only while some request follows it.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf } from '../support/promises.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/**
 * A transport answering with `make()`'s body: a stream that errors with the request's signal's
 * reason when it aborts, as a transport's body does.
 */
function transport(make: () => BodyInit | null, status = 200): FetchFunction {
  return (_input, init) => {
    const body = make();
    if (!(body instanceof ReadableStream)) return Promise.resolve(new Response(body, { status }));
    const reader = body.getReader();
    const signal = init?.signal;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true });
      },
      async pull(controller) {
        const { done, value } = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
        if (done) controller.close();
        else controller.enqueue(value);
      },
    });
    return Promise.resolve(new Response(stream, { status }));
  };
}

/** A body that sends `chunk` and then nothing more until cancelled. */
function stalled(chunk = 'part'): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(chunk));
    },
  });
}

/** No stage of it makes a signal of its own: each attempt's signal is the caller's. */
const retryOnly = () => Policy.builder<Response>('api').retry({ maxAttempts: 2 }).build();

describe("resilientFetch: a request follows the caller's signal until its body is done", () => {
  it('stops following once the body was read to its end, the response kept', async () => {
    const http = resilientFetch(retryOnly(), { fetch: transport(() => 'ok') });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    expect(listeners(shared.signal)).to.equal(1);
    expect(await res.text()).to.equal('ok');
    expect(listeners(shared.signal)).to.equal(0);
    expect(res.status).to.equal(200);
  });

  it('does not follow for a response without a body', async () => {
    const http = resilientFetch(retryOnly(), { fetch: transport(() => null, 204) });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    expect(res.body).to.equal(null);
    expect(listeners(shared.signal)).to.equal(0);
  });

  it('stops following once reading the body failed', async () => {
    const failing = new Error('connection reset');
    const http = resilientFetch(retryOnly(), {
      fetch: transport(
        () =>
          new ReadableStream<Uint8Array>({
            pull: (controller) => controller.error(failing),
          }),
      ),
    });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    expect(listeners(shared.signal)).to.equal(1);
    expect(await rejectionOf(res.text())).to.equal(failing);
    expect(listeners(shared.signal)).to.equal(0);
  });

  it('stops following once a copy made by clone() was read to its end', async () => {
    const http = resilientFetch(retryOnly(), { fetch: transport(() => 'ok') });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    const copy = res.clone();
    expect(await copy.text()).to.equal('ok');
    expect(listeners(shared.signal)).to.equal(0);
    expect(await res.text()).to.equal('ok');
  });

  it("still errors a body being read with the caller's abort, then follows no more", async () => {
    const http = resilientFetch(retryOnly(), { fetch: transport(() => stalled()) });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    const reading = rejectionOf(res.text());
    await new Promise((resolve) => setImmediate(resolve));
    expect(listeners(shared.signal)).to.equal(1);
    const reason = new Error('shutting down');
    shared.abort(reason);
    expect(await reading).to.equal(reason);
    expect(listeners(shared.signal)).to.equal(0);
  });

  it('keeps following a body read in part through its stream', async () => {
    const http = resilientFetch(retryOnly(), { fetch: transport(() => stalled()) });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).to.equal(false);
    expect(listeners(shared.signal)).to.equal(1);
    const reason = new Error('shutting down');
    shared.abort(reason);
    expect(await rejectionOf(reader.read())).to.equal(reason);
  });

  it('stops following, with a bodyTimeout, once the body was cancelled', async () => {
    const http = resilientFetch(retryOnly(), {
      fetch: transport(() => stalled()),
      bodyTimeout: '1m',
    });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    expect(listeners(shared.signal)).to.equal(1);
    await res.body!.cancel();
    expect(listeners(shared.signal)).to.equal(0);
  });

  it('stops following, with a bodyTimeout, once the body was read to its end through a reader', async () => {
    const http = resilientFetch(retryOnly(), { fetch: transport(() => 'ok'), bodyTimeout: '1m' });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    const reader = res.body!.getReader();
    while (!(await reader.read()).done);
    expect(listeners(shared.signal)).to.equal(0);
  });
  describe('with a bodyTimeout, a cancel counts once, and only when it takes effect', () => {
    /** A response given a copy, and the copy, on a shared signal; the request still followed. */
    async function cloned(): Promise<{ res: Response; copy: Response; shared: AbortController }> {
      const http = resilientFetch(retryOnly(), {
        fetch: transport(() => stalled()),
        bodyTimeout: '1m',
      });
      const shared = new AbortController();
      const res = await http('http://localhost/a', { signal: shared.signal });
      return { res, copy: res.clone(), shared };
    }

    /** The copy's read, after the caller's abort: it fails with the abort's reason. */
    async function copyHearsAbort(copy: Response, shared: AbortController): Promise<void> {
      const reading = rejectionOf(copy.text());
      const reason = new Error('shutting down');
      shared.abort(reason);
      expect(await reading).to.equal(reason);
    }

    it("a reader cancelled twice: the copy still follows the caller's signal", async () => {
      const { res, copy, shared } = await cloned();
      const reader = res.body!.getReader();
      // Not awaited: a branch of a tee is cancelled once the other one is too.
      void reader.cancel();
      void reader.cancel();
      expect(listeners(shared.signal)).to.equal(1);
      await copyHearsAbort(copy, shared);
    });

    it('a stream cancelled twice: the copy still follows', async () => {
      const { res, copy, shared } = await cloned();
      void res.body!.cancel();
      void res.body!.cancel();
      expect(listeners(shared.signal)).to.equal(1);
      await copyHearsAbort(copy, shared);
    });

    it('a released reader whose cancel is refused: the body still follows', async () => {
      const http = resilientFetch(retryOnly(), {
        fetch: transport(() => stalled()),
        bodyTimeout: '1m',
      });
      const shared = new AbortController();
      const res = await http('http://localhost/a', { signal: shared.signal });
      const reader = res.body!.getReader();
      reader.releaseLock();
      expect(await rejectionOf(reader.cancel())).to.be.instanceOf(TypeError);
      expect(listeners(shared.signal)).to.equal(1);
      const reading = rejectionOf(res.text());
      const reason = new Error('shutting down');
      shared.abort(reason);
      expect(await reading).to.equal(reason);
    });
  });

  it('answers a frozen response (a stub) as it is, its end unseen', async () => {
    const http = resilientFetch(retryOnly(), {
      fetch: () => Promise.resolve(Object.freeze(new Response('ok'))),
    });
    const shared = new AbortController();
    const res = await http('http://localhost/a', { signal: shared.signal });
    expect(Object.isFrozen(res)).to.equal(true);
    expect(await res.text()).to.equal('ok');
  });
});
