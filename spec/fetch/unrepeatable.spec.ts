// A request resilientFetch may not send again (a POST without an Idempotency-Key) that fails on
// the network or times out: its error is marked with an own `retryable: false`, so a retry stage
// gives up at once and the policy's events, metrics and breaker count the one request sent.
import { expect } from 'chai';
import { CircuitOpenError, OperationTimeoutError } from '../../src/errors.js';
import { isRetryable, resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { StageState } from '../../src/pipeline/metrics.js';
import { rejectionOf } from '../support/promises.js';

import { hang, reply, reset, startServer, type TestServer } from './server.js';

function breakerOf(policy: Policy<Response>): StageState & { failedCalls: number; state: string } {
  return policy.metrics().stages[1] as StageState & { failedCalls: number; state: string };
}

describe('resilientFetch: a request that may not be sent again, when it fails', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  function ordersPolicy(): Policy<Response> {
    return Policy.builder<Response>('orders')
      .retry({ maxAttempts: 3, delay: 1 })
      .circuitBreaker({ failureThreshold: 3, recoveryTimeout: '30s' })
      .build();
  }

  it('is attempted once: one attempt event, no retries, one failure for the breaker', async () => {
    server.script(reset, reply(201, 'created'));
    const policy = ordersPolicy();
    const attempts: unknown[] = [];
    policy.on('attempt', (event) => attempts.push(event.error));
    const http = resilientFetch(policy);

    const error = await rejectionOf(http(server.url, { method: 'POST', body: '{}' }));
    expect(error).to.be.instanceOf(TypeError);
    expect(server.requests).to.have.length(1);
    expect(attempts).to.deep.equal([error]);
    expect(policy.metrics().retries).to.equal(0);
    expect(breakerOf(policy)).to.include({ state: 'closed', failedCalls: 1 });

    // The breaker stayed closed: the next request is sent, not refused.
    const next = await http(server.url, { method: 'POST', body: '{}' });
    expect(next.status).to.equal(201);
    expect(await next.text()).to.equal('created');
    expect(server.requests).to.have.length(2);
  });

  it('does not open the breaker for fewer failed requests than its threshold', async () => {
    server.script(reset);
    const policy = ordersPolicy();
    const http = resilientFetch(policy);
    for (let i = 0; i < 2; i++) {
      const e = await rejectionOf(http(server.url, { method: 'POST', body: '{}' }));
      expect(e, `request ${i + 1}`).not.to.be.instanceOf(CircuitOpenError);
    }
    expect(server.requests).to.have.length(2);
    expect(breakerOf(policy)).to.include({ state: 'closed', failedCalls: 2 });
    expect(policy.metrics().retries).to.equal(0);
  });

  it('stops the retry at a per-attempt timeout too, which fails the attempt before the request', async () => {
    server.script(hang);
    const policy = Policy.builder<Response>('orders')
      .retry({ maxAttempts: 3, delay: 1 })
      .circuitBreaker({ failureThreshold: 3, recoveryTimeout: '30s' })
      // Long enough for the request to reach the server first: the first fetch of a fresh
      // process loads its HTTP client, which on a loaded machine takes tens of milliseconds.
      .timeout(1000)
      .build();
    let attempts = 0;
    policy.on('attempt', () => attempts++);
    const error = await rejectionOf(
      resilientFetch(policy)(server.url, { method: 'POST', body: '{}' }),
    );
    expect(error).to.be.instanceOf(OperationTimeoutError);
    expect(isRetryable(error)).to.equal(false);
    expect(attempts).to.equal(1);
    expect(policy.metrics().retries).to.equal(0);
    expect(breakerOf(policy)).to.include({ failedCalls: 1 });
    await (server.requests[0] as { closed: Promise<void> }).closed;
    expect(server.requests).to.have.length(1);
  });

  it('marks the error with an own, non-enumerable retryable: false', async () => {
    server.script(reset);
    const error = (await rejectionOf(
      resilientFetch(ordersPolicy())(server.url, { method: 'POST', body: 'x' }),
    )) as object;
    expect(Object.getOwnPropertyDescriptor(error, 'retryable')).to.deep.include({
      value: false,
      enumerable: false,
    });
    expect(Object.keys(error)).not.to.include('retryable');
    expect(isRetryable(error)).to.equal(false);
  });

  it('leaves the network error of a GET unmarked, and retries it', async () => {
    server.script(reset, reply(200, 'ok'));
    const policy = ordersPolicy();
    const res = await resilientFetch(policy)(server.url);
    expect(res.status).to.equal(200);
    expect(server.requests).to.have.length(2);
    expect(policy.metrics().retries).to.equal(1);
  });

  // The caller's abort reason is the caller's object, which an application may reuse for every
  // call it cancels: marked once, every later retry of a failure with it would stop.
  for (const timeout of [undefined, '10s'] as const) {
    it(`leaves the caller's abort reason as it is${timeout ? ', with a per-attempt timeout' : ''}`, async () => {
      const shutdown = new Error('shutting down');
      let sent!: () => void;
      const sending = new Promise<void>((resolve) => (sent = resolve));
      let calls = 0;
      const hanging: FetchFunction = (_input, init) => {
        calls++;
        sent();
        return new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        });
      };
      const builder = Policy.builder<Response>('orders').retry({ maxAttempts: 3, delay: 1 });
      const policy = timeout === undefined ? builder.build() : builder.timeout(timeout).build();
      const controller = new AbortController();
      const call = resilientFetch(policy, { fetch: hanging })(server.url, {
        method: 'POST',
        body: '{}',
        signal: controller.signal,
      });
      await sending;
      controller.abort(shutdown);
      expect(await rejectionOf(call)).to.equal(shutdown);
      expect(calls).to.equal(1);
      expect(policy.metrics().retries).to.equal(0);
      expect(Object.getOwnPropertyDescriptor(shutdown, 'retryable')).to.equal(undefined);
      expect(isRetryable(shutdown)).to.equal(true);
    });
  }

  it('remembers a frozen error it cannot mark, and still sends the request once', async () => {
    let calls = 0;
    const frozen = Object.freeze(new TypeError('fetch failed'));
    const failing: FetchFunction = () => {
      calls++;
      return Promise.reject(frozen);
    };
    const error = await rejectionOf(
      resilientFetch(ordersPolicy(), { fetch: failing })(server.url, { method: 'POST' }),
    );
    expect(error).to.equal(frozen);
    expect(Object.getOwnPropertyDescriptor(frozen, 'retryable')).to.equal(undefined);
    expect(isRetryable(frozen)).to.equal(false);
    expect(calls).to.equal(1);
  });
});
