// The Keyed holder on its own, with an injected clock: one instance per key, least recently used
// dropped first past maxKeys (those at rest before those that hold something: an open circuit, a
// drained bucket), idle instances at rest dropped on the next use (no timer), and instances in
// use (a slot, a waiter, an ISOLATED circuit) never dropped.
import { expect } from 'chai';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Keyed } from '../../../src/strategies/keyed/Keyed.js';
import { RateLimiter } from '../../../src/strategies/rate-limiter/RateLimiter.js';
import { ManualClock } from '../../support/clock.js';

const noTimers = () => new ManualClock(0, { forbidTimers: 'Keyed must never set a timer' });

describe('Keyed', () => {
  describe('construction', () => {
    it('refuses a factory that is not a function, naming it', () => {
      expect(() => new Keyed(42 as never)).to.throw(TypeError, '`factory` must be a function');
    });

    it('refuses maxKeys below 1 or not an integer with errors naming the option and value', () => {
      expect(() => new Keyed(() => ({}), { maxKeys: 0 })).to.throw(
        RangeError,
        '`maxKeys` must be an integer >= 1, got 0',
      );
      expect(() => new Keyed(() => ({}), { maxKeys: 1.5 })).to.throw(RangeError, 'got 1.5');
      expect(() => new Keyed(() => ({}), { maxKeys: '10' as never })).to.throw(
        TypeError,
        '`maxKeys`',
      );
    });

    it('refuses an idleTimeout that is not a duration > 0', () => {
      expect(() => new Keyed(() => ({}), { idleTimeout: 0 })).to.throw(
        RangeError,
        '`idleTimeout` must be a duration > 0, got 0',
      );
      expect(() => new Keyed(() => ({}), { idleTimeout: 'soon' })).to.throw(
        TypeError,
        '`idleTimeout`',
      );
      // Finite, as every duration but `maxWait`.
      expect(() => new Keyed(() => ({}), { idleTimeout: Infinity })).to.throw(
        RangeError,
        '`idleTimeout` must be a finite duration, got Infinity',
      );
      expect(new Keyed(() => ({}), { idleTimeout: '30d' }).idleTimeoutMs).to.equal(2_592_000_000);
    });

    it('refuses unknown options with a suggestion, and ill-typed resting and clock', () => {
      expect(() => new Keyed(() => ({}), { maxKey: 3 } as never)).to.throw(
        TypeError,
        'unknown option `maxKey` (did you mean `maxKeys`?)',
      );
      expect(() => new Keyed(() => ({}), { resting: true as never })).to.throw(
        TypeError,
        '`resting` must be a function',
      );
      expect(() => new Keyed(() => ({}), { clock: {} as never })).to.throw(TypeError, '`clock`');
    });

    it('defaults to 1000 keys and 10 minutes', () => {
      const keyed = new Keyed(() => ({}));
      expect(keyed.maxKeys).to.equal(1000);
      expect(keyed.idleTimeoutMs).to.equal(600_000);
    });
  });

  it('makes one instance per key, on first use, and hands the same one back', () => {
    const made: string[] = [];
    const keyed = new Keyed((key) => {
      made.push(key);
      return { key };
    });
    const a = keyed.get('a');
    expect(keyed.get('a')).to.equal(a);
    expect(keyed.get('b')).to.not.equal(a);
    expect(made).to.deep.equal(['a', 'b']);
    expect(keyed.size).to.equal(2);
    expect(() => keyed.get(7 as never)).to.throw(TypeError, '`key` must be a string, got 7');
  });

  it('drops the least recently used instance past maxKeys', () => {
    const keyed = new Keyed((key) => ({ key }), { maxKeys: 3, clock: noTimers() });
    keyed.get('a');
    keyed.get('b');
    keyed.get('c');
    keyed.get('a'); // now b is the least recently used
    keyed.get('d');
    expect(keyed.keys()).to.deep.equal(['c', 'a', 'd']);
    expect(keyed.size).to.equal(3);
  });

  it('gives a key whose instance was dropped a new instance (a closed circuit)', () => {
    const clock = noTimers();
    const keyed = new Keyed(() => new CircuitBreaker({ failureThreshold: 1, clock }), {
      maxKeys: 1,
      clock,
    });
    const first = keyed.get('a');
    first.onFailure(new Error('x'));
    expect(first.state).to.equal('open');
    clock.tick(60_000); // past the recovery time: HALF_OPEN, and a trial call closes it
    first.onSuccess(0, first.beforeCall());
    keyed.get('b');
    const again = keyed.get('a');
    expect(again).to.not.equal(first);
    expect(again.state).to.equal('closed');
  });

  it('drops an instance unused for idleTimeout on the next use, without any timer', () => {
    const clock = noTimers();
    const keyed = new Keyed((key) => ({ key }), { idleTimeout: 1000, clock });
    keyed.get('a');
    clock.tick(500);
    keyed.get('b');
    clock.tick(500);
    expect(keyed.keys(), 'a unused for 1000 ms').to.deep.equal(['b']);
    clock.tick(499);
    expect(keyed.size).to.equal(1);
    clock.tick(1);
    expect(keyed.size).to.equal(0);
  });

  it('keeps a circuit that is not CLOSED until it closes or has been HALF_OPEN for idleTimeout', () => {
    const clock = noTimers();
    const keyed = new Keyed(
      () => new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 30_000, clock }),
      { maxKeys: 2, idleTimeout: 1000, clock },
    );
    keyed.get('down').onFailure(new Error('x'));
    keyed.get('b');
    keyed.get('c'); // over maxKeys: b is dropped, not the open circuit
    expect(keyed.keys()).to.have.members(['down', 'c']);
    clock.tick(5000); // idle, but still open
    expect(keyed.keys()).to.deep.equal(['down']);
    expect(keyed.get('down').state).to.equal('open');
    // Past its recovery time it reads HALF_OPEN: a new breaker would admit every call instead
    // of its trial calls, so it stays, idle as it is, for idleTimeout after its open time ended.
    clock.tick(25_000);
    clock.tick(999);
    expect(keyed.keys()).to.deep.equal(['down']);
    expect(keyed.get('down').state).to.equal('half-open');
    const down = keyed.get('down');
    down.onSuccess(0, down.beforeCall()); // its trial call closes it: at rest
    clock.tick(1000);
    expect(keyed.size).to.equal(0);
  });

  it('drops a tripped circuit nobody calls once seen HALF_OPEN for idleTimeout, below maxKeys', () => {
    const clock = noTimers();
    const keyed = new Keyed(
      () => new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 30_000, clock }),
      { maxKeys: 5, idleTimeout: 10_000, clock },
    );
    for (const host of ['a', 'b', 'c']) keyed.get(host).onFailure(new Error('down'));
    expect(keyed.size, 'open circuits stay').to.equal(3);
    clock.tick(30_000); // open time over: seen HALF_OPEN now, kept for idleTimeout from here
    expect(keyed.size).to.equal(3);
    clock.tick(9_999);
    expect(keyed.size).to.equal(3);
    clock.tick(1);
    expect(keyed.size).to.equal(0);
  });

  it('keeps the open time a circuit grew by recoveryBackoff through an idle spell', () => {
    const clock = noTimers();
    const keyed = new Keyed(
      () =>
        new CircuitBreaker({
          failureThreshold: 1,
          recoveryTimeout: 100,
          recoveryBackoff: 4,
          maxRecoveryTimeout: 1000,
          clock,
        }),
      { idleTimeout: 50, clock },
    );
    keyed.get('a').onFailure(new Error('down')); // open for 100
    clock.tick(100); // idle past idleTimeout, HALF_OPEN: its trial call fails
    const a = keyed.get('a');
    expect(a.state).to.equal('half-open');
    a.onFailure(new Error('down'), 0, a.beforeCall()); // re-opens for 400, until t=500
    clock.tick(200);
    keyed.get('b');
    expect(keyed.get('a')).to.equal(a);
    expect(() => a.beforeCall())
      .to.throw('open')
      .with.property('retryAfterMs', 200);
  });

  it('drops an OPEN circuit past maxKeys only when none of the least recently used is at rest', () => {
    const clock = noTimers();
    const keyed = new Keyed(
      () => new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 30_000, clock }),
      { maxKeys: 2, clock },
    );
    const down = keyed.get('down');
    down.onFailure(new Error('x'));
    keyed.get('up');
    keyed.get('new'); // `up` is at rest: it goes, the open circuit stays
    expect(keyed.keys()).to.have.members(['down', 'new']);
    keyed.get('new').onFailure(new Error('x'));
    keyed.get('next'); // both open: the least recently used one goes, open as it is
    expect(keyed.keys()).to.have.members(['new', 'next']);
    expect(keyed.droppedBusy).to.equal(1);
    const back = keyed.get('down');
    expect(back, 'a new breaker, closed').to.not.equal(down);
    expect(back.state).to.equal('closed');
  });

  it('keeps the newest OPEN circuits through a flood of failing keys, dropping the oldest first', () => {
    const clock = noTimers();
    const keyed = new Keyed(
      () => new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1h', clock }),
      { maxKeys: 100, clock },
    );
    const trip = (key: string) => {
      clock.tick(1);
      keyed.get(key).onFailure(new Error('down'));
    };
    for (let i = 0; i < 1000; i++) trip(`junk-${i}`);
    trip('api.example');
    expect(keyed.keys().at(-1), 'the key just used is the most recent').to.equal('api.example');
    expect(keyed.keys()[0]).to.equal('junk-901');
    // The 99 keys older than it go first: it is dropped by the 100th new key after it.
    for (let i = 0; i < 99; i++) trip(`more-${i}`);
    expect(keyed.keys()[0]).to.equal('api.example');
    trip('more-99');
    expect(keyed.keys()).to.not.include('api.example');
    expect(keyed.keys()).to.deep.equal(Array.from({ length: 100 }, (_, i) => `more-${i}`));
    expect(keyed.droppedBusy).to.equal(1001);
  });

  it('stops looking for instances to drop when one it asks uses the holder, and drops them later', () => {
    const clock = new ManualClock();
    let sides = 0;
    const keyed: Keyed<CircuitBreaker> = new Keyed(
      () => {
        const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 1000, clock });
        // Read HALF_OPEN while the holder asks whether it is at rest: a listener uses the holder.
        breaker.onStateChange(({ to }) => {
          if (to === 'half-open') keyed.get(`side-${sides++}`);
        });
        return breaker;
      },
      { maxKeys: 3, idleTimeout: '30d', clock },
    );
    const isolated = keyed.get('iso');
    isolated.isolate();
    for (const key of ['a', 'b']) keyed.get(key).onFailure(new Error('x'));
    clock.tick(2000);
    keyed.get('new');
    // Each of a and b answered once after using the holder: asked again, both go (HALF_OPEN for
    // less than idleTimeout, and not in use), while the keys they made wait for the next use.
    expect(sides).to.equal(2);
    expect(keyed.keys(), 'over maxKeys for now').to.deep.equal(['iso', 'new', 'side-0', 'side-1']);
    keyed.get('next');
    expect(keyed.keys()).to.deep.equal(['side-1', 'iso', 'next']);
    expect(keyed.droppedBusy).to.equal(2);
    expect(keyed.get('iso')).to.equal(isolated);
    expect(isolated.state).to.equal('isolated');
  });

  it('stops sweeping idle instances when one it asks uses the holder, and sweeps them later', () => {
    const clock = new ManualClock();
    const keyed: Keyed<{ key: string }> = new Keyed((key) => ({ key }), {
      idleTimeout: 1000,
      clock,
      resting: (item) => {
        // Asking about `a` uses another key, and drops one.
        if (item.key === 'a') {
          keyed.get('side');
          keyed.delete('b');
        }
        return true;
      },
    });
    for (const key of ['a', 'b', 'c']) keyed.get(key);
    clock.tick(1000);
    expect(keyed.keys()).to.deep.equal(['side']);
    clock.tick(1000);
    expect(keyed.size).to.equal(0);
  });

  it('never drops an ISOLATED circuit, nor one a call waits on, and drops the others', async () => {
    const clock = new ManualClock();
    const keyed = new Keyed(
      () =>
        new CircuitBreaker({
          failureThreshold: 1,
          recoveryTimeout: 1000,
          halfOpenWait: '10s',
          clock,
        }),
      { maxKeys: 1, clock },
    );
    keyed.get('quarantined').isolate();
    const waited = keyed.get('waited');
    waited.onFailure(new Error('x'));
    clock.tick(1000); // HALF_OPEN: a trial call runs, the next call waits for its verdict
    const ticket = waited.beforeCall();
    const waiting = waited.execute(() => 'after');
    for (let i = 0; i < 100; i++) keyed.get(`down-${i}`).onFailure(new Error('x'));
    expect(keyed.keys()).to.have.members(['quarantined', 'waited', 'down-99']);
    waited.onSuccess(0, ticket); // closes: the waiting call runs
    expect(await waiting).to.equal('after');
    keyed.get('down-100');
    expect(keyed.keys()).to.have.members(['quarantined', 'down-100']);
    keyed.get('quarantined').reset();
    keyed.get('down-101').onFailure(new Error('x'));
    expect(keyed.keys()).to.have.members(['down-101']);
  });

  it('never drops a bulkhead holding a slot or a waiter, nor a limiter with callers waiting', async () => {
    const clock = new ManualClock();
    const bulkheads = new Keyed(
      () => new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '1m', clock }),
      { maxKeys: 1, clock },
    );
    const a = bulkheads.get('a');
    expect(a.tryAcquire()).to.equal(true);
    const queued = a.acquire(); // waits for the slot
    bulkheads.get('b');
    expect(bulkheads.keys(), 'over maxKeys while a holds its slot').to.have.members(['a', 'b']);
    a.release(); // the waiter takes it
    await queued;
    bulkheads.get('c');
    expect(bulkheads.keys(), 'a holds its slot, b at rest goes').to.have.members(['a', 'c']);
    a.release();
    bulkheads.get('d'); // both a and c are at rest now: both go
    expect(bulkheads.keys()).to.deep.equal(['d']);

    const limiters = new Keyed(
      () => new RateLimiter({ maxTokens: 2, refillRate: 1, maxWait: '1m', clock }),
      { maxKeys: 1, clock },
    );
    const owed = limiters.get('owed');
    owed.tryAcquire();
    owed.tryAcquire();
    const waiting = owed.acquire(); // empty: waits for a token
    limiters.get('u1').tryAcquire(); // drained a little: not at rest, not in use
    limiters.get('u2');
    expect(limiters.keys(), 'u1 goes as the least recently used not in use').to.have.members([
      'owed',
      'u2',
    ]);
    clock.tick(1000);
    await waiting;
    clock.tick(2000); // refilled, nobody waits: at rest
    limiters.get('u3');
    expect(limiters.keys()).to.deep.equal(['u3']);
  });

  it('exceeds maxKeys while every instance is busy and shrinks back as they come to rest', () => {
    const clock = noTimers();
    const keyed = new Keyed(() => new Bulkhead({ maxConcurrent: 1, clock }), {
      maxKeys: 2,
      clock,
    });
    for (const key of ['a', 'b', 'c', 'd']) keyed.get(key).tryAcquire();
    expect(keyed.size).to.equal(4);
    for (const key of ['a', 'b', 'c', 'd']) keyed.get(key).release();
    keyed.get('e');
    expect(keyed.size).to.equal(2);
    expect(keyed.keys()).to.deep.equal(['d', 'e']);
  });

  it('asks the resting option for other instances, taking one whose check throws as not at rest', () => {
    const clock = noTimers();
    const busy = new Set(['a']);
    const keyed = new Keyed((key) => ({ key }), {
      maxKeys: 2,
      clock,
      resting: (item) => {
        if (item.key === 'boom') throw new Error('cannot tell');
        return !busy.has(item.key);
      },
    });
    keyed.get('a');
    keyed.get('c');
    keyed.get('b'); // a is not at rest: c goes, a keeps its place, b is the most recent
    expect(keyed.keys()).to.deep.equal(['a', 'b']);
    keyed.get('boom'); // b goes
    expect(keyed.keys()).to.deep.equal(['a', 'boom']);
    keyed.get('d'); // neither at rest: the least recently used goes all the same
    expect(keyed.keys()).to.deep.equal(['boom', 'd']);
    keyed.get('e');
    expect(keyed.keys()).to.deep.equal(['boom', 'e']);
    keyed.get('f');
    expect(keyed.keys()).to.deep.equal(['boom', 'f']);
    expect(keyed.droppedBusy).to.equal(1);
  });

  it('deletes a key whatever it holds, and reports whether it had one', () => {
    const keyed = new Keyed(() => new Bulkhead({ maxConcurrent: 1 }));
    const first = keyed.get('a');
    first.tryAcquire();
    expect(keyed.delete('a')).to.equal(true);
    expect(keyed.delete('a')).to.equal(false);
    expect(keyed.get('a')).to.not.equal(first);
  });

  it('passes what the factory throws to the caller and keeps no entry', () => {
    const keyed = new Keyed((key): object => {
      if (key === 'bad') throw new RangeError('no such host');
      return {};
    });
    expect(() => keyed.get('bad')).to.throw(RangeError, 'no such host');
    expect(keyed.size).to.equal(0);
  });

  it('bounds memory: 100,000 distinct keys leave at most maxKeys instances', () => {
    const clock = noTimers();
    const keyed = new Keyed(() => new CircuitBreaker({ clock }), { maxKeys: 100, clock });
    for (let i = 0; i < 100_000; i++) keyed.get(`host-${i}`).onSuccess();
    expect(keyed.size).to.equal(100);
    expect(keyed.keys()[99]).to.equal('host-99999');
  });
});
