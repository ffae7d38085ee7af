// The rate limiter's queue seen from its callers: when each waiter is served after one in the
// middle gives up, what `fn` receives after waiting, and the figures it reports.
import { expect } from 'chai';
import { RateLimitExceededError } from '../../src/errors.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { isOptionError } from '../../src/optionErrors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { Keyed } from '../../src/strategies/keyed/Keyed.js';
import { RATE_LIMITER, RATE_LIMITER_STAGE } from '../../src/strategies/rate-limiter/kind.js';
import {
  RateLimiter,
  type RateLimiterSnapshot,
} from '../../src/strategies/rate-limiter/RateLimiter.js';
import {
  InMemoryRateLimiterStore,
  type RateLimiterStore,
  type RateLimiterStoreConfig,
} from '../../src/strategies/rate-limiter/store.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf } from '../support/promises.js';

/** Records the clock time at which each named promise settles. */
function timed(
  clock: ManualClock,
  done: Record<string, number>,
  name: string,
  p: Promise<unknown>,
) {
  p.then(
    () => (done[name] = clock.now()),
    () => (done[name] = -clock.now()),
  );
}

describe('RateLimiter: the queue seen from its callers', () => {
  it('a waiter that aborts mid-queue hands its turn on: those behind and a newcomer are served sooner', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '10s', clock });
    expect(limiter.tryAcquire()).to.equal(true);
    const done: Record<string, number> = {};
    const leaving = new AbortController();
    timed(clock, done, 'a', limiter.acquire());
    timed(clock, done, 'b', limiter.acquire(1, leaving.signal));
    timed(clock, done, 'c', limiter.acquire());
    expect(limiter.queued).to.equal(3);
    await clock.advance(500);
    leaving.abort(new Error('left'));
    await clock.advance(0);
    expect(done.b, 'b rejected at once').to.equal(-500);
    expect(limiter.queued).to.equal(2);
    timed(clock, done, 'd', limiter.acquire());
    await clock.advance(10_000);
    expect(done).to.deep.equal({ a: 1000, b: -500, c: 2000, d: 3000 });
    expect(limiter.queued).to.equal(0);
  });

  it('a waiter that aborts gives back tokens for several permits', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 4, refillRate: 2, maxWait: '10s', clock });
    expect(limiter.tryAcquire(4)).to.equal(true);
    const done: Record<string, number> = {};
    const leaving = new AbortController();
    timed(clock, done, 'three', limiter.acquire(3, leaving.signal));
    timed(clock, done, 'one', limiter.acquire(1));
    leaving.abort(new Error('left'));
    timed(clock, done, 'two', limiter.acquire(2));
    await clock.advance(10_000);
    // At 2 tokens per second, as if the three were never asked for: 1 token after 500 ms, 2 more
    // after 1500 ms.
    expect(done).to.deep.equal({ three: -0, one: 500, two: 1500 });
  });

  it('passes fn the caller’s own signal after a wait for a token, or a signal that never aborts', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s', clock });
    expect(limiter.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const withSignal = limiter.execute((signal) => {
      seen.push(signal);
      return 'with';
    }, controller.signal);
    const without = limiter.execute((signal) => {
      seen.push(signal);
      return 'without';
    });
    await clock.advance(200);
    expect(await withSignal).to.equal('with');
    expect(await without).to.equal('without');
    expect(seen[0]).to.equal(controller.signal);
    expect(seen[1]).to.equal(NEVER_ABORTED);
  });

  it('never calls fn for a caller that gave up while waiting, and rejects with its reason', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 1, refillRate: 10, maxWait: '1s', clock });
    expect(limiter.tryAcquire()).to.equal(true);
    const controller = new AbortController();
    const reason = new Error('left');
    let calls = 0;
    const call = limiter.execute(() => ++calls, controller.signal);
    controller.abort(reason);
    expect(await rejectionOf(call)).to.equal(reason);
    await clock.advance(1000);
    expect(calls).to.equal(0);
    expect(limiter.availableTokens, 'the token went back').to.equal(1);
  });

  it('refuses a wait longer than maxWait with the time until the tokens would be there', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 4, maxWait: 300, clock });
    expect(limiter.tryAcquire(2)).to.equal(true);
    const first = limiter.acquire();
    const error = await rejectionOf(limiter.acquire(2));
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect((error as RateLimitExceededError).retryAfterMs).to.equal(750);
    await clock.advance(250);
    await first;
  });

  it('reports the tokens it holds, 0 while callers wait, never more than maxTokens', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 3, refillRate: 2, maxWait: '10s', clock });
    expect(limiter.availableTokens).to.equal(3);
    expect(limiter.tryAcquire(2.5)).to.equal(true);
    expect(limiter.availableTokens).to.equal(0.5);
    const waiting = limiter.acquire(2);
    expect(limiter.availableTokens).to.equal(0);
    await clock.advance(750);
    await waiting;
    expect(limiter.availableTokens).to.equal(0);
    await clock.advance(60_000);
    expect(limiter.availableTokens).to.equal(3);
  });

  it('refuses a bad number of permits, naming it, as a throw or a rejection', async () => {
    const limiter = new RateLimiter({ maxTokens: 3 });
    expect(() => limiter.tryAcquire(0)).to.throw(
      RangeError,
      '`permits` must be a finite number > 0, got 0',
    );
    expect(() => limiter.tryAcquire(Infinity)).to.throw(RangeError, 'a finite number > 0');
    expect(() => limiter.tryAcquire(NaN)).to.throw(RangeError, 'a finite number > 0');
    expect(() => limiter.tryAcquire('1' as never)).to.throw(TypeError, 'a finite number > 0');
    expect(() => limiter.tryAcquire(4)).to.throw(
      RangeError,
      '`permits` must be at most `maxTokens` (3) or it can never be served, got 4',
    );
    expect(limiter.tryAcquire(3)).to.equal(true);
    const error = await rejectionOf(limiter.acquire(-1));
    expect(error).to.be.instanceOf(RangeError);
    expect((error as Error).message).to.equal('`permits` must be a finite number > 0, got -1');
  });

  it('starts fn in the caller’s turn when a token is at hand', async () => {
    const limiter = new RateLimiter({ maxTokens: 1, clock: new ManualClock() });
    let called = false;
    const call = limiter.execute(() => (called = true));
    expect(called).to.equal(true);
    expect(await call).to.equal(true);
  });

  it('caps what a store reports at maxTokens', () => {
    let count = 0;
    const store: RateLimiterStore = {
      configure: () => undefined,
      tryReserve: () => false,
      reserve: () => 0,
      refund: () => undefined,
      available: () => count,
    };
    const limiter = new RateLimiter({ maxTokens: 3, store });
    count = 7;
    expect(limiter.availableTokens).to.equal(3);
    count = 2.5;
    expect(limiter.availableTokens).to.equal(2.5);
    count = -4;
    expect(limiter.availableTokens).to.equal(0);
  });
});

