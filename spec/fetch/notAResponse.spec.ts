import { expect } from 'chai';
import { resilientFetch, type FetchPolicy } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';

const refused = (): Promise<Response> => Promise.reject(new TypeError('fetch failed'));

describe('resilientFetch: the promise of fetch', () => {
  it('rejects with a TypeError naming the value when a configured fallback answers null', async () => {
    const registry = PolicyRegistry.fromConfig({
      policies: { api: [{ fallback: { value: null } }, { retry: { 'max-attempts': 2 } }] },
    });
    const http = resilientFetch(registry.policy('api'), { fetch: refused });
    const error = await http('http://127.0.0.1:1/').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/answered with null, not a Response/);
  });

  it('resolves with a fallback Response, and with an object that serves as one', async () => {
    const real = Policy.builder<Response>()
      .fallback({ method: () => Response.json([]) })
      .build();
    const res = await resilientFetch(real, { fetch: refused })('http://127.0.0.1:1/');
    expect(res.status).to.equal(200);
    const lookalike = { status: 200, headers: new Headers() };
    const foreign = Policy.builder().fallback({ value: lookalike }).build();
    // Its type is no Response: only a cast lets it through, and the run time takes it.
    expect(
      await resilientFetch(foreign as unknown as FetchPolicy, { fetch: refused })(
        'http://127.0.0.1:1/',
      ),
    ).to.equal(lookalike);
  });
});

describe('resilientFetch: a transport that answers with something other than a Response', () => {
  for (const answer of [undefined, null, { ok: true }]) {
    it(`rejects with a TypeError naming the transport and ${JSON.stringify(answer)}`, async () => {
      const http = resilientFetch(Policy.builder<Response>().build(), {
        fetch: () => Promise.resolve(answer as unknown as Response),
      });
      const error = await http('http://127.0.0.1:1/').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(
        /^resilientFetch: `fetch` answered with .*, not a Response$/,
      );
    });
  }
});

describe('resilientFetch: a transport whose Response copies share their body', () => {
  it('leaves the body of a failure status to the caller when its clone() is no copy', async () => {
    // A polyfill's Response whose clone() answers with itself: reading the copy ahead would
    // read the very body the caller is handed.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('busy'));
        controller.close();
      },
    });
    const lookalike = {
      status: 503,
      headers: new Headers(),
      body,
      bodyUsed: false,
      clone() {
        return this;
      },
    };
    const http = resilientFetch(Policy.builder<Response>().build(), {
      fetch: () => Promise.resolve(lookalike as unknown as Response),
    });
    const res = await http('http://127.0.0.1:1/');
    expect(res).to.equal(lookalike);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(body.locked).to.equal(false);
    expect(await new Response(body).text()).to.equal('busy');
  });
});
