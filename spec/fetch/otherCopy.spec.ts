// bulwark/fetch next to another copy of the package (an ESM app and a CommonJS dependency each
// load their own): its isRetryable knows the errors resilientFetch marks, since the mark is on the
// error itself, and each copy's HttpStatusError answers instanceof for the other's.
// The other copy is the built package's CommonJS entry (`npm run build` first).
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { HttpStatusError, isRetryable, resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf } from '../support/promises.js';

import { reply, reset, startServer, type TestServer } from './server.js';

type FetchModule = typeof import('../../src/fetch/index.js');

describe('bulwark/fetch and another copy of the package', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  function ordersPolicy(): Policy<Response> {
    return Policy.builder<Response>('orders').retry({ maxAttempts: 3, delay: 1 }).build();
  }

  it('says false for a request that may not be sent again', async () => {
    const other = createRequire(import.meta.url)('bulwark/fetch') as FetchModule;
    expect(other.isRetryable).not.to.equal(isRetryable);
    server.script(reset);
    const error = await rejectionOf(
      resilientFetch(ordersPolicy())(server.url, { method: 'POST', body: '{}' }),
    );
    expect(other.isRetryable(error)).to.equal(false);

    // A policy built with the other copy's isRetryable stops at once too.
    const policy = Policy.builder<Response>('orders')
      .retry({ maxAttempts: 3, delay: 1, retryOn: other.isRetryable })
      .build();
    await rejectionOf(resilientFetch(policy)(server.url, { method: 'POST', body: '{}' }));
    expect(server.requests).to.have.length(2);
    expect(policy.metrics().retries).to.equal(0);
  });

  it("matches the other copy's HttpStatusError by instanceof, as a retry's class list does", async () => {
    const other = createRequire(import.meta.url)('bulwark/fetch') as FetchModule;
    expect(other.HttpStatusError).not.to.equal(HttpStatusError);
    const response = new Response(null, { status: 503 });
    expect(new other.HttpStatusError(response)).to.be.instanceOf(HttpStatusError);
    expect(new HttpStatusError(response)).to.be.instanceOf(other.HttpStatusError);

    // The application's policy, given to a dependency that wraps fetch with its own copy.
    server.script(reply(503), reply(200, 'ok'));
    const policy = Policy.builder<Response>('orders')
      .retry({ maxAttempts: 3, delay: 1, retryOn: [HttpStatusError] })
      .build();
    const res = await other.resilientFetch(policy)(server.url);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.equal('ok');
    expect(server.requests).to.have.length(2);
    expect(policy.metrics().retries).to.equal(1);
  });
});
