// The built package shortens its internal property names; a user's subclass with fields of short
// names must not overwrite any of them (esbuild's own choice would be `a`, `b`, ...).
import { expect } from 'chai';
import {
  Bulkhead,
  CircuitBreaker,
  Fallback,
  Hedge,
  Policy,
  RateLimiter,
  Retry,
  TimeLimiter,
} from 'bulwark';

const names = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''),
  ...'abcdefghijklmnopqrstuvwxyz'.split('').flatMap((l) => [`_${l}`, `${l}${l}`, `$${l}`]),
];

/** Sets a field of every short name on `instance`, as a subclass's own fields would be. */
function crowd<T extends object>(instance: T): T {
  for (const name of names) {
    Object.defineProperty(instance, name, { value: 0, writable: true, enumerable: true });
  }
  return instance;
}

describe('Package: subclasses with fields of short names', () => {
  it('leave every primitive working', async () => {
    const boom = (): never => {
      throw new Error('down');
    };
    class MyFallback extends Fallback<number> {}
    class MyBreaker extends CircuitBreaker {}
    class MyRetry extends Retry {}
    class MyLimiter extends RateLimiter {}
    class MyBulkhead extends Bulkhead {}
    class MyLimit extends TimeLimiter {}
    class MyHedge extends Hedge {}
    expect(await crowd(new MyFallback({ value: 1 })).execute(boom)).to.equal(1);
    expect(await crowd(new MyBreaker({})).execute(() => 2)).to.equal(2);
    expect(await crowd(new MyRetry({ maxAttempts: 2 })).execute(() => 3)).to.equal(3);
    expect(await crowd(new MyLimiter({ maxTokens: 1, refillRate: 1 })).execute(() => 4)).to.equal(
      4,
    );
    expect(await crowd(new MyBulkhead({ maxConcurrent: 1 })).execute(() => 5)).to.equal(5);
    expect(await crowd(new MyLimit({ timeout: 1000 })).execute(() => 6)).to.equal(6);
    expect(await crowd(new MyHedge({ delay: 1000 })).execute(() => 7)).to.equal(7);
  });

  it('leave a policy built over such primitives working', async () => {
    class MyBreaker extends CircuitBreaker {}
    const breaker = crowd(new MyBreaker({ failureThreshold: 1 }));
    const policy = Policy.builder('crowded')
      .fallback({ value: 'fallback' })
      .retry({ maxAttempts: 2, delay: 0 })
      .circuitBreaker(breaker)
      .timeout('1s')
      .build();
    expect(await policy.execute(() => 'ok')).to.equal('ok');
    expect(
      await policy.execute(() => {
        throw new Error('down');
      }),
    ).to.equal('fallback');
    expect(breaker.state).to.equal('open');
  });

  it('leave every primitive working when a subclass has methods and fields of common names', async () => {
    const common = [
      'run',
      'next',
      'start',
      'queue',
      'track',
      'plan',
      'value',
      'fault',
      'on',
      'entries',
      'idle',
      'hold',
      'release',
      'head',
      'outcome',
      'settle',
      'onResult',
      'cooperative',
      'resting',
      'state',
      'stop',
      'step',
      'enter',
      'leave',
      'inner',
      'outer',
    ];
    const clash = <T extends object>(instance: T): T => {
      for (const name of common) {
        Object.defineProperty(instance, name, {
          value: () => {
            throw new Error(`the subclass's own ${name} was called`);
          },
          writable: true,
        });
      }
      return instance;
    };
    const boom = (): never => {
      throw new Error('down');
    };
    let attempts = 0;
    const flaky = (): string => {
      if (++attempts === 1) throw new Error('once');
      return 'again';
    };
    expect(await clash(new Retry({ maxAttempts: 2, delay: 0 })).execute(flaky)).to.equal('again');
    expect(await clash(new TimeLimiter({ timeout: 1000 })).execute(() => 'in time')).to.equal(
      'in time',
    );
    expect(await clash(new Hedge({ delay: 1000 })).execute(() => 'hedged')).to.equal('hedged');
    expect(await clash(new Fallback({ value: 1 })).execute(boom)).to.equal(1);
    expect(await clash(new CircuitBreaker({})).execute(() => 2)).to.equal(2);
  });

  it('construct when a subclass declares a field named like a public setting or counter', async () => {
    class MyBulkhead extends Bulkhead {
      override readonly maxQueue = 5;
    }
    class MyLimiter extends RateLimiter {
      override readonly maxTokens = 3;
    }
    class MyHedge extends Hedge {
      override readonly running = 0;
    }
    class MyLimit extends TimeLimiter {
      override readonly name = 'mine';
    }
    expect(await new MyBulkhead({ maxConcurrent: 1 }).execute(() => 'b')).to.equal('b');
    expect(await new MyLimiter({ maxTokens: 3, refillRate: 1 }).execute(() => 'r')).to.equal('r');
    expect(await new MyHedge({ delay: 1000 }).execute(() => 'h')).to.equal('h');
    expect(await new MyLimit({ timeout: 1000 }).execute(() => 't')).to.equal('t');
  });
});
