// The immutable options a primitive exposes cannot be changed under it: assigning one from
// JavaScript (where `readonly` does not exist) throws, and the primitive keeps its settings. Its
// live counters cannot be assigned either, and keep counting.
import { expect } from 'chai';
import sinon from 'sinon';
import { BulkheadFullError, OperationTimeoutError } from '../../src/errors.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

function assign(target: object, key: string, value: unknown): void {
  (target as Record<string, unknown>)[key] = value;
}

describe('immutable options of the primitives', () => {
  const cases: [string, () => object, string[]][] = [
    [
      'RateLimiter',
      () => new RateLimiter({ maxTokens: 2 }),
      ['maxTokens', 'refillRate', 'maxWaitMs'],
    ],
    [
      'Bulkhead',
      () => new Bulkhead({ maxConcurrent: 1 }),
      ['maxQueue', 'maxWaitMs', 'adaptiveLimit'],
    ],
    ['AdaptiveLimit', () => new AdaptiveLimit(), ['algorithm', 'min', 'max']],
    ['RetryBudget', () => new RetryBudget(), ['ratio', 'minPerSecond', 'windowMs']],
    ['TimeLimiter', () => new TimeLimiter({ name: 'q' }), ['timeoutMs', 'name', 'mode']],
    ['Hedge', () => new Hedge(), ['maxHedges', 'delayMs', 'running', 'hedges', 'wins']],
    [
      'Chaos',
      () => new Chaos({ fault: { rate: 0.5 }, seed: 7 }),
      [
        'faultRate',
        'latencyRate',
        'latencyMs',
        'resultRate',
        'seed',
        'faults',
        'delays',
        'results',
      ],
    ],
    ['Keyed', () => new Keyed(() => 0), ['maxKeys', 'idleTimeoutMs']],
  ];
  for (const [name, make, keys] of cases) {
    for (const key of keys) {
      it(`${name}.${key} cannot be assigned`, () => {
        const primitive = make();
        const before = (primitive as Record<string, unknown>)[key];
        expect(() => assign(primitive, key, 99)).to.throw(TypeError);
        expect((primitive as Record<string, unknown>)[key]).to.equal(before);
      });
    }
  }

  it('a rate limiter keeps its capacity when a caller tries to change it', () => {
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1 });
    expect(() => assign(limiter, 'maxTokens', 5)).to.throw(TypeError);
    expect(limiter.tryAcquire()).to.equal(true);
    expect(limiter.tryAcquire()).to.equal(false);
  });

  describe('with fake timers', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers();
    });
    afterEach(() => {
      clock.restore();
    });

    /** What `promise` has settled to so far ('pending' until it settles). */
    function track(promise: Promise<unknown>): { outcome: unknown } {
      const seen: { outcome: unknown } = { outcome: 'pending' };
      promise.then(
        (value) => (seen.outcome = value),
        (error: unknown) => (seen.outcome = error),
      );
      return seen;
    }

    it('a time limiter keeps its deadline, and rejects at it in its mode, whatever the work does', async () => {
      const limiter = new TimeLimiter({ timeout: 50 });
      expect(() => assign(limiter, 'timeoutMs', 1_000_000)).to.throw(TypeError);
      expect(() => assign(limiter, 'mode', 'cooperative')).to.throw(TypeError);
      const call = track(limiter.execute(() => new Promise<never>(() => {})));
      await clock.tickAsync(49);
      expect(call.outcome).to.equal('pending');
      await clock.tickAsync(1);
      expect(call.outcome).to.be.instanceOf(OperationTimeoutError);
      expect(call.outcome).to.have.property('timeoutMs', 50);
    });

    it('a full bulkhead refuses at once as its maxQueue and maxWait say', async () => {
      const unqueued = new Bulkhead({ maxConcurrent: 1 });
      const noWait = new Bulkhead({ maxConcurrent: 1, maxQueue: 5, maxWait: 0 });
      for (const bulkhead of [unqueued, noWait]) {
        expect(bulkhead.tryAcquire()).to.equal(true);
        const call = track(bulkhead.acquire());
        expect(bulkhead.queued, 'queued').to.equal(0);
        await clock.tickAsync(0);
        expect(call.outcome).to.be.instanceOf(BulkheadFullError);
      }
    });
  });

  it('a chaos stage keeps counting after a caller tries to reset its counters', async () => {
    const chaos = new Chaos({ fault: { rate: 1 } });
    await chaos.execute(() => 1).catch(() => 0);
    expect(() => assign(chaos, 'faults', 0)).to.throw(TypeError);
    await chaos.execute(() => 1).catch(() => 0);
    expect([chaos.faults, chaos.delays, chaos.results]).to.deep.equal([2, 0, 0]);
  });

  it('lists the settings, and neither counters nor internals, among own enumerable keys', () => {
    expect(Object.keys(new RateLimiter())).to.deep.equal(['maxTokens', 'refillRate', 'maxWaitMs']);
    expect(Object.keys(new RetryBudget())).to.deep.equal(['ratio', 'minPerSecond', 'windowMs']);
    expect(Object.keys(new Chaos())).to.include.members(['faultRate', 'seed']);
    expect(Object.keys(new Chaos())).not.to.include.members(['faults']);
  });
});
