// CircuitBreaker, white-box. Which errors count as failures: `recordOn` as error classes or a
// predicate; other errors pass through uncounted.
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import type { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';
import { ConnectionError, ResetError, ValidationError, breakerClock, run } from './support.js';

describe('CircuitBreaker', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  describe('recordOn', () => {
    it('counts only errors of the listed classes (and their subclasses) as failures', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 2,
        recordOn: [ConnectionError],
      });
      await breaker.execute(() => Promise.reject(new ConnectionError('a'))).catch(() => undefined);
      await breaker.execute(() => Promise.reject(new ResetError('b'))).catch(() => undefined);
      expect(breaker.state).to.equal('open');
    });

    it('lets other errors through unchanged, counting them as neither failure nor success', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 2,
        recordOn: [ConnectionError],
      });
      const other = new ValidationError('bad input');
      await run(breaker, 'F');
      expect(await rejectionOf(breaker.execute(() => Promise.reject(other)))).to.equal(other);
      expect(breaker.metrics).to.include({ bufferedCalls: 0 });
      // Not a success either: the run of consecutive failures goes on.
      const breaker2 = new CircuitBreaker({ clock, failureThreshold: 2, recordOn: [Error] });
      await run(breaker2, 'F');
      await breaker2.execute(() => Promise.reject('not an Error')).catch(() => undefined);
      expect(breaker2.metrics.bufferedCalls).to.equal(1);
      await run(breaker2, 'F');
      expect(breaker2.state).to.equal('open');
    });

    it('accepts a predicate', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: (error) => error instanceof Error && error.message === 'timeout',
      });
      await breaker.execute(() => Promise.reject(new Error('not found'))).catch(() => undefined);
      expect(breaker.state).to.equal('closed');
      await breaker.execute(() => Promise.reject(new Error('timeout'))).catch(() => undefined);
      expect(breaker.state).to.equal('open');
    });

    it('counts an error as a failure and rejects with what a throwing recordOn threw', async () => {
      const broken = new Error('broken predicate');
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: () => {
          throw broken;
        },
      });
      expect(
        await rejectionOf(breaker.execute(() => Promise.reject(new Error('original')))),
      ).to.equal(broken);
      expect(breaker.state).to.equal('open');
    });

    it('throws from onFailure what a throwing recordOn threw, after recording the failure', () => {
      const broken = new Error('broken predicate');
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: () => {
          throw broken;
        },
      });
      const ticket = breaker.beforeCall();
      expect(() => breaker.onFailure(new Error('original'), 0, ticket)).to.throw(broken);
      expect(breaker.state).to.equal('open');
    });

    it('rejects a policy call with what a throwing recordOn threw', async () => {
      const broken = new Error('broken predicate');
      const policy = Policy.builder('p')
        .circuitBreaker({
          clock,
          failureThreshold: 1,
          recordOn: () => {
            throw broken;
          },
        })
        .build();
      expect(
        await rejectionOf(policy.execute(() => Promise.reject(new Error('original')))),
      ).to.equal(broken);
      expect(policy.metrics().failures).to.equal(1);
    });

    it('applies recordOn in onFailure too', () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recordOn: [ConnectionError],
      });
      breaker.beforeCall();
      breaker.onFailure(new ValidationError('x'));
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(0);
      breaker.beforeCall();
      breaker.onFailure(new ConnectionError('x'));
      expect(breaker.state).to.equal('open');
    });

    it('gives back the half-open probe slot of a call whose error is not recorded', async () => {
      const breaker = new CircuitBreaker({
        clock,
        failureThreshold: 1,
        recoveryTimeout: 10,
        recordOn: [ConnectionError],
      });
      await breaker.execute(() => Promise.reject(new ConnectionError('x'))).catch(() => undefined);
      clock.tick(10);
      await breaker.execute(() => Promise.reject(new ValidationError('x'))).catch(() => undefined);
      expect(breaker.state).to.equal('half-open');
      expect(await breaker.execute(() => 'probe')).to.equal('probe');
      expect(breaker.state).to.equal('closed');
    });
  });
});
