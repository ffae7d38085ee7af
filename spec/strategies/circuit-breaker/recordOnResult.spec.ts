// CircuitBreaker, white-box. Results as failures: `recordOnResult` counts a resolved call as a
// failure (window, trip, half-open trial) while the caller still receives the result; a predicate
// that throws rejects the call with what it threw, which counts as a failure. The same through
// `execute`, a policy's stage and the decorator.
import { expect } from 'chai';
import { CircuitOpenError, RejectedResultError } from '../../../src/errors.js';
import { circuitBreaker } from '../../../src/decorators/index.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';
import { breakerClock } from './support.js';

interface Response {
  readonly status: number;
}

const ok: Response = { status: 200 };
const unavailable: Response = { status: 503 };
const is5xx = (r: Response): boolean => r.status >= 500;

type Runner = (breaker: CircuitBreaker, fn: () => Promise<Response>) => Promise<Response>;

const runners: Array<[string, Runner]> = [
  ['execute', (breaker, fn) => breaker.execute(fn)],
  [
    'a policy stage',
    (breaker, fn) => Policy.builder<Response>('http').circuitBreaker(breaker).build().execute(fn),
  ],
  ['the decorator', (breaker, fn) => circuitBreaker(breaker)(fn)()],
];

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('recordOnResult', () => {
    for (const [through, call] of runners) {
      describe(`through ${through}`, () => {
        it('counts a matching result as a failure, and the caller still receives it', async () => {
          const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recordOnResult: is5xx });
          expect(await call(breaker, async () => unavailable)).to.equal(unavailable);
          expect(breaker.metrics).to.include({ bufferedCalls: 1, failedCalls: 1 });
          expect(await call(breaker, async () => ok)).to.equal(ok);
          expect(breaker.metrics).to.include({ bufferedCalls: 2, failedCalls: 1 });
          // The success reset the run: two more in a row trip it.
          expect(await call(breaker, async () => unavailable)).to.equal(unavailable);
          expect(breaker.state).to.equal('closed');
          expect(await call(breaker, async () => unavailable)).to.equal(unavailable);
          expect(breaker.state).to.equal('open');
          const refusal = await rejectionOf(call(breaker, async () => ok));
          expect(refusal).to.be.instanceOf(CircuitOpenError);
          // The cause names the result that tripped it.
          expect((refusal as Error).cause).to.be.instanceOf(RejectedResultError);
          expect((refusal as Error).cause).to.include({
            result: unavailable,
            code: 'REJECTED_RESULT',
            message: 'recordOnResult counted the result as a failure',
          });
        });

        it('gives the refusals no cause when slow successes tripped it', async () => {
          const breaker = new CircuitBreaker({
            clock,
            recordOnResult: is5xx,
            slowCallDuration: 10,
            slowCallRateThreshold: 1,
            windowSize: 1,
          });
          const slowly = async (): Promise<Response> => {
            clock.tick(10);
            return ok;
          };
          expect(await call(breaker, slowly)).to.equal(ok);
          expect(breaker.state).to.equal('open');
          const refusal = await rejectionOf(call(breaker, async () => ok));
          expect(refusal).to.be.instanceOf(CircuitOpenError);
          expect(refusal).not.to.have.property('cause');
        });

        it('re-opens the circuit when a half-open trial call returns a matching result', async () => {
          const breaker = new CircuitBreaker({
            clock,
            failureThreshold: 1,
            recoveryTimeout: 100,
            recordOnResult: is5xx,
          });
          await call(breaker, async () => unavailable);
          expect(breaker.state).to.equal('open');
          await clock.advance(100);
          expect(breaker.state).to.equal('half-open');
          expect(await call(breaker, async () => unavailable)).to.equal(unavailable);
          expect(breaker.state).to.equal('open');
          await clock.advance(100);
          expect(await call(breaker, async () => ok)).to.equal(ok);
          expect(breaker.state).to.equal('closed');
        });

        it('rejects with what a throwing predicate threw, and counts the call as a failure', async () => {
          const bug = new Error('predicate bug');
          const breaker = new CircuitBreaker({
            clock,
            failureThreshold: 1,
            // recordOn does not see it: a throwing predicate cannot say the call went well.
            recordOn: () => false,
            recordOnResult: () => {
              throw bug;
            },
          });
          expect(await rejectionOf(call(breaker, async () => ok))).to.equal(bug);
          expect(breaker.state).to.equal('open');
          const refusal = (await rejectionOf(call(breaker, async () => ok))) as CircuitOpenError;
          expect(refusal.cause).to.equal(bug);
        });

        it('leaves errors to recordOn', async () => {
          const judged: unknown[] = [];
          const breaker = new CircuitBreaker({
            clock,
            failureThreshold: 1,
            recordOn: () => false,
            recordOnResult: (r: unknown) => (judged.push(r), false),
          });
          const error = new Error('ignored');
          expect(await rejectionOf(call(breaker, () => Promise.reject(error)))).to.equal(error);
          expect(judged).to.deep.equal([]);
          expect(breaker.state).to.equal('closed');
        });
      });
    }

    it('is taken by the builder with the other options', async () => {
      const policy = Policy.builder<Response>('http')
        .circuitBreaker({ clock, failureThreshold: 1, recordOnResult: is5xx })
        .build();
      expect(await policy.execute(() => unavailable)).to.equal(unavailable);
      expect(policy.metrics().stages[0]).to.include({ state: 'open', failedCalls: 1 });
      expect(await rejectionOf(policy.execute(() => ok))).to.be.instanceOf(CircuitOpenError);
    });

    it('judges nothing for a call whose caller aborted', async () => {
      let judged = 0;
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOnResult: () => (judged++, true),
      });
      const controller = new AbortController();
      const pending = breaker.execute(
        () =>
          new Promise<Response>((resolve) =>
            controller.signal.addEventListener('abort', () => resolve(unavailable)),
          ),
        controller.signal,
      );
      controller.abort(new Error('gave up'));
      await rejectionOf(pending);
      await Promise.resolve();
      expect(judged).to.equal(0);
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics).to.include({ bufferedCalls: 0 });
    });

    it('is shown by describe()', () => {
      expect(new CircuitBreaker({ recordOnResult: is5xx }).describe()).to.match(
        /on all errors and matching results$/,
      );
      expect(new CircuitBreaker().describe()).to.match(/on all errors$/);
    });

    it('must be a function', () => {
      expect(() => new CircuitBreaker({ recordOnResult: 503 as never })).to.throw(
        TypeError,
        '`recordOnResult` must be a function, got 503',
      );
    });

    it('cannot come from configuration', () => {
      expect(() =>
        PolicyRegistry.fromConfig({ 'circuit-breaker': { a: { 'record-on-result': 'x' } } }),
      )
        .to.throw(TypeError, 'resilience.circuit-breaker.a: ')
        .with.property('message')
        .that.includes('cannot come from configuration');
    });
  });
});
