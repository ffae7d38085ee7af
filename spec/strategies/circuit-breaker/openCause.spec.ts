// The failure that tripped a circuit is kept as the cause of its refusals; it must not keep alive
// what the failing call's stack frames reached (their receivers and functions), which for a keyed
// breaker per tenant adds up. Measured in a child process with --expose-gc.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../../fixtures/openCause.js', import.meta.url));

describe('CircuitBreaker open cause', () => {
  it('keeps the tripping error (or result) and its stack text, not the objects its frames or its causes’ frames reached', async function () {
    this.timeout(60_000);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--expose-gc', fixture],
        { timeout: 60_000 },
        (error, out, err) => {
          if (error) reject(new Error(`${fixture} failed: ${error.message}\n${err}`));
          else resolve(out);
        },
      );
    });
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
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--expose-gc', released],
        { timeout: 60_000 },
        (error, out, err) => {
          if (error) reject(new Error(`${released} failed: ${error.message}\n${err}`));
          else resolve(out);
        },
      );
    });
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
