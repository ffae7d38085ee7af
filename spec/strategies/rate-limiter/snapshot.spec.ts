// RateLimiter, white-box: toJSON() and initialState. The token count is carried, refilled for the
// wall time elapsed since the snapshot at the restoring limiter's rate; a snapshot that does not
// fit is refused at construction.
import { expect } from 'chai';
import sinon from 'sinon';
import { isOptionError } from '../../../src/optionErrors.js';
import {
  RateLimiter,
  type RateLimiterSnapshot,
} from '../../../src/strategies/rate-limiter/RateLimiter.js';
import type { RateLimiterStore } from '../../../src/strategies/rate-limiter/store.js';
import { ManualClock } from '../../support/clock.js';

const WALL = Date.UTC(2026, 11, 6, 8, 0, 0);

describe('RateLimiter snapshots', () => {
  let wall: sinon.SinonFakeTimers;

  beforeEach(() => {
    wall = sinon.useFakeTimers({ now: WALL, toFake: ['Date'] });
  });
  afterEach(() => wall.restore());

  it('takes the token count and the wall-clock instant as plain JSON data', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ clock, maxTokens: 10, refillRate: 2 });
    for (let i = 0; i < 7; i++) limiter.tryAcquire();
    clock.tick(500);
    const snapshot = limiter.toJSON();
    expect(snapshot).to.deep.equal({
      format: 'bulwark.rate-limiter',
      version: 1,
      takenAt: WALL,
      tokens: 4,
      maxTokens: 10,
      refillRate: 2,
    });
    expect(JSON.parse(JSON.stringify(limiter))).to.deep.equal(snapshot);
  });

  it('restores the count, refilled for the wall time elapsed, capped at maxTokens', () => {
    const limiter = new RateLimiter({ clock: new ManualClock(), maxTokens: 10, refillRate: 2 });
    for (let i = 0; i < 10; i++) limiter.tryAcquire();
    const saved = JSON.parse(JSON.stringify(limiter)) as RateLimiterSnapshot;
    const clock = new ManualClock(123_456);
    const now = new RateLimiter({ clock, maxTokens: 10, refillRate: 2, initialState: saved });
    expect(now.availableTokens).to.equal(0);
    expect(now.tryAcquire()).to.equal(false);
    clock.tick(500);
    expect(now.tryAcquire(), 'one token after 500 ms at 2/s').to.equal(true);
    wall.tick(1_500);
    const later = new RateLimiter({ clock, maxTokens: 10, refillRate: 2, initialState: saved });
    expect(later.availableTokens).to.equal(3);
    wall.tick(60_000);
    const full = new RateLimiter({ clock, maxTokens: 4, refillRate: 2, initialState: saved });
    expect(full.availableTokens).to.equal(4);
  });

  it('carries tokens owed to callers that were waiting (a count below 0)', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ clock, maxTokens: 2, refillRate: 1, maxWait: '10s' });
    limiter.tryAcquire(2);
    void limiter.acquire(2).catch(() => undefined);
    const snapshot = limiter.toJSON();
    expect(snapshot.tokens).to.equal(-2);
    const restored = new RateLimiter({
      clock: new ManualClock(),
      maxTokens: 2,
      refillRate: 1,
      maxWait: '10s',
      initialState: snapshot,
    });
    expect(restored.availableTokens).to.equal(0);
    expect(restored.tryAcquire()).to.equal(false);
  });

  const cases: Array<
    [string, (s: RateLimiterSnapshot) => unknown, 'TypeError' | 'RangeError', RegExp]
  > = [
    ['a number', () => 3, 'TypeError', /must be a RateLimiter snapshot/],
    [
      'a circuit breaker snapshot',
      (s) => ({ ...s, format: 'bulwark.circuit-breaker' }),
      'TypeError',
      /its format is "bulwark.circuit-breaker"/,
    ],
    [
      'another version',
      (s) => ({ ...s, version: 0 }),
      'RangeError',
      /version 0; this bulwark reads version 1/,
    ],
    [
      'a token count that is no number',
      (s) => ({ ...s, tokens: '5' }),
      'TypeError',
      /`tokens` must be a finite number/,
    ],
    [
      'more tokens than its bucket holds',
      (s) => ({ ...s, tokens: 11 }),
      'TypeError',
      /`tokens` must be a finite number <= its `maxTokens` \(10\), got 11/,
    ],
    [
      'a bucket of no size',
      (s) => ({ ...s, maxTokens: 0 }),
      'TypeError',
      /`maxTokens` must be a finite number >= 1/,
    ],
  ];
  for (const [what, make, name, message] of cases) {
    it(`refuses ${what} with a ${name} naming initialState`, () => {
      const good = new RateLimiter().toJSON();
      let error: unknown;
      try {
        new RateLimiter({ initialState: make(good) as RateLimiterSnapshot });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(name === 'TypeError' ? TypeError : RangeError);
      expect(isOptionError(error) && error.option).to.equal('initialState');
      expect((error as Error).message)
        .to.match(/^`initialState` /)
        .and.match(message);
    });
  }

  it('refuses initialState with a store of its own, and toJSON on such a limiter', () => {
    const store: RateLimiterStore = {
      configure: () => undefined,
      tryReserve: () => false,
      reserve: () => Promise.resolve(0),
      refund: () => undefined,
      available: () => 0,
    };
    const initialState = new RateLimiter().toJSON();
    expect(() => new RateLimiter({ store, initialState }))
      .to.throw(
        TypeError,
        '`initialState` needs the in-memory store: a shared store keeps its state itself, got an object',
      )
      .with.property('option', 'initialState');
    expect(() => new RateLimiter({ store }).toJSON()).to.throw(
      TypeError,
      'RateLimiter.toJSON() needs the in-memory store: a shared store keeps its state itself',
    );
  });
});
