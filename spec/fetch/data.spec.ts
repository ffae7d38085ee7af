// `init.data`: the caller's data for the policy, in `ctx.data` beside the request's `url` and
// `method`, against a real node:http server through Node's own fetch.
import { ManualClock } from '../support/clock.js';
import { rejectionOf } from '../support/promises.js';
import { expect } from 'chai';
import { RateLimitExceededError } from '../../src/errors.js';
import { OptionTypeError } from '../../src/optionErrors.js';
import { resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

import { reply, startServer, type TestServer } from './server.js';

describe('resilientFetch init.data', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  it('gives each client its own bucket of a keyed rate limiter', async () => {
    const clock = new ManualClock(1_000);
    const keys: unknown[] = [];
    const policy = Policy.builder<Response>('outbound')
      .rateLimiter({
        key: (ctx) => {
          keys.push(ctx.data.get('client'));
          return String(ctx.data.get('client'));
        },
        maxTokens: 1,
        refillRate: 0.01,
        clock,
      })
      .build();
    const http = resilientFetch(policy);

    const alice = await http(server.url, { data: { client: 'alice' } });
    const bob = await http(server.url, { data: new Map([['client', 'bob']]) });
    expect([alice.status, bob.status]).to.deep.equal([200, 200]);
    expect(await rejectionOf(http(server.url, { data: { client: 'alice' } }))).to.be.instanceOf(
      RateLimitExceededError,
    );
    expect(keys).to.deep.equal(['alice', 'bob', 'alice']);
    expect(server.requests).to.have.length(2);
  });

  it("hands the data to a fallback's method beside the request's url and method, with a Request too", async () => {
    server.script(reply(503, 'down'));
    const seen: unknown[][] = [];
    const policy = Policy.builder<Response>('http')
      .fallback({
        method: (_error, ctx) => {
          seen.push([...ctx.data.entries()]);
          return new Response(`cached for ${String(ctx.data.get('tenant'))}`);
        },
      })
      .build();
    const http = resilientFetch(policy);

    const res = await http(`${server.url}a`, { method: 'put', data: { tenant: 't1', n: 1 } });
    expect(await res.text()).to.equal('cached for t1');
    const request = new Request(`${server.url}b`, { method: 'DELETE' });
    const mine = new Map<string, unknown>([['tenant', 't2']]);
    const again = await http(request, { data: mine });
    expect(await again.text()).to.equal('cached for t2');

    expect(seen).to.deep.equal([
      [
        ['url', `${server.url}a`],
        ['method', 'PUT'],
        ['tenant', 't1'],
        ['n', 1],
      ],
      [
        ['url', `${server.url}b`],
        ['method', 'DELETE'],
        ['tenant', 't2'],
      ],
    ]);
    // The caller's Map is read, not written: the request's entries are in a Map of the call's own.
    expect([...mine.keys()]).to.deep.equal(['tenant']);
    expect(server.requests.map((r) => r.method)).to.deep.equal(['PUT', 'DELETE']);
  });

  it('never hands the data to the transport', async () => {
    const inits: Array<Record<string, unknown>> = [];
    const transport: FetchFunction = (_input, init) => {
      inits.push({ ...init });
      return Promise.resolve(new Response('ok'));
    };
    const http = resilientFetch(Policy.builder<Response>('http').build(), { fetch: transport });
    await http('https://example.test/', { method: 'GET', data: { client: 'alice' } });
    await http('https://example.test/', { method: 'GET' });
    for (const init of inits) {
      expect(init).to.not.have.property('data');
      expect(init).to.include({ method: 'GET' });
    }
    expect(inits).to.have.length(2);
  });

  it('rejects bad data with an OptionTypeError naming `init.data` and the value, sending nothing', async () => {
    const http = resilientFetch(Policy.builder<Response>('http').build());
    const cases: Array<[unknown, string]> = [
      [5, '5'],
      [null, 'null'],
      ['client', '"client"'],
      [() => 'x', 'function (anonymous)'],
    ];
    for (const [data, shown] of cases) {
      let call: Promise<Response> | undefined;
      expect(() => {
        call = http(server.url, { data } as never);
      }).to.not.throw();
      const error = await rejectionOf(call as Promise<Response>);
      expect(error, shown).to.be.instanceOf(OptionTypeError);
      expect(error).to.include({
        option: 'init.data',
        expected: 'an object or a Map',
        message: `resilientFetch: \`init.data\` must be an object or a Map, got ${shown}`,
      });
      expect((error as OptionTypeError).received).to.equal(data);
    }
    expect(server.requests).to.have.length(0);
  });

  it("refuses data that sets the request's own `url` or `method`", async () => {
    const http = resilientFetch(Policy.builder<Response>('http').build());
    for (const [data, key] of [
      [{ url: 'https://elsewhere.test/' }, 'url'],
      [new Map([['method', 'POST']]), 'method'],
    ] as const) {
      const error = await rejectionOf(http(server.url, { data }));
      expect(error).to.be.instanceOf(OptionTypeError);
      expect(error).to.include({ option: `init.data.${key}` });
      expect((error as Error).message).to.equal(
        `resilientFetch: \`init.data\` must not set \`${key}\`: ctx.data holds the request's own url and method`,
      );
    }
    expect(server.requests).to.have.length(0);
  });

  it('rejects data that cannot be read, naming it', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const http = resilientFetch(Policy.builder<Response>('http').build());
    const error = await rejectionOf(http(server.url, { data: proxy }));
    expect(error).to.be.instanceOf(TypeError);
    expect(error).to.include({ option: 'init.data' });
    expect((error as Error).message).to.match(/^resilientFetch: `init.data` could not be read: /);
    expect(server.requests).to.have.length(0);
  });
});
