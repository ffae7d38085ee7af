// An ErrorFilter's list matches with `instanceof` any error class, also one with a protected
// constructor (ResilienceError); a function that is no class (an arrow, a predicate put in the
// list by mistake) is refused at construction instead of matching nothing.
import { expect } from 'chai';
import { BulkheadFullError, RateLimitExceededError, ResilienceError } from '../../src/errors.js';
import type { ErrorFilter } from '../../src/internal/validate.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Retry } from '../../src/strategies/retry/Retry.js';

describe('ErrorFilter class lists', () => {
  it('match any ResilienceError with [ResilienceError]', async () => {
    const fallback = new Fallback({ value: 'degraded', on: [ResilienceError] });
    expect(await fallback.execute(() => Promise.reject(new BulkheadFullError(1, 0)))).to.equal(
      'degraded',
    );
    expect(await fallback.execute(() => Promise.reject(new RateLimitExceededError(5)))).to.equal(
      'degraded',
    );
    const other = new Error('not ours');
    expect(
      await fallback
        .execute(() => Promise.reject(other))
        .then(
          () => undefined,
          (e: unknown) => e,
        ),
    ).to.equal(other);
  });

  it('refuse a function that is no class, naming its index', () => {
    const arrow = (e: unknown): boolean => e instanceof TypeError;
    expect(() => new Retry({ retryOn: [TypeError, arrow] as unknown as ErrorFilter })).to.throw(
      TypeError,
      '`retryOn` must be an array of error classes or a predicate, got function arrow at index 1',
    );
  });
});
