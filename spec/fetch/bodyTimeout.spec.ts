// `bodyTimeout`: a bound on reading the body of the response handed to the caller. Here with an
// injected `fetch` answering a Response over a stream the spec feeds, which errors when the
// request's signal aborts as a real transport's body does, and fake timers (the bound's timer is
// bulwark's own); bodyTimeoutServer.spec.ts has the real sockets.
import { expect } from 'chai';
import sinon from 'sinon';
import { OperationTimeoutError } from '../../src/errors.js';
import { isHttpStatusError, resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { flush, rejectionOf, settle } from '../support/promises.js';

interface Sent {
  readonly signal: AbortSignal;
  readonly response: Response;
  readonly body: ReadableStreamDefaultController<Uint8Array>;
}

/**
 * A transport whose responses have the given statuses in turn (the last repeats), each over a
 * stream the spec feeds (`sent[i].body`), errored with the signal's reason when it aborts (or,
 * with `aborted`, with what it makes of the reason).
 */
function transport(...statuses: number[]): { fetch: FetchFunction; sent: Sent[] } {
  return transportErring((reason) => reason, ...statuses);
}

function transportErring(
  aborted: (reason: unknown) => unknown,
  ...statuses: number[]
): { fetch: FetchFunction; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: FetchFunction = (_input, init) => {
    const signal = init?.signal as AbortSignal;
    let body!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        body = c;
      },
    });
    signal.addEventListener('abort', () => {
      try {
        body.error(aborted(signal.reason));
      } catch {
        // Already closed.
      }
    });
    const status = statuses[Math.min(sent.length, statuses.length - 1)] as number;
    const response = new Response(stream, { status });
    sent.push({ signal, response, body });
    return Promise.resolve(response);
  };
  return { fetch, sent };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const plain = () => Policy.builder<Response>('api').build();

