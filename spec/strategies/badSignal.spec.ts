// Every primitive's `execute(fn, signal)` (and the `acquire(…, signal)` of the bulkhead and the
// rate limiter) checks `signal` as `Policy.execute` checks `options.signal`: anything but
// `undefined` or an AbortSignal rejects the returned promise with a TypeError naming `signal`
// and the value, before `fn` is called or any timer is armed; never a synchronous throw.
import { expect } from 'chai';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import { ManualClock } from '../support/clock.js';

type Call = (fn: () => unknown, signal: unknown) => Promise<unknown>;

// Each primitive on a clock that throws if a timer is set: a refused call arms none.
function primitives(): [string, Call][] {
  const clock = () => new ManualClock(0, { forbidTimers: 'a timer was armed' });
  const tl = new TimeLimiter({ timeout: '1s', clock: clock() });
  const hedge = new Hedge({ delay: 10, clock: clock() });
  const bulkhead = new Bulkhead({ clock: clock() });
  const breaker = new CircuitBreaker({ clock: clock() });
  const fallback = new Fallback({ value: 1 });
  const retry = new Retry({ clock: clock() });
  const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, clock: clock() });
  const chaos = new Chaos({ enabled: true, latency: { rate: 1, delay: 10 }, clock: clock() });
  return [
    ['TimeLimiter.execute', (fn, s) => tl.execute(fn, s as never)],
    ['Hedge.execute', (fn, s) => hedge.execute(fn, s as never)],
    ['Bulkhead.execute', (fn, s) => bulkhead.execute(fn, s as never)],
    ['Bulkhead.acquire', (_fn, s) => bulkhead.acquire(s as never)],
    ['CircuitBreaker.execute', (fn, s) => breaker.execute(fn, s as never)],
    ['Fallback.execute', (fn, s) => fallback.execute(fn, s as never)],
    ['Retry.execute', (fn, s) => retry.execute(fn, s as never)],
    ['RateLimiter.execute', (fn, s) => limiter.execute(fn, s as never)],
    ['RateLimiter.acquire', (_fn, s) => limiter.acquire(1, s as never)],
    ['Chaos.execute', (fn, s) => chaos.execute(fn, s as never)],
  ];
}

const bad: [unknown, string][] = [
  [null, 'null'],
  [{}, 'an object'],
  [42, '42'],
  ['signal', '"signal"'],
];

describe('a primitive given a signal that is not an AbortSignal', () => {
  for (const [name] of primitives()) {
    for (const [signal, shown] of bad) {
      it(`${name} rejects ${shown} with a TypeError naming \`signal\`, calling nothing`, async () => {
        const call = primitives().find(([n]) => n === name)![1];
        let called = 0;
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call(() => ++called, signal);
        }).not.to.throw();
        expect(promise).to.be.instanceOf(Promise);
        const error = await promise!.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.equal(
          `\`signal\` must be an AbortSignal, got ${shown}`,
        );
        expect(called).to.equal(0);
      });
    }
  }

  it('still runs without a signal, and with one', async () => {
    for (const [name, call] of primitives()) {
      if (name.endsWith('acquire')) continue;
      if (name.startsWith('TimeLimiter') || name.startsWith('Hedge') || name.startsWith('Chaos')) {
        continue; // they arm a timer for every call, which the clock above forbids
      }
      expect(await call(() => 'ran', undefined), name).to.equal('ran');
      expect(await call(() => 'ran', new AbortController().signal), name).to.equal('ran');
    }
  });
});

describe('a primitive given a signal that throws when read, or an fn that is not a function', () => {
  for (const [name] of primitives()) {
    it(`${name} rejects a revoked Proxy as its signal, never throwing`, async () => {
      const call = primitives().find(([n]) => n === name)![1];
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = call(() => 'ran', proxy);
      }).not.to.throw();
      const error = await promise!.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/^`signal` must be an AbortSignal, got /);
    });

    if (name.endsWith('acquire')) continue;
    it(`${name} rejects an fn that is not a function with a TypeError naming \`fn\``, async () => {
      const call = primitives().find(([n]) => n === name)![1];
      for (const fn of [null, 42, 'work']) {
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call(fn as never, undefined);
        }, String(fn)).not.to.throw();
        const error = await promise!.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, String(fn)).to.be.instanceOf(TypeError);
        expect((error as Error).message, String(fn)).to.match(/^`fn` must be a function, got /);
      }
    });
  }
});
