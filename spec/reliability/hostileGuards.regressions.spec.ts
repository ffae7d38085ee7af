// The error guards answer false, never throw, for a value whose property reads throw (a hostile
// Proxy): a caller's `catch` that sorts errors with them cannot itself throw, and neither can
// instanceof against bulwark's classes.
import { expect } from 'chai';
import {
  BulkheadFullError,
  CircuitOpenError,
  isBulkheadFullError,
  isCircuitOpenError,
  isOperationTimeoutError,
  isRateLimitExceededError,
  isResilienceError,
  isStoreUnavailableError,
  ResilienceError,
} from '../../src/errors.js';

const hostile = new Proxy(
  {},
  {
    get() {
      throw new Error('no reads');
    },
    getPrototypeOf() {
      return Object.prototype;
    },
  },
);

describe('error guards on a value whose reads throw', () => {
  for (const guard of [
    isResilienceError,
    isRateLimitExceededError,
    isBulkheadFullError,
    isCircuitOpenError,
    isOperationTimeoutError,
    isStoreUnavailableError,
  ]) {
    it(`${guard.name || 'a guard'} answers false`, () => {
      expect(guard(hostile)).to.equal(false);
    });
  }

  it('instanceof answers false', () => {
    expect(hostile instanceof ResilienceError).to.equal(false);
    expect(hostile instanceof CircuitOpenError).to.equal(false);
    expect(hostile instanceof BulkheadFullError).to.equal(false);
  });

  it('still tells bulwark errors', () => {
    expect(isCircuitOpenError(new CircuitOpenError('open', 1))).to.equal(true);
    expect(isResilienceError(new BulkheadFullError(1, 0))).to.equal(true);
    expect(isCircuitOpenError(new BulkheadFullError(1, 0))).to.equal(false);
  });
});
