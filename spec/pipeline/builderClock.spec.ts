// `builder.clock(c)`: the policy's clock reaches the stages the builder makes from options, in
// whichever order the builder's methods are called, and leaves clocks given explicitly alone.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import type { Clock } from '../../src/internal/clock.js';
import { AdaptiveLimit } from '../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import {
  InMemoryCircuitBreakerStore,
  type CircuitBreakerStoreConfig,
} from '../../src/strategies/circuit-breaker/store.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import { ManualClock } from '../support/clock.js';
import { deferred, never, settle } from '../support/promises.js';

describe('PolicyBuilder.clock', () => {
  it("reads a timeout's deadline on the policy's clock", async () => {
    const clock = new ManualClock(1000);
    const seen = await Policy.builder()
      .clock(clock)
      .timeout('5s')
      .build()
      .execute((ctx) => [ctx.startedAt, ctx.deadline, ctx.remaining]);
    expect(seen).to.deep.equal([1000, 6000, 5000]);
  });

  it('applies to the stages declared before it', async () => {
    const clock = new ManualClock(1000);
    const seen = await Policy.builder()
      .timeout({ timeout: '5s' })
      .clock(clock)
      .build()
      .execute((ctx) => ctx.deadline);
    expect(seen).to.equal(6000);
  });

  it('moves timeouts, retry waits, hedges and injected latency with the policy clock only', async () => {
    const clock = new ManualClock();
    const timedOut = settle(Policy.builder().clock(clock).timeout('5s').build().execute(never));
    let tries = 0;
    const retried = settle(
      Policy.builder()
        .retry({ maxAttempts: 2, delay: '10s' })
        .clock(clock)
        .build()
        .execute(() => {
          if (tries++ === 0) throw new Error('first');
          return 'retried';
        }),
    );
    let hedges = 0;
    const hedged = settle(
      Policy.builder()
        .hedge({ delay: '2s' })
        .clock(clock)
        .build()
        .execute(() => (++hedges === 1 ? never() : 'hedged')),
    );
    const late = settle(
      Policy.builder()
        .chaos({ latency: { rate: 1, delay: '3s' } })
        .clock(clock)
        .build()
        .execute(() => 'late'),
    );
    await clock.advance(1999);
    expect([timedOut.status, retried.status, hedged.status, late.status]).to.deep.equal([
      'pending',
      'pending',
      'pending',
      'pending',
    ]);
    await clock.advance(10_000);
    expect((timedOut.reason as { code?: string }).code).to.equal('TIMEOUT');
    expect([retried.value, hedged.value, late.value]).to.deep.equal(['retried', 'hedged', 'late']);
  });

  it('leaves a clock named in the options, and a primitive given as it is, on their own clocks', async () => {
    const policyClock = new ManualClock(1000);
    const own = new ManualClock(50);
    const named = await Policy.builder()
      .clock(policyClock)
      .timeout({ timeout: '5s', clock: own })
      .build()
      .execute((ctx) => ctx.deadline);
    expect(named).to.equal(5050);
    const limiter = new TimeLimiter({ timeout: '1s', clock: own });
    const shared = await Policy.builder()
      .timeout(limiter)
      .clock(policyClock)
      .build()
      .execute((ctx) => ctx.deadline);
    expect(shared).to.equal(1050);
  });

  it('keeps the system clock when none is set', async () => {
    const before = performance.now();
    const deadline = await Policy.builder()
      .timeout('5s')
      .build()
      .execute((ctx) => ctx.deadline);
    expect(deadline).to.be.within(before + 5000, performance.now() + 5000);
  });

  it('configures a store given in the options once, on the clock set after it', () => {
    const configs: CircuitBreakerStoreConfig[] = [];
    class Store extends InMemoryCircuitBreakerStore {
      override configure(config: CircuitBreakerStoreConfig): void {
        configs.push(config);
        super.configure(config);
      }
    }
    const clock: Clock = new ManualClock(7);
    const builder = Policy.builder().circuitBreaker({ failureThreshold: 2, store: new Store() });
    expect(configs).to.have.length(0);
    builder.clock(clock).build();
    expect(configs.map((c) => c.clock)).to.deep.equal([clock]);
  });

  it('binds an adaptive limit given in the options to one bulkhead only', () => {
    const limit = new AdaptiveLimit({ initial: 2 });
    Policy.builder().bulkhead({ limit, maxQueue: 0 }).clock(new ManualClock()).build();
    expect(() => new Bulkhead({ limit })).to.throw(TypeError, /already serves/);
  });

  it('still refuses bad options at once, and leaves the options given unchanged', () => {
    const builder = Policy.builder();
    expect(() => builder.retry({ maxAttempts: 0 })).to.throw(RangeError, /maxAttempts/);
    const store = new InMemoryCircuitBreakerStore();
    const options = { failureThreshold: 0, store };
    expect(() => builder.circuitBreaker(options)).to.throw(RangeError, /failureThreshold/);
    expect(options).to.deep.equal({ failureThreshold: 0, store });
  });

  it('reads the options once, the stage made at build() of what was checked', () => {
    const reads: string[] = [];
    const timeout = { ms: 5000 };
    const options = {
      get timeout(): number {
        reads.push('timeout');
        return timeout.ms;
      },
      get clock(): undefined {
        reads.push('clock');
        return undefined;
      },
    };
    const builder = Policy.builder().timeout(options);
    expect(reads.sort()).to.deep.equal(['clock', 'timeout']);
    // Checked at 5 s: what a getter answers later is not read (made again on the clock set now).
    timeout.ms = 0;
    const policy = builder.clock(new ManualClock()).build();
    expect(reads).to.have.length(2);
    expect(policy.describe()).to.equal('1. timeout: 5000 ms');
  });

  it('queues a bulkhead wait on the policy clock', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder()
      .bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '1s' })
      .clock(clock)
      .build();
    const hold = deferred<number>();
    const first = policy.execute(() => hold.promise);
    const queued = settle(policy.execute(() => 2));
    await clock.advance(999);
    expect(queued.status).to.equal('pending');
    await clock.advance(1);
    expect((queued.reason as { code?: string }).code).to.equal('BULKHEAD_FULL');
    hold.resolve(1);
    expect(await first).to.equal(1);
  });
});