describe('resilientFetch: bodyTimeout', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });

  afterEach(() => {
    clock.restore();
  });

  it('rejects a stalled text() with an OperationTimeoutError naming the request and the bound', async () => {
    const { fetch, sent } = transport(200);
    const http = resilientFetch(plain(), { fetch, bodyTimeout: 200 });
    const res = await http('https://api.example.com/users?token=s3cret');
    sent[0]?.body.enqueue(bytes('[{"id":'));
    const reading = settle(res.text());
    await clock.tickAsync(199);
    expect(reading.status).to.equal('pending');
    await clock.tickAsync(1);
    expect(reading.status).to.equal('rejected');
    const error = reading.reason as OperationTimeoutError;
    expect(error).to.be.an.instanceOf(OperationTimeoutError);
    expect(error.code).to.equal('TIMEOUT');
    expect(error.timeoutMs).to.equal(200);
    expect(error.message).to.equal(
      'reading the body of GET https://api.example.com/users exceeded timeout of 0.2s',
    );
    expect(clock.countTimers()).to.equal(0);
  });

  it('keeps a bound longer than host timers take as long as they can hold', async () => {
    const { fetch, sent } = transport(200);
    // Past 2^31 - 1 ms, a host timer would fire at once.
    const http = resilientFetch(plain(), { fetch, bodyTimeout: 3_000_000_000 });
    const res = await http('https://a.test/');
    sent[0]?.body.enqueue(bytes('{'));
    const reading = settle(res.text());
    await clock.tickAsync(60_000);
    expect(reading.status).to.equal('pending');
    await clock.tickAsync(2_147_483_647 - 60_000);
    expect(reading.status).to.equal('rejected');
    expect(reading.reason).to.be.an.instanceOf(OperationTimeoutError);
  });

  it('rejects with its own error where the runtime reports the aborted body otherwise', async () => {
    // As Chromium's text() does for a stream the abort errored: a TypeError, the reason lost.
    const { fetch, sent } = transportErring(() => new TypeError('Failed to fetch'), 200);
    const res = await resilientFetch(plain(), { fetch, bodyTimeout: 100 })('https://a.test/');
    const text = settle(res.text());
    const other = await resilientFetch(plain(), { fetch, bodyTimeout: 100 })('https://a.test/');
    const reader = other.body!.getReader();
    const read = settle(reader.read());
    await clock.tickAsync(100);
    expect(text.reason).to.be.an.instanceOf(OperationTimeoutError);
    expect(read.reason).to.be.an.instanceOf(OperationTimeoutError);
    expect(sent[0]?.signal.reason).to.equal(text.reason);
  });

  describe('fails a read at the bound when the transport ignores the request signal', () => {
    // A transport that never errors its body when the request's signal aborts (a test double, a
    // custom transport): the read would never settle.
    function ignoring(): {
      fetch: FetchFunction;
      bodies: ReadableStreamDefaultController<Uint8Array>[];
    } {
      const bodies: ReadableStreamDefaultController<Uint8Array>[] = [];
      const fetch: FetchFunction = () => {
        const stream = new ReadableStream<Uint8Array>({ start: (c) => void bodies.push(c) });
        const headers = { 'content-type': 'application/x-www-form-urlencoded' };
        return Promise.resolve(new Response(stream, { status: 200, headers }));
      };
      return { fetch, bodies };
    }

    const reads: [string, (res: Response) => Promise<unknown>][] = [
      ['text()', (res) => res.text()],
      ['json()', (res) => res.json()],
      ['arrayBuffer()', (res) => res.arrayBuffer()],
      ['blob()', (res) => res.blob()],
      ['formData()', (res) => res.formData()],
      ['bytes()', (res) => (res as unknown as { bytes(): Promise<Uint8Array> }).bytes()],
      ["the reader's read()", (res) => res.body!.getReader().read()],
      [
        'a for await',
        async (res) => {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) void chunk;
        },
      ],
    ];
    for (const [name, read] of reads) {
      it(`${name} rejects with the timeout's error; what it settles with later is dropped`, async () => {
        const { fetch, bodies } = ignoring();
        const http = resilientFetch(plain(), { fetch, bodyTimeout: 200 });
        const res = await http('https://api.example.com/form');
        const reading = settle(read(res));
        await clock.tickAsync(199);
        expect(reading.status).to.equal('pending');
        await clock.tickAsync(1);
        expect(reading.status).to.equal('rejected');
        expect(reading.reason).to.be.an.instanceOf(OperationTimeoutError);
        const reason = reading.reason;
        // The body ends late: the read stays failed.
        bodies[0]?.close();
        await flush();
        expect(reading.reason).to.equal(reason);
      });
    }

    it('a read that fails late leaves no unhandled rejection, and a later read fails at once', async () => {
      const { fetch, bodies } = ignoring();
      const http = resilientFetch(plain(), { fetch, bodyTimeout: 200 });
      const res = await http('https://api.example.com/form');
      const reader = res.body!.getReader();
      const first = settle(reader.read());
      await clock.tickAsync(200);
      expect(first.reason).to.be.an.instanceOf(OperationTimeoutError);
      const unhandled: unknown[] = [];
      const listeners = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      process.on('unhandledRejection', (reason) => void unhandled.push(reason));
      try {
        bodies[0]?.error(new Error('late'));
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.removeAllListeners('unhandledRejection');
        for (const listener of listeners) process.on('unhandledRejection', listener);
      }
      expect(unhandled).to.deep.equal([]);
      expect(first.reason).to.be.an.instanceOf(OperationTimeoutError);
      const second = settle(reader.read());
      await flush();
      expect(second.reason).to.equal(first.reason);
    });
  });

  it("hands out the transport's own Response", async () => {
    const { fetch, sent } = transport(200);
    const res = await resilientFetch(plain(), { fetch, bodyTimeout: '1s' })('https://a.test/');
    expect(res).to.equal(sent[0]?.response);
    expect(Object.keys(res)).to.deep.equal([]);
  });

  it('rejects a stalled reader, and a for await over the body, alike', async () => {
    const { fetch, sent } = transport(200);
    const http = resilientFetch(plain(), { fetch, bodyTimeout: '1s' });
    const first = await http('https://a.test/');
    const reader = first.body!.getReader();
    sent[0]?.body.enqueue(bytes('x'));
    expect((await reader.read()).done).to.equal(false);
    const read = settle(reader.read());
    const second = await http('https://a.test/');
    const looping = settle(
      (async () => {
        for await (const chunk of second.body as unknown as AsyncIterable<Uint8Array>) void chunk;
      })(),
    );
    await clock.tickAsync(1000);
    expect(read.reason).to.be.an.instanceOf(OperationTimeoutError);
    expect(looping.reason).to.be.an.instanceOf(OperationTimeoutError);
  });

  it('counts from the hand-out, not from the call: retries before it take none of it', async () => {
    const { fetch, sent } = transport(503, 200);
    const policy = Policy.builder<Response>('api').retry({ maxAttempts: 2, delay: '1s' }).build();
    const calling = resilientFetch(policy, { fetch, bodyTimeout: 500 })('https://a.test/');
    await flush();
    // The 503's body ends: it is drained, and the retry goes out at once.
    sent[0]?.body.close();
    await clock.tickAsync(1000);
    const res = await calling;
    expect(res).to.equal(sent[1]?.response);
    const reading = settle(res.text());
    await clock.tickAsync(499);
    sent[1]?.body.enqueue(bytes('late but in time'));
    sent[1]?.body.close();
    await flush();
    expect(reading.value).to.equal('late but in time');
  });

  it("bounds only the response handed out, not a retried attempt's", async () => {
    const { fetch, sent } = transport(503, 200);
    const policy = Policy.builder<Response>('api').retry({ maxAttempts: 2 }).build();
    const calling = resilientFetch(policy, { fetch, bodyTimeout: 500 })('https://a.test/');
    await flush();
    sent[0]?.body.close();
    const res = await calling;
    expect(clock.countTimers()).to.equal(1);
    const reading = settle(res.text());
    await clock.tickAsync(500);
    expect(reading.reason).to.be.an.instanceOf(OperationTimeoutError);
    expect(sent[0]?.signal.aborted).to.equal(false);
    expect(sent[1]?.signal.reason).to.equal(reading.reason);
  });

  it("bounds only the response handed out, not a hedged attempt's", async () => {
    const { fetch: answer, sent } = transport(200);
    let releaseFirst!: () => void;
    let calls = 0;
    const fetch: FetchFunction = (input, init) => {
      const response = answer(input, init);
      if (calls++ > 0) return response;
      return new Promise((resolve) => (releaseFirst = () => resolve(response)));
    };
    const policy = Policy.builder<Response>('h').hedge({ maxHedges: 1, delay: 100 }).build();
    const calling = resilientFetch(policy, { fetch, bodyTimeout: 500 })('https://a.test/');
    await clock.tickAsync(100);
    const res = await calling;
    expect(res).to.equal(sent[1]?.response);
    releaseFirst();
    await flush();
    expect(clock.countTimers()).to.equal(1);
    const reading = settle(res.text());
    await clock.tickAsync(500);
    expect(reading.reason).to.be.an.instanceOf(OperationTimeoutError);
    expect(sent[0]?.signal.reason).not.to.be.an.instanceOf(OperationTimeoutError);
  });

  it('bounds the response a failure status hands out, returned or thrown', async () => {
    const returned = transport(503);
    const res = await resilientFetch(plain(), { fetch: returned.fetch, bodyTimeout: 100 })(
      'https://a.test/',
    );
    expect(res.status).to.equal(503);
    const thrown = transport(503);
    const error = await rejectionOf(
      resilientFetch(plain(), { fetch: thrown.fetch, bodyTimeout: 100, throwOnStatus: true })(
        'https://a.test/',
      ),
    );
    if (!isHttpStatusError(error)) throw new Error('expected an HttpStatusError');
    const reads = [settle(res.text()), settle(error.response.text())];
    await clock.tickAsync(100);
    for (const read of reads) expect(read.reason).to.be.an.instanceOf(OperationTimeoutError);
  });

  describe('leaves no timer once the body is done with', () => {
    const ways: Record<string, (res: Response, feed: Sent['body']) => Promise<unknown>> = {
      'text() read to its end': async (res, feed) => {
        const text = res.text();
        feed.enqueue(bytes('ok'));
        feed.close();
        expect(await text).to.equal('ok');
      },
      'a json() that does not parse': async (res, feed) => {
        const json = res.json();
        feed.enqueue(bytes('{'));
        feed.close();
        await rejectionOf(json);
      },
      "a reader's read() to done": async (res, feed) => {
        const reader = res.body!.getReader();
        feed.close();
        expect((await reader.read()).done).to.equal(true);
      },
      "a reader's cancel()": (res) => res.body!.getReader().cancel(),
      "the body's cancel()": (res) => res.body!.cancel(),
      'a for await to its end': async (res, feed) => {
        feed.enqueue(bytes('a'));
        feed.close();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) void chunk;
      },
      'a break out of a for await': async (res, feed) => {
        feed.enqueue(bytes('a'));
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          void chunk;
          break;
        }
      },
      'pipeTo() to its end': async (res, feed) => {
        feed.close();
        await res.body!.pipeTo(new WritableStream());
      },
      'pipeThrough() read to its end': async (res, feed) => {
        const text = new Response(res.body!.pipeThrough(new TransformStream())).text();
        feed.enqueue(bytes('through'));
        feed.close();
        expect(await text).to.equal('through');
      },
      'a clone and its original both cancelled': async (res) => {
        const copy = res.clone();
        await Promise.all([res.body!.cancel(), copy.body!.cancel()]);
      },
      'a clone read to its end': async (res, feed) => {
        const copy = res.clone();
        feed.enqueue(bytes('both'));
        feed.close();
        expect(await copy.text()).to.equal('both');
      },
    };
    for (const [way, done] of Object.entries(ways)) {
      it(way, async () => {
        const { fetch, sent } = transport(200);
        const res = await resilientFetch(plain(), { fetch, bodyTimeout: '10s' })('https://a.test/');
        expect(clock.countTimers()).to.equal(1);
        await done(res, (sent[0] as Sent).body);
        await flush();
        expect(clock.countTimers()).to.equal(0);
      });
    }

    it('but keeps it while a clone is left to read after the other was cancelled', async () => {
      const { fetch, sent } = transport(200);
      const res = await resilientFetch(plain(), { fetch, bodyTimeout: 300 })('https://a.test/');
      const copy = res.clone();
      // A branch's cancel() settles once both branches are cancelled: not awaited.
      void res.body!.cancel();
      await flush();
      expect(clock.countTimers()).to.equal(1);
      const reading = settle(copy.text());
      sent[0]?.body.enqueue(bytes('x'));
      await clock.tickAsync(300);
      expect(reading.reason).to.be.an.instanceOf(OperationTimeoutError);
    });
  });

  it("lets the caller's abort win with its reason, clearing the timer", async () => {
    const { fetch } = transport(200);
    const caller = new AbortController();
    const http = resilientFetch(plain(), { fetch, bodyTimeout: 300 });
    const res = await http('https://a.test/', { signal: caller.signal });
    const reading = settle(res.text());
    const reason = new Error('caller gave up');
    caller.abort(reason);
    await flush();
    expect(reading.reason).to.equal(reason);
    expect(clock.countTimers()).to.equal(0);
  });

  it('sets no timer without a bound, nor for a response without a body', async () => {
    const unbounded = transport(200);
    await resilientFetch(plain(), { fetch: unbounded.fetch })('https://a.test/');
    const noBody = resilientFetch(plain(), {
      fetch: () => Promise.resolve(new Response(null, { status: 204 })),
      bodyTimeout: 100,
    });
    await noBody('https://a.test/');
    expect(clock.countTimers()).to.equal(0);
  });

  it('refuses a bodyTimeout that is no finite duration > 0, naming it', () => {
    for (const bad of [0, -1, Infinity, NaN]) {
      expect(() => resilientFetch(plain(), { bodyTimeout: bad }), String(bad))
        .to.throw(RangeError, /`bodyTimeout`/)
        .with.property('received')
        .that.satisfies((v: unknown) => Object.is(v, bad));
    }
    for (const bad of ['soon', true, {}]) {
      expect(() => resilientFetch(plain(), { bodyTimeout: bad as never }), String(bad))
        .to.throw(TypeError, /`bodyTimeout`/)
        .with.property('received', bad);
    }
    expect(() => resilientFetch(plain(), { bodyTimeout: '5s' })).not.to.throw();
  });

  // Cloudflare Workers without the `enable_weak_ref` compatibility flag, for one.
  describe('on a host without WeakRef and FinalizationRegistry', () => {
    const names = ['WeakRef', 'FinalizationRegistry'] as const;
    let saved: PropertyDescriptor[];

    beforeEach(() => {
      saved = names.map((name) => Object.getOwnPropertyDescriptor(globalThis, name)!);
      for (const name of names) delete (globalThis as Record<string, unknown>)[name];
    });

    afterEach(() => {
      names.forEach((name, i) => Object.defineProperty(globalThis, name, saved[i]!));
    });

    it('bounds the body all the same, and clears the timer', async () => {
      const { fetch, sent } = transport(200);
      const http = resilientFetch(plain(), { fetch, bodyTimeout: 200 });
      const stalled = await http('https://a.test/');
      const reading = settle(stalled.text());
      await clock.tickAsync(200);
      expect(reading.reason).to.be.an.instanceOf(OperationTimeoutError);
      expect(sent[0]?.signal.aborted).to.equal(true);
      const read = await http('https://a.test/');
      sent[1]?.body.enqueue(bytes('ok'));
      sent[1]?.body.close();
      expect(await read.text()).to.equal('ok');
      expect(clock.countTimers()).to.equal(0);
    });

    it("lets the caller's abort stop the body being read", async () => {
      const { fetch } = transport(200);
      const caller = new AbortController();
      const res = await resilientFetch(plain(), { fetch })('https://a.test/', {
        signal: caller.signal,
      });
      const reading = settle(res.text());
      const reason = new Error('caller gave up');
      caller.abort(reason);
      await flush();
      expect(reading.reason).to.equal(reason);
    });
  });
});
