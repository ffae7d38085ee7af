// The one reading of the `retryable: false` mark, shared by the retry stage and bulwark/fetch.
import { expect } from 'chai';
import { notRetryable } from '../../src/internal/retryable.js';

describe('notRetryable: the own `retryable: false` mark', () => {
  it('is true only for an own data property whose value is false', () => {
    const marked = Object.defineProperty(new Error('x'), 'retryable', { value: false });
    expect(notRetryable(marked)).to.equal(true);
    expect(notRetryable(Object.assign(() => 0, { retryable: false })), 'a function').to.equal(true);
    expect(notRetryable(Object.freeze({ retryable: false })), 'a frozen object').to.equal(true);
    for (const value of [true, undefined, null, 0, '', 'false']) {
      expect(notRetryable({ retryable: value }), String(value)).to.equal(false);
    }
    expect(notRetryable(new Error('x'))).to.equal(false);
  });

  it('is false for an inherited mark, which a subclass or a shared prototype would spread', () => {
    const proto = { retryable: false };
    expect(notRetryable(Object.create(proto))).to.equal(false);
  });

  it('runs no getter: a mark behind one counts as none', () => {
    let reads = 0;
    const error = Object.defineProperty(new Error('x'), 'retryable', {
      get: () => {
        reads++;
        return false;
      },
    });
    expect(notRetryable(error)).to.equal(false);
    expect(reads).to.equal(0);
  });

  it('asks a Proxy once, and answers false when its trap throws', () => {
    let asked = 0;
    const counted = new Proxy(
      {},
      {
        getOwnPropertyDescriptor: () => {
          asked++;
          return { value: false, configurable: true, writable: true, enumerable: false };
        },
      },
    );
    expect(notRetryable(counted)).to.equal(true);
    expect(asked).to.equal(1);
    const hostile = new Proxy(
      {},
      {
        getOwnPropertyDescriptor: () => {
          throw new Error('no');
        },
      },
    );
    expect(notRetryable(hostile)).to.equal(false);
  });

  it('is false for primitives, null and undefined', () => {
    for (const value of [undefined, null, false, 0, 'retryable', Symbol('s'), 1n]) {
      expect(notRetryable(value), String(value)).to.equal(false);
    }
  });
});