describe('RateLimiter: FIFO among this process’s callers, whatever the store says', () => {
  /** A shared bucket that has a token now, but answers a reservation with a 100 ms wait. */
  function generousStore(): RateLimiterStore & { taken: number } {
    return {
      taken: 0,
      configure: () => undefined,
      tryReserve(permits: number) {
        this.taken += permits;
        return true;
      },
      reserve(permits: number) {
        this.taken += permits;
        return 100;
      },
      refund: () => undefined,
      available: () => 1,
    };
  }

  it('makes execute wait behind a queued caller even when the store has a token now', async () => {
    const clock = new ManualClock();
    const store = generousStore();
    const limiter = new RateLimiter({ maxWait: '1s', clock, store });
    const order: string[] = [];
    const first = limiter.acquire().then(() => order.push('first'));
    expect(limiter.queued).to.equal(1);
    const second = limiter.execute(() => order.push('second'));
    await clock.advance(0);
    expect(order, 'the newcomer waits its turn').to.deep.equal([]);
    expect(limiter.queued).to.equal(2);
    await clock.advance(100);
    await Promise.all([first, second]);
    expect(order).to.deep.equal(['first', 'second']);
  });

  it('makes a policy call wait behind a queued caller even when the store has a token now', async () => {
    const clock = new ManualClock();
    const store = generousStore();
    const limiter = new RateLimiter({ maxWait: '1s', clock, store });
    const policy = Policy.builder<string>('p').clock(clock).rateLimiter(limiter).build();
    const order: string[] = [];
    const first = limiter.acquire().then(() => order.push('first'));
    const second = policy.execute(() => {
      order.push('second');
      return 'ran';
    });
    await clock.advance(0);
    expect(order, 'the newcomer waits its turn').to.deep.equal([]);
    expect(store.taken, 'one reservation each').to.equal(2);
    await clock.advance(100);
    await first;
    expect(await second).to.equal('ran');
    expect(order).to.deep.equal(['first', 'second']);
  });
});

