// Two copies of the package in one process (its ESM and CommonJS builds): a primitive of one
// copy given to the other's builder is refused with a message that says so.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { Policy } from 'bulwark';

const require = createRequire(import.meta.url);
const cjs = require('bulwark') as typeof import('bulwark');

describe('Package: a primitive from another copy of the package', () => {
  it('is refused by a builder with the reason, not as a kind it is', () => {
    const cases: [string, () => unknown][] = [
      [
        'RateLimiter',
        () => Policy.builder('p').rateLimiter(new cjs.RateLimiter({ maxTokens: 1, refillRate: 1 })),
      ],
      ['CircuitBreaker', () => Policy.builder('p').circuitBreaker(new cjs.CircuitBreaker({}))],
      ['Bulkhead', () => Policy.builder('p').bulkhead(new cjs.Bulkhead({}))],
    ];
    for (const [label, declare] of cases) {
      expect(declare, label).to.throw(
        TypeError,
        `\`options\` must be ${label} options or a ${label}, got a ${label} of another copy of bulwark`,
      );
    }
  });

  it('still names a primitive of another kind as such', () => {
    expect(() => Policy.builder('p').retry(new cjs.Bulkhead({}) as never)).to.throw(
      TypeError,
      /got an instance of _*Bulkhead$/,
    );
  });
});
