// Keyed stages, white-box through a policy: a circuit breaker, rate limiter or bulkhead given
// `key` keeps one primitive per key and runs each call through its key's primitive with the
// kind's own step (refusals, events, counters), reports its keys in metrics(), and never drops
// the primitive of a call in flight.
import { expect } from 'chai';
import {
  BulkheadFullError,
  CircuitOpenError,
  RateLimitExceededError,
} from '../../../src/errors.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { stages } from '../../../src/pipeline/stages.js';
import type { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Keyed } from '../../../src/strategies/keyed/Keyed.js';
import { InMemoryRateLimiterStore } from '../../../src/strategies/rate-limiter/store.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf } from '../../support/promises.js';

const host = (ctx: ExecutionContext) => ctx.data.get('host') as string;
const on = (h: string) => ({ data: { host: h } });
const boom = () => Promise.reject(new Error('down'));

describe('Keyed stages', () => {
  it('opens the circuit of one host without ever refusing another', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('hosts')
      .circuitBreaker({ key: host, failureThreshold: 2, recoveryTimeout: '30s', clock })
      .build();
    await rejectionOf(policy.execute(boom, on('a')));
    await rejectionOf(policy.execute(boom, on('a')));
    expect(await rejectionOf(policy.execute(() => 'x', on('a')))).to.be.instanceOf(
      CircuitOpenError,
    );
    for (let i = 0; i < 50; i++) {
      expect(await policy.execute(() => i, on(`other-${i}`))).to.equal(i);
    }
    expect(policy.metrics().rejections.circuitOpen).to.equal(1);
  });

  it('reports refusals with the key in the rejected event and counts them', async () => {
    const policy = Policy.builder('users')
      .rateLimiter({ key: (ctx) => ctx.data.get('user') as string, maxTokens: 1, refillRate: 1 })
      .build();
    const events: unknown[] = [];
    policy.on('rejected', (e) => events.push(e));
    await policy.execute(() => 1, { data: { user: 'ann' } });
    await policy.execute(() => 1, { data: { user: 'bob' } });
    const error = await rejectionOf(policy.execute(() => 1, { data: { user: 'ann' } }));
    expect(error).to.be.instanceOf(RateLimitExceededError);
    expect(events).to.deep.equal([
      { policy: 'users', stage: 'rate-limiter', reason: 'rate-limit', error, key: 'ann' },
    ]);
    expect(policy.metrics().rejections.rateLimit).to.equal(1);
  });

  it('gives each key its own bulkhead slots', async () => {
    const policy = Policy.builder('tenants').bulkhead({ key: host, maxConcurrent: 1 }).build();
    const work = deferred<string>();
    const a = policy.execute(() => work.promise, on('a'));
    expect(await rejectionOf(policy.execute(() => 'a2', on('a')))).to.be.instanceOf(
      BulkheadFullError,
    );
    expect(await policy.execute(() => 'b', on('b'))).to.equal('b');
    work.resolve('a');
    expect(await a).to.equal('a');
    expect(await policy.execute(() => 'a3', on('a'))).to.equal('a3');
  });

  it('brings an evicted key back with a closed circuit', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({
      key: host,
      maxKeys: 2,
      failureThreshold: 1,
      recoveryTimeout: '1s',
      clock,
    });
    const policy = Policy.builder('p').use(stage).build();
    await rejectionOf(policy.execute(boom, on('a')));
    const first = stage.primitive.get('a');
    expect(first.state).to.equal('open');
    clock.tick(1000); // HALF_OPEN: kept until a trial call closes it
    await policy.execute(() => 1, on('b'));
    await policy.execute(() => 1, on('c'));
    expect(stage.primitive.keys()).to.have.members(['a', 'c']); // b went, not a
    await policy.execute(() => 1, on('a')); // the trial call closes it: at rest
    await policy.execute(() => 1, on('d'));
    await policy.execute(() => 1, on('e'));
    expect(stage.primitive.keys()).to.deep.equal(['d', 'e']);
    expect(await policy.execute(() => 'back', on('a'))).to.equal('back');
    expect(stage.primitive.get('a')).to.not.equal(first);
    expect(stage.primitive.get('a').state).to.equal('closed');
  });

  it('keeps a tripped circuit through an idle spell: one trial call, the others refused', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({
      key: host,
      failureThreshold: 1,
      recoveryTimeout: '30s',
      idleTimeout: '10s',
      clock,
    });
    const policy = Policy.builder('p').use(stage).build();
    await rejectionOf(policy.execute(boom, on('a')));
    clock.tick(31_000); // idle past idleTimeout, and HALF_OPEN
    let reached = 0;
    const slow = () =>
      new Promise<never>((_, reject) => {
        reached++;
        clock.setTimeout(() => reject(new Error('still down')), 20);
      });
    const burst = Array.from({ length: 5 }, () =>
      policy.execute(slow, on('a')).then(
        () => 'ok',
        (e: Error) => e.name,
      ),
    );
    await flush();
    clock.tick(20);
    expect(await Promise.all(burst)).to.deep.equal([
      'Error',
      'CircuitOpenError',
      'CircuitOpenError',
      'CircuitOpenError',
      'CircuitOpenError',
    ]);
    expect(reached).to.equal(1);
  });

  it('never drops the primitive of a call in flight (a half-open probe), even past maxKeys', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({
      key: host,
      maxKeys: 1,
      failureThreshold: 1,
      recoveryTimeout: '1s',
      clock,
    });
    const policy = Policy.builder('p').use(stage).build();
    await rejectionOf(policy.execute(boom, on('a')));
    clock.tick(1000);
    const probe = deferred<string>();
    const call = policy.execute(() => probe.promise, on('a'));
    const breaker = stage.primitive.get('a');
    expect(breaker.state).to.equal('half-open');
    await policy.execute(() => 1, on('b'));
    expect(stage.primitive.keys(), 'a holds its probe').to.include('a');
    probe.resolve('ok');
    expect(await call).to.equal('ok');
    expect(breaker.state, 'the probe decided on the same breaker').to.equal('closed');
    await policy.execute(() => 1, on('c'));
    expect(stage.primitive.size).to.equal(1);
  });

  it('lists the keys that refuse calls in metrics(), at most 20, with the number of keys', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('p')
      .circuitBreaker({ key: host, failureThreshold: 1, recoveryTimeout: '1m', clock }, 'hosts')
      .build();
    for (let i = 0; i < 25; i++) await rejectionOf(policy.execute(boom, on(`down-${i}`)));
    for (let i = 0; i < 5; i++) await policy.execute(() => i, on(`up-${i}`));
    const [state] = policy.metrics().stages;
    expect(state).to.include({
      kind: 'circuit-breaker',
      name: 'hosts',
      keys: 30,
      maxKeys: 1000,
      busyKeys: 25,
      refusingKeys: 25,
    });
    const refusing = (state as unknown as { refusing: Array<{ key: string; state: string }> })
      .refusing;
    expect(refusing).to.have.length(20);
    expect(refusing[0]).to.include({ key: 'down-0', state: 'open' });
    expect(JSON.parse(JSON.stringify(state))).to.deep.equal(state);
  });

  it('fails a call with what the key function throws, and a non-string key with a TypeError', async () => {
    const thrown = new Error('no host');
    const policy = Policy.builder('p')
      .bulkhead({
        key: (ctx) => {
          const h = ctx.data.get('host');
          if (h === undefined) throw thrown;
          return h as string;
        },
      })
      .build();
    expect(await rejectionOf(policy.execute(() => 1))).to.equal(thrown);
    const error = await rejectionOf(policy.execute(() => 1, { data: { host: 42 } }));
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.equal('`key` must be a string, got 42');
    expect(policy.metrics()).to.include({ calls: 2, failures: 2 });
  });

  it('fails a call whose key cannot be read (a Proxy whose traps throw) with the same TypeError', async () => {
    const trap = (name: string) => () => {
      throw new Error(`trap:${name}`);
    };
    const hostile = new Proxy(
      {},
      {
        get: trap('get'),
        has: trap('has'),
        ownKeys: trap('ownKeys'),
        getPrototypeOf: trap('proto'),
      },
    );
    for (const policy of [
      Policy.builder('p')
        .circuitBreaker({ key: () => hostile as never })
        .build(),
      Policy.builder('p')
        .rateLimiter({ key: () => hostile as never })
        .build(),
    ]) {
      const error = await rejectionOf(policy.execute(() => 1));
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.equal(
        '`key` must be a string, got an object that cannot be read',
      );
    }
  });

  it('validates at construction: key, maxKeys, idleTimeout, a store, and the kind options', () => {
    expect(() => stages.circuitBreaker({ key: 'host' as never })).to.throw(
      TypeError,
      '`key` must be a function, got "host"',
    );
    expect(() => Policy.builder().bulkhead({ key: host, maxKeys: 0 })).to.throw(
      RangeError,
      '`maxKeys` must be an integer >= 1, got 0',
    );
    expect(() => Policy.builder().rateLimiter({ key: host, idleTimeout: -1 })).to.throw(
      RangeError,
      '`idleTimeout`',
    );
    expect(() => Policy.builder().rateLimiter({ key: host, maxTokens: 0 })).to.throw(
      RangeError,
      '`maxTokens`',
    );
    expect(() =>
      Policy.builder().circuitBreaker({ key: host, store: {} as never, failureThreshold: 1 }),
    ).to.throw(TypeError, '`store` must be a store with per-key views (`forKey(key)`) or left out');
    expect(() => stages.retry({ key: host } as never)).to.throw(TypeError, 'unknown option `key`');
  });

  it('takes key, maxKeys and idleTimeout left undefined as unset, as their type allows', () => {
    const unset = { key: undefined, maxKeys: undefined, idleTimeout: undefined };
    const bulkhead = Policy.builder()
      .bulkhead({ maxConcurrent: 2, ...unset })
      .build();
    expect(bulkhead.metrics().stages[0]).to.include({ maxConcurrent: 2, availableSlots: 2 });
    expect(() => stages.rateLimiter({ maxTokens: 5, idleTimeout: undefined })).not.to.throw();
    expect(() => stages.circuitBreaker({ failureThreshold: 2, key: undefined })).not.to.throw();
  });

  it('says that maxKeys and idleTimeout need key, for every kind that takes one', () => {
    const cases = [
      [
        'bulkhead',
        { maxKeys: 5, maxConcurrent: 2 },
        '`maxKeys` must be unset without `key`, got 5',
      ],
      [
        'rateLimiter',
        { maxTokens: 5, idleTimeout: '1m' },
        '`idleTimeout` must be unset without `key`, got "1m"',
      ],
      [
        'circuitBreaker',
        { failureThreshold: 2, maxKeys: 5 },
        '`maxKeys` must be unset without `key`, got 5',
      ],
    ] as const;
    for (const [method, options, message] of cases) {
      const option = 'maxKeys' in options ? 'maxKeys' : 'idleTimeout';
      const received = (options as Record<string, unknown>)[option];
      const builder = Policy.builder() as unknown as Record<string, (o: unknown) => unknown>;
      expect(() => builder[method]!(options))
        .to.throw(TypeError, message)
        .that.deep.includes({ option, received });
      const factory = stages[method] as (o: unknown) => unknown;
      expect(() => factory(options)).to.throw(TypeError, message);
    }
  });

  it('asks a store with per-key views for the views of the keys called, and no other', async () => {
    const asked: string[] = [];
    const store = {
      forKey(key: string) {
        asked.push(key);
        return new InMemoryRateLimiterStore();
      },
    };
    const policy = Policy.builder('users')
      .rateLimiter({
        key: (ctx) => ctx.data.get('user') as string,
        maxTokens: 1,
        refillRate: 1,
        store: store as never,
      })
      .build();
    expect(asked).to.deep.equal([]);
    await policy.execute(() => 1, { data: { user: 'ann' } });
    await policy.execute(() => 1, { data: { user: 'bob' } });
    expect(await rejectionOf(policy.execute(() => 1, { data: { user: 'ann' } }))).to.have.property(
      'name',
      'RateLimitExceededError',
    );
    expect(asked).to.deep.equal(['ann', 'bob']);
  });

  it('describes the stage with its bounds and its kind', () => {
    const policy = Policy.builder('p')
      .rateLimiter({ key: host, maxKeys: 50, idleTimeout: '1m', maxTokens: 5, refillRate: 1 })
      .build();
    expect(policy.describe()).to.equal(
      '1. rate-limiter: per key (at most 50 keys, idle 60000 ms): 5 tokens, refill 1/s, no wait',
    );
  });

  it('reports circuit-state events of every key while someone listens', async () => {
    const stage = stages.circuitBreaker({ key: host, failureThreshold: 1 });
    const policy = Policy.builder('p').use(stage).build();
    await rejectionOf(policy.execute(boom, on('a')));
    const changes: unknown[] = [];
    const off = policy.on('circuit-state', (e) => changes.push(e));
    await rejectionOf(policy.execute(boom, on('b')));
    stage.primitive.get('a').reset();
    // Each names its key, as the `rejected` events do.
    expect(changes).to.deep.equal([
      { policy: 'p', stage: 'circuit-breaker', from: 'closed', to: 'open', key: 'b' },
      { policy: 'p', stage: 'circuit-breaker', from: 'open', to: 'closed', key: 'a' },
    ]);
    off();
    await rejectionOf(policy.execute(boom, on('c')));
    expect(changes).to.have.length(2);
  });

  it('runs by hand as a one-stage policy, and shares its holder between policies', async () => {
    const stage = stages.bulkhead({ key: host, maxConcurrent: 1 });
    expect(stage.primitive).to.be.instanceOf(Keyed);
    const ctx = {
      policyName: 'x',
      signal: new AbortController().signal,
      attempt: 1,
      startedAt: 0,
      data: new Map([['host', 'h']]),
      deadline: Infinity,
      remaining: Infinity,
    };
    expect(await stage.execute(ctx, async () => 'ran')).to.equal('ran');
    const one = Policy.builder('one').use(stage).build();
    const two = Policy.builder('two').use(stage).build();
    const work = deferred<string>();
    const running = one.execute(() => work.promise, on('h'));
    expect(await rejectionOf(two.execute(() => 'no', on('h')))).to.be.instanceOf(BulkheadFullError);
    work.resolve('done');
    await running;
    await flush();
    expect(stage.primitive.get('h').availableSlots).to.equal(1);
  });

  it('keeps a breaker opened through one policy per key with a retry around it', async () => {
    const stage = stages.circuitBreaker({ key: host, failureThreshold: 2 });
    const policy = Policy.builder('p').retry({ maxAttempts: 3, delay: 0 }).use(stage).build();
    const error = await rejectionOf(policy.execute(boom, on('a')));
    expect(error).to.be.instanceOf(CircuitOpenError);
    const breaker: CircuitBreaker = stage.primitive.get('a');
    expect(breaker.state).to.equal('open');
    expect(stage.primitive.get('b').state).to.equal('closed');
  });

  it('keeps a key whose slot follows work a deadline inside already answered', async () => {
    const clock = new ManualClock();
    const stage = stages.bulkhead({ key: host, maxKeys: 1, maxConcurrent: 1, clock });
    const policy = Policy.builder('p')
      .clock(clock)
      .use(stage)
      .timeout({ timeout: 10, clock })
      .build();
    const work = deferred<string>();
    const call = rejectionOf(policy.execute(() => work.promise, on('a')));
    await clock.advance(10);
    expect(((await call) as Error).name).to.equal('OperationTimeoutError');
    const bulkhead = stage.primitive.get('a');
    expect(bulkhead.orphaned).to.equal(1);
    await policy.execute(() => 'b', on('b'));
    expect(stage.primitive.keys(), 'a still holds its slot').to.include('a');
    expect(await rejectionOf(policy.execute(() => 'a2', on('a')))).to.be.instanceOf(
      BulkheadFullError,
    );
    work.resolve('late');
    await flush();
    expect(bulkhead.availableSlots).to.equal(1);
    await policy.execute(() => 'c', on('c'));
    expect(stage.primitive.keys()).to.deep.equal(['c']);
  });

  it('lists empty buckets and full bulkheads as refusing, and counts busy keys apart', async () => {
    const clock = new ManualClock();
    const limited = Policy.builder('l')
      .rateLimiter({ key: host, maxTokens: 2, refillRate: 1, clock })
      .build();
    await limited.execute(() => 1, on('half'));
    await limited.execute(() => 1, on('empty'));
    await limited.execute(() => 1, on('empty'));
    expect(limited.metrics().stages[0]).to.deep.include({
      keys: 2,
      busyKeys: 2,
      refusingKeys: 1,
      refusing: [{ key: 'empty', availableTokens: 0, maxTokens: 2, queued: 0 }],
    });
    clock.tick(2000);
    expect(limited.metrics().stages[0]).to.deep.include({
      busyKeys: 0,
      refusingKeys: 0,
      refusing: [],
    });

    const pools = Policy.builder('b').bulkhead({ key: host, maxConcurrent: 2 }).build();
    const work = deferred<number>();
    const running = [
      pools.execute(() => work.promise, on('one')),
      pools.execute(() => work.promise, on('full')),
      pools.execute(() => work.promise, on('full')),
    ];
    const [state] = pools.metrics().stages;
    expect(state).to.deep.include({ keys: 2, busyKeys: 2, refusingKeys: 1 });
    expect((state as unknown as { refusing: Array<{ key: string }> }).refusing).to.deep.equal([
      { key: 'full', availableSlots: 0, maxConcurrent: 2, queued: 0, orphaned: 0 },
    ]);
    work.resolve(1);
    await Promise.all(running);
    expect(pools.metrics().stages[0]).to.deep.include({ busyKeys: 0, refusingKeys: 0 });
  });

  it('counts idleness from the end of the last call, and drops idle keys on a later call', async () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer for idle keys' });
    const stage = stages.bulkhead({ key: host, idleTimeout: '1m', clock });
    const policy = Policy.builder('p').clock(clock).use(stage).build();
    const long = deferred<number>();
    const running = policy.execute(() => long.promise, on('slow'));
    await policy.execute(() => 1, on('quick'));
    clock.tick(120_000); // both past idleTimeout since they started; slow still runs
    await policy.execute(() => 1, on('other'));
    expect(stage.primitive.keys()).to.deep.equal(['slow', 'other']);
    long.resolve(1);
    await running;
    clock.tick(59_999);
    await policy.execute(() => 1, on('other'));
    expect(stage.primitive.keys(), 'slow ended 59.999 s ago').to.include('slow');
    clock.tick(1);
    await policy.execute(() => 1, on('other'));
    expect(stage.primitive.keys()).to.deep.equal(['other']);
  });

  it('drops a key idle for idleTimeout on the next call, also behind a key whose call ended later', async () => {
    const clock = new ManualClock(0, { forbidTimers: 'no timer for idle keys' });
    const stage = stages.bulkhead({ key: host, idleTimeout: 1000, clock });
    const policy = Policy.builder('p').clock(clock).use(stage).build();
    const work = deferred<number>();
    const slow = policy.execute(() => work.promise, on('a'));
    clock.tick(10);
    await policy.execute(() => 1, on('b'));
    clock.tick(490);
    work.resolve(1);
    await slow; // a was last used at 500, b at 10
    clock.tick(500);
    await policy.execute(() => 1, on('c'));
    clock.tick(10);
    await policy.execute(() => 1, on('c'));
    expect(stage.primitive.keys(), 'b unused for 1000 ms').to.deep.equal(['a', 'c']);
  });

  it('works around the stages inside it: a retry, a fallback and a deadline per attempt', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({ key: host, failureThreshold: 3, clock });
    const policy = Policy.builder<string>('p')
      .clock(clock)
      .use(stage)
      .fallback({ value: 'fallback', on: (e) => (e as Error).message === 'soft' })
      .retry({ maxAttempts: 2, delay: 0 })
      .timeout({ timeout: 10, clock })
      .build();
    let calls = 0;
    const flaky = () => (++calls % 2 === 1 ? Promise.reject(new Error('once')) : 'ok');
    expect(await policy.execute(flaky, on('a'))).to.equal('ok');
    expect(await policy.execute(() => Promise.reject(new Error('soft')), on('a'))).to.equal(
      'fallback',
    );
    const hanging = rejectionOf(policy.execute(() => new Promise<string>(() => {}), on('b')));
    await clock.advance(10);
    await flush();
    await clock.advance(10);
    expect(((await hanging) as Error).name).to.equal('OperationTimeoutError');
    expect(stage.primitive.get('b').metrics.failedCalls).to.equal(1);
    expect(stage.primitive.get('a').metrics).to.include({ failedCalls: 0, bufferedCalls: 2 });
  });
});