describe('RateLimiter in a policy on its own clock', () => {
  /**
   * Clock reads of one policy call, with `limiter` (or nothing) as its only stage. The thunk
   * takes the context, so even the bare policy reads the start once.
   */
  async function readsOfOneCall(clock: ManualClock, limiter?: RateLimiter): Promise<number> {
    const builder = Policy.builder<string>('p').clock(clock);
    const policy = (limiter === undefined ? builder : builder.rateLimiter(limiter)).build();
    const before = clock.reads;
    expect(await policy.execute((_ctx) => 'ok')).to.equal('ok');
    return clock.reads - before;
  }

  it('decides at the instant the call started: the limiter costs the policy no clock read', async () => {
    const clock = new ManualClock();
    const bare = await readsOfOneCall(clock);
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, clock });
    expect(await readsOfOneCall(clock, limiter)).to.equal(bare);
    expect(limiter.availableTokens).to.equal(1);
  });
});

describe('RateLimiter: the clock it hands its store', () => {
  it('reads, sets and clears timers on the limiter’s clock', async () => {
    const clock = new ManualClock(1234);
    let given: RateLimiterStoreConfig | undefined;
    const store: RateLimiterStore = {
      configure: (config) => void (given = config),
      tryReserve: () => false,
      reserve: () => 0,
      refund: () => undefined,
      available: () => 0,
    };
    new RateLimiter({ clock, store });
    const storeClock = (given as RateLimiterStoreConfig).clock;
    expect(storeClock.now()).to.equal(1234);
    const fired: string[] = [];
    storeClock.setTimeout(() => fired.push('kept'), 10);
    const cleared = storeClock.setTimeout(() => fired.push('cleared'), 10);
    storeClock.clearTimeout(cleared);
    await clock.advance(10);
    expect(fired).to.deep.equal(['kept']);
  });
});

describe('InMemoryRateLimiterStore', () => {
  it('refuses to be used before a limiter configures it', () => {
    const store = new InMemoryRateLimiterStore();
    expect(() => store.available()).to.throw(
      Error,
      'InMemoryRateLimiterStore used before configure()',
    );
    expect(() => store.tryReserve(1)).to.throw(Error, 'before configure()');
  });

  it('never holds more than maxTokens after a refund', () => {
    const store = new InMemoryRateLimiterStore();
    const clock = new ManualClock();
    store.configure({ maxTokens: 3, refillRate: 1, clock });
    expect(store.reserve(1, 0)).to.equal(0);
    store.refund(2);
    expect(store.available()).to.equal(3);
    expect(store.tryReserve(3)).to.equal(true);
    expect(store.tryReserve(0.5), 'nothing left over').to.equal(false);
  });

  it('takes no tokens away when the clock goes back', () => {
    let t = 5000;
    const clock = { now: () => t, setTimeout: () => 0, clearTimeout: () => undefined };
    const limiter = new RateLimiter({ maxTokens: 10, refillRate: 1, clock });
    expect(limiter.tryAcquire(1)).to.equal(true);
    t = 4000;
    expect(limiter.availableTokens).to.equal(9);
    t = 6000;
    expect(limiter.availableTokens, 'refilled from the last decision').to.equal(10);
  });
});

