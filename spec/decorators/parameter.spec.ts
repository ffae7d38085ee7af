// A legacy parameter decorator's call, `(prototype, 'm', 0)` or `(Class, undefined, 0)`, which
// TypeScript's `experimentalDecorators` emits for `m(@retry() x)` (reached from plain JS or
// through a cast): refused, naming the parameter and its method.
import { expect } from 'chai';
import { retry, timeLimiter } from '../../src/decorators/index.js';

type Decorator = (...args: unknown[]) => unknown;

describe('decorators: a parameter decorator call', () => {
  class Service {
    constructor(_x?: unknown) {}
    m(_x: unknown, _y: unknown): void {}
  }

  it('is refused as a parameter of its method', () => {
    const decorate = retry() as unknown as Decorator;
    expect(() => decorate(Service.prototype, 'm', 0)).to.throw(
      TypeError,
      /^retry decorates methods only, got parameter 0 of method `m`$/,
    );
    expect(() => decorate(Service.prototype, 'm', 1)).to.throw(
      TypeError,
      /got parameter 1 of method `m`$/,
    );
    const cb = timeLimiter({ timeout: '1s' }) as unknown as Decorator;
    expect(() => cb(Service, 'm', 0)).to.throw(
      TypeError,
      /^timeLimiter decorates methods only, got parameter 0 of method `m`$/,
    );
  });

  it("is refused as a parameter of the class's constructor", () => {
    const decorate = retry() as unknown as Decorator;
    expect(() => decorate(Service, undefined, 0)).to.throw(
      TypeError,
      /^retry decorates methods only, got parameter 0 of the constructor of `Service`$/,
    );
  });
});
