// The failure that tripped a circuit is kept as the cause of its refusals; it must not keep alive
// what the failing call's stack frames reached (their receivers and functions), which for a keyed
// breaker per tenant adds up. Measured in a child process with --expose-gc.
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runWithGc } from '../../support/gcChild.js';

const fixture = fileURLToPath(new URL('../../fixtures/openCause.js', import.meta.url));

describe('CircuitBreaker open cause', () => {
  it('keeps the tripping error (or result) and its stack text, not the objects its frames or its causes’ frames reached', async function () {
    this.timeout(60_000);
    const stdout = await runWithGc(fixture);
    const result = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(result).to.deep.equal({
      states: ['open', 'open', 'open'],
      collected: { direct: true, wrapped: true, byResult: true },
      causes: ['down', 'fetch failed', 'down', 'RejectedResultError'],
      stack: true,
    });
  });
});

describe('CircuitBreaker open cause, once the circuit leaves OPEN', () => {
  it('is let go (HALF_OPEN, CLOSED by a trial or by reset(), keyed, an asynchronous store), and HALF_OPEN refusals carry none', async function () {
    this.timeout(60_000);
    const released = fileURLToPath(new URL('../../fixtures/openCauseReleased.js', import.meta.url));
    const stdout = await runWithGc(released);
    expect(JSON.parse(stdout.trim())).to.deep.equal({
      states: {
        halfOpen: 'half-open',
        halfOpenCollected: 'true',
        closed: 'closed',
        reset: 'closed',
        keyed: 'served',
        shared: 'closed',
      },
      halfOpenCause: 'CircuitOpenError: no cause',
      collected: { halfOpen: true, closed: true, reset: true, keyed: true, shared: true },
    });
  });
});