describe('RateLimiter snapshots: what initialState takes', () => {
  const good = (over: Partial<RateLimiterSnapshot>): RateLimiterSnapshot => ({
    ...new RateLimiter().toJSON(),
    takenAt: Number.MAX_SAFE_INTEGER,
    ...over,
  });

  it('takes the snapshot of a one-token bucket', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({
      maxTokens: 1,
      clock,
      initialState: good({ maxTokens: 1, tokens: 0 }),
    });
    expect(limiter.availableTokens).to.equal(0);
  });

  it('caps a snapshot of a larger bucket at its own maxTokens, in what it serves too', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({
      maxTokens: 2,
      refillRate: 1,
      clock,
      initialState: good({ maxTokens: 10, tokens: 8 }),
    });
    expect(limiter.tryAcquire(2)).to.equal(true);
    expect(limiter.tryAcquire(0.5), 'no token beyond its own bucket').to.equal(false);
  });

  for (const refillRate of [0, -1, '2', Infinity]) {
    it(`refuses a snapshot whose refillRate is ${String(refillRate)}`, () => {
      let error: unknown;
      try {
        new RateLimiter({ initialState: good({ refillRate: refillRate as number }) });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TypeError);
      expect(isOptionError(error) && error.option).to.equal('initialState');
      expect((error as Error).message).to.include('`refillRate` must be a finite number > 0, got');
    });
  }

  it('names what it expected when a store of its own keeps the state', () => {
    const store: RateLimiterStore = {
      configure: () => undefined,
      tryReserve: () => false,
      reserve: () => 0,
      refund: () => undefined,
      available: () => 0,
    };
    expect(() => new RateLimiter({ store, initialState: good({}) }))
      .to.throw(TypeError)
      .with.property('expected', 'no `initialState` with a `store` of its own');
  });
});

describe('RateLimiter held by key', () => {
  it('is never dropped while a caller waits in its line, even once its bucket has refilled', () => {
    // A hand-made clock whose timers run only when told: time passes, the waiter's timer is late.
    let t = 0;
    const timers: Array<() => void> = [];
    const clock = {
      now: () => t,
      setTimeout: (fn: () => void) => timers.push(fn),
      clearTimeout: () => undefined,
    };
    const limiters = new Keyed(
      () => new RateLimiter({ maxTokens: 1, refillRate: 1, maxWait: '10s', clock }),
      { maxKeys: 1, clock },
    );
    const u1 = limiters.get('u1');
    expect(u1.tryAcquire()).to.equal(true);
    void u1.acquire();
    t = 5000;
    expect([u1.queued, u1.availableTokens]).to.deep.equal([1, 1]);
    limiters.get('u2');
    expect(limiters.keys(), 'u1 has a caller waiting').to.have.members(['u1', 'u2']);
    timers[0]?.();
    expect(u1.queued).to.equal(0);
    limiters.get('u3');
    expect(limiters.keys()).to.deep.equal(['u3']);
  });
});

describe('RateLimiter kind', () => {
  it('names itself when given a primitive of another kind', () => {
    expect(() => Policy.builder('p').rateLimiter(new Bulkhead() as never)).to.throw(
      TypeError,
      '`options` must be RateLimiter options or a RateLimiter, got an instance of Bulkhead',
    );
  });

  it('lists a bucket holding less than a token as refusing', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ maxTokens: 2, refillRate: 1, clock });
    expect(RATE_LIMITER_STAGE.refusing?.(limiter)).to.equal(false);
    expect(limiter.tryAcquire(1.5)).to.equal(true);
    expect(RATE_LIMITER_STAGE.refusing?.(limiter)).to.equal(true);
    clock.tick(500);
    expect(RATE_LIMITER_STAGE.refusing?.(limiter), 'exactly 1 token').to.equal(false);
  });

  it('describes its gauges of the tokens left and the callers waiting', () => {
    expect(RATE_LIMITER.gauges?.map((g) => [g.name, g.unit, g.description])).to.deep.equal([
      ['bulwark.ratelimiter.tokens', '{token}', 'Tokens available in a rate limiter bucket.'],
      ['bulwark.ratelimiter.queued', '{call}', 'Callers waiting for rate limiter tokens.'],
    ]);
  });
});
