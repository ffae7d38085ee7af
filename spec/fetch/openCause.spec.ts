// A circuit tripped by results (`recordOnResult`) refuses with a cause naming the result that
// tripped it, as a circuit tripped by errors gives that error.
import { expect } from 'chai';
import { CircuitOpenError, RejectedResultError } from '../../src/errors.js';
import { resilientFetch, type FetchFunction } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { rejectionOf } from '../support/promises.js';

describe('a circuit tripped by results: the cause of its refusals', () => {
  it('is a RejectedResultError holding the result that tripped it', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      recoveryTimeout: '30s',
      recordOnResult: (n: number) => n >= 500,
    });
    expect(await breaker.execute(async () => 501)).to.equal(501);
    expect(await breaker.execute(async () => 502)).to.equal(502);
    const refusal = await rejectionOf(breaker.execute(async () => 200));
    expect(refusal).to.be.instanceOf(CircuitOpenError);
    const cause = (refusal as Error).cause;
    expect(cause).to.be.instanceOf(RejectedResultError);
    expect(cause).to.include({ name: 'RejectedResultError', result: 502 });
    expect((cause as Error).message).to.match(/recordOnResult/);
  });

  it('is the error again for a circuit tripped by an error after a result', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      recoveryTimeout: '30s',
      recordOnResult: (n: number) => n >= 500,
    });
    await breaker.execute(async () => 501);
    const boom = new Error('boom');
    await rejectionOf(breaker.execute(() => Promise.reject(boom)));
    const refusal = await rejectionOf(breaker.execute(async () => 200));
    expect((refusal as Error).cause).to.equal(boom);
  });

  it('holds the response through resilientFetch, for a status outside retryStatuses', async () => {
    let sent = 0;
    const fetch: FetchFunction = async () => {
      sent++;
      return new Response('nope', { status: 501, statusText: 'Not Implemented' });
    };
    const policy = Policy.builder<Response>('api')
      .circuitBreaker({
        failureThreshold: 2,
        recoveryTimeout: '30s',
        recordOnResult: (r) => r.status >= 500,
      })
      .build();
    const http = resilientFetch(policy, { fetch, throwOnStatus: true });
    expect((await http('http://localhost/b')).status).to.equal(501);
    expect((await http('http://localhost/b')).status).to.equal(501);
    const refusal = await rejectionOf(http('http://localhost/b'));
    expect(sent).to.equal(2);
    expect(refusal).to.be.instanceOf(CircuitOpenError);
    const cause = (refusal as Error).cause as RejectedResultError<Response>;
    expect(cause).to.be.instanceOf(RejectedResultError);
    expect(cause.result).to.be.instanceOf(Response);
    expect(cause.result.status).to.equal(501);
  });
});
