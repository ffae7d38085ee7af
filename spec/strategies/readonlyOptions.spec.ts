// The immutable options a primitive exposes cannot be changed under it: assigning one from
// JavaScript (where `readonly` does not exist) throws, and the primitive keeps its settings.
import { expect } from 'chai';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { RetryBudget } from '../../src/strategies/retry-budget/RetryBudget.js';

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
});
