// CircuitBreaker and the outcomes of calls admitted before the circuit last closed (a close from
// HALF_OPEN, or reset()): the close started a fresh window about the calls admitted since, so
// such an outcome moves nothing — it cannot trip the circuit, reset the run of consecutive
// failures, nor count toward a later trip. While the circuit is CLOSED it enters no window; while
// it is OPEN, HALF_OPEN or ISOLATED it appears in the metrics, as every outcome that reports then,
// in the window the next close empties.
import { expect } from 'chai';
import type { CircuitOpenError } from '../../../src/errors.js';
import type { Context } from '../../../src/internal/context.js';
import { FusedContext } from '../../../src/pipeline/fused.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { rejectionOf } from '../../support/promises.js';
import { AsyncStore, Boom, breakerClock, flushed, pending, run } from './support.js';

function counts(breaker: CircuitBreaker): [string, number, number, number] {
  const m = breaker.metrics;
  return [m.state, m.bufferedCalls, m.failedCalls, m.slowCalls];
}

describe('CircuitBreaker ignores outcomes of calls admitted before the circuit last closed', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  // Through the breaker alone, and through a policy stage, whose CLOSED calls keep their ticket
  // on the context they came with.
  const paths: Array<
    [string, (breaker: CircuitBreaker) => (fn: () => Promise<string>) => Promise<string>]
  > = [
    ['execute', (breaker) => (fn) => breaker.execute(fn)],
    [
      'a policy',
      (breaker) => {
        const policy = Policy.builder().clock(clock).circuitBreaker(breaker).build();
        return (fn) => policy.execute(fn);
      },
    ],
  ];

  for (const [name, through] of paths) {
    it(`does not let a late failure re-open a circuit that closed after recovery (${name})`, async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '10s' });
      const call = through(breaker);
      const slow = pending(call);
      await run(breaker, 'FF');
      expect(breaker.state).to.equal('open');
      clock.tick(10_000);
      await run(breaker, 'S');
      expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
      // A call admitted after the close, still running when the earlier one reports.
      const fresh = pending(call);

      slow.fail();
      await flushed();
      expect(slow.settled.reason).to.be.instanceOf(Boom);
      // Neither in the fresh window nor in the run of failures.
      expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
      await run(breaker, 'F');
      expect(counts(breaker), 'one failure of the new period').to.deep.equal(['closed', 1, 1, 0]);
      fresh.fail();
      await flushed();
      expect(counts(breaker), 'the second trips it').to.deep.equal(['open', 2, 2, 0]);
    });
  }

  it('runs CLOSED policy calls as plainly as ever while a call admitted before the close hangs', async () => {
    // The thunk receives the execution's own context (the steps' root, or the fused path's)
    // when the breaker keeps nothing per call, and a context of the breaker's when it does.
    const plain = async (policy: Policy): Promise<boolean[]> => {
      const seen: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        await policy.execute((ctx) => {
          seen.push(ctx instanceof FusedContext || (ctx as Context).root === ctx);
          return 'ok';
        });
      }
      return seen;
    };
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s' });
    const policy = Policy.builder().clock(clock).circuitBreaker(breaker).build();
    const baseline = await plain(policy);
    expect(baseline).to.deep.equal([true, true, true, true, true]);
    const hung = pending((fn) => policy.execute(fn));
    await run(breaker, 'F');
    clock.tick(1_000);
    await run(breaker, 'S');
    expect(breaker.state).to.equal('closed');
    expect(await plain(policy), 'the same path as with no call left over').to.deep.equal(baseline);
    // And the late outcome is still ignored, the new period's calls still counted.
    hung.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['closed', 5, 0, 0]);
    await policy.execute(() => Promise.reject(new Boom())).catch(() => undefined);
    expect(counts(breaker)).to.deep.equal(['open', 6, 1, 0]);
  });

  it('tells apart calls admitted across two closes, with calls of each still running (a policy)', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s' });
    const policy = Policy.builder().clock(clock).circuitBreaker(breaker).build();
    const call = (fn: () => Promise<string>) => policy.execute(fn);
    const recover = async (): Promise<void> => {
      await run(breaker, 'F');
      clock.tick(1_000);
      await run(breaker, 'S');
      expect(breaker.state).to.equal('closed');
    };
    const first = pending(call);
    await recover();
    const second = pending(call);
    await recover();
    const third = pending(call);
    for (const stale of [second, first]) {
      stale.fail();
      await flushed();
      expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    }
    third.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['open', 1, 1, 0]);
  });

  it('does not let a late success reset the run of failures of the new CLOSED period', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '1s' });
    const slow = pending((fn) => breaker.execute(fn));
    await run(breaker, 'FF');
    clock.tick(1_000);
    await run(breaker, 'SF');
    expect(counts(breaker)).to.deep.equal(['closed', 1, 1, 0]);
    slow.succeed();
    await flushed();
    expect(slow.settled.value).to.equal('late');
    await run(breaker, 'F');
    expect(counts(breaker)).to.deep.equal(['open', 2, 2, 0]);
  });

  it('keeps late failures out of a failure-rate window after the close', async () => {
    const breaker = new CircuitBreaker({
      clock,
      failureRateThreshold: 0.5,
      windowSize: 4,
      minimumCalls: 2,
      recoveryTimeout: '1s',
    });
    const late = [pending((fn) => breaker.execute(fn)), pending((fn) => breaker.execute(fn))];
    await run(breaker, 'FF');
    clock.tick(1_000);
    await run(breaker, 'SS');
    expect(counts(breaker)).to.deep.equal(['closed', 1, 0, 0]);
    for (const call of late) call.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['closed', 1, 0, 0]);
    // 1 failure in 2 calls reaches 0.5: only outcomes of the new period judge it.
    await run(breaker, 'F');
    expect(counts(breaker)).to.deep.equal(['open', 2, 1, 0]);
  });

  it('ignores a lost trial call that reports after the circuit closed', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '10s' });
    await run(breaker, 'F');
    clock.tick(10_000);
    const hung = pending((fn) => breaker.execute(fn));
    // Lost after max(recoveryTimeout, 10 s): a new trial call takes its slot and closes it.
    clock.tick(10_000);
    await run(breaker, 'S');
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    hung.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
  });

  it('treats reset() as a close: calls admitted before it move nothing after it', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1 });
    const slow = pending((fn) => breaker.execute(fn));
    breaker.reset();
    slow.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    await run(breaker, 'F');
    expect(breaker.state).to.equal('open');
  });

  it('ignores, by its ticket, a call recorded by hand that was admitted before the close', () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s' });
    const early = breaker.beforeCall();
    breaker.onFailure(new Boom(), 0, breaker.beforeCall());
    clock.tick(1_000);
    breaker.onSuccess(0, breaker.beforeCall());
    expect(breaker.state).to.equal('closed');
    const later = breaker.beforeCall();
    breaker.onFailure(new Boom(), 0, early);
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    breaker.onFailure(new Boom(), 0, later);
    expect(breaker.state).to.equal('open');
  });

  it('counts the calls of the new period once every call admitted before the close has reported', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s' });
    const slow = pending((fn) => breaker.execute(fn));
    await run(breaker, 'F');
    clock.tick(1_000);
    await run(breaker, 'S');
    const during = breaker.beforeCall();
    expect(during, 'a ticket that names the new period').not.to.equal(0);
    slow.succeed();
    await flushed();
    const after = breaker.beforeCall();
    breaker.onSuccess(0, during);
    breaker.onSuccess(0, after);
    expect(counts(breaker)).to.deep.equal(['closed', 2, 0, 0]);
    await run(breaker, 'S');
    expect(counts(breaker)).to.deep.equal(['closed', 3, 0, 0]);
  });

  it('gives a call recorded by hand a ticket of its period, never the counted plain one', () => {
    // API.md's manual form reports without the ticket: such a call must not hold the plain
    // ticket 0, whose holders are counted until they report with it.
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '1s' });
    for (let i = 0; i < 3; i++) {
      expect(breaker.beforeCall()).not.to.equal(0);
      breaker.onSuccess(0);
    }
    breaker.beforeCall();
    breaker.onFailure(new Boom(), 0);
    breaker.beforeCall();
    breaker.onFailure(new Boom(), 0);
    expect(breaker.state).to.equal('open');
    clock.tick(1_000);
    breaker.onSuccess(0, breaker.beforeCall());
    expect(breaker.state).to.equal('closed');
    const ticket = breaker.beforeCall();
    expect(ticket).not.to.equal(0);
    breaker.onFailure(new Boom(), 0, ticket);
    breaker.onFailure(new Boom(), 0);
    expect(breaker.state, 'both failures of the new period count').to.equal('open');
  });
});

describe('CircuitBreaker counts outcomes of calls admitted before the last close that report while not CLOSED', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  /** Trips a closed circuit (failureThreshold 2) and lets its open time (1 s) pass. */
  async function tripAndRecover(breaker: CircuitBreaker): Promise<void> {
    await run(breaker, 'FF');
    expect(breaker.state).to.equal('open');
    clock.tick(1_000);
    expect(breaker.state).to.equal('half-open');
  }

  const paths: Array<
    [string, (breaker: CircuitBreaker) => (fn: () => Promise<string>) => Promise<string>]
  > = [
    ['execute', (breaker) => (fn) => breaker.execute(fn)],
    [
      'a policy',
      (breaker) => {
        const policy = Policy.builder().clock(clock).circuitBreaker(breaker).build();
        return (fn) => policy.execute(fn);
      },
    ],
  ];

  for (const [name, through] of paths) {
    it(`counts a failure of CLOSED period 1 reporting in the second HALF_OPEN, which decides nothing (${name})`, async () => {
      const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '1s' });
      const call = through(breaker);
      const old = pending(call);
      await tripAndRecover(breaker);
      await run(breaker, 'S');
      expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
      await tripAndRecover(breaker);
      const probe = pending(call);

      old.fail();
      await flushed();
      expect(old.settled.reason).to.be.instanceOf(Boom);
      expect(counts(breaker), 'in the window that tripped').to.deep.equal(['half-open', 3, 3, 0]);
      probe.succeed();
      await flushed();
      expect(counts(breaker), 'the probe alone decides').to.deep.equal(['closed', 0, 0, 0]);
      // Emptied by the close: one failure of the new period is not yet two in a row.
      await run(breaker, 'F');
      expect(counts(breaker)).to.deep.equal(['closed', 1, 1, 0]);
      await run(breaker, 'F');
      expect(breaker.state).to.equal('open');
    });
  }

  it('counts a success of an earlier period in HALF_OPEN without letting it close the circuit', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '1s' });
    const old = pending((fn) => breaker.execute(fn));
    await tripAndRecover(breaker);
    await run(breaker, 'S');
    await tripAndRecover(breaker);
    const probe = pending((fn) => breaker.execute(fn));
    old.succeed();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['half-open', 3, 2, 0]);
    probe.fail();
    await flushed();
    expect(counts(breaker), 'the probe re-opens it').to.deep.equal(['open', 4, 3, 0]);
  });

  it('counts one reporting while OPEN again, leaving the open time as it was', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, recoveryTimeout: '1s' });
    const old = pending((fn) => breaker.execute(fn));
    await tripAndRecover(breaker);
    await run(breaker, 'S');
    await run(breaker, 'FF');
    clock.tick(400);
    old.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['open', 3, 3, 0]);
    const refusal = (await rejectionOf(breaker.execute(() => 'no'))) as CircuitOpenError;
    expect(refusal.retryAfterMs).to.equal(600);
  });

  it('counts one reporting while ISOLATED after a reset(), until the next reset() empties the window', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2 });
    const old = pending((fn) => breaker.execute(fn));
    breaker.reset();
    await run(breaker, 'S');
    breaker.isolate();
    old.fail();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['isolated', 2, 1, 0]);
    breaker.reset();
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
    await run(breaker, 'F');
    expect(breaker.state, 'the earlier failure is no part of the run').to.equal('closed');
  });

  it('counts a trial call lost before the close that reports while OPEN again', async () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '10s' });
    await run(breaker, 'F');
    clock.tick(10_000);
    const lost = pending((fn) => breaker.execute(fn));
    clock.tick(10_000);
    await run(breaker, 'S');
    await run(breaker, 'F');
    expect(counts(breaker)).to.deep.equal(['open', 1, 1, 0]);
    lost.succeed();
    await flushed();
    expect(counts(breaker)).to.deep.equal(['open', 2, 1, 0]);
    clock.tick(10_000);
    // Its slot was long given back: the next HALF_OPEN admits a probe, which alone decides.
    await run(breaker, 'S');
    expect(counts(breaker)).to.deep.equal(['closed', 0, 0, 0]);
  });

  it('counts one recorded by hand, by its ticket, while OPEN', () => {
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s' });
    const early = breaker.beforeCall();
    breaker.onFailure(new Boom(), 0, breaker.beforeCall());
    clock.tick(1_000);
    breaker.onSuccess(0, breaker.beforeCall());
    breaker.onFailure(new Boom(), 0, breaker.beforeCall());
    breaker.onSuccess(0, early);
    expect(counts(breaker)).to.deep.equal(['open', 2, 1, 0]);
  });

  it('with a store that answers later: counts it while the store is OPEN, and nowhere once the store closed meanwhile', async () => {
    const store = new AsyncStore();
    const breaker = new CircuitBreaker({
      clock,
      failureThreshold: 1,
      recoveryTimeout: '1s',
      store,
    });
    const snapshot = (): [string, number, number, number] => {
      const m = store.inner.snapshot();
      return [m.state, m.bufferedCalls, m.failedCalls, m.slowCalls];
    };
    const first = pending((fn) => breaker.execute(fn));
    const second = pending((fn) => breaker.execute(fn));
    await flushed();
    await run(breaker, 'F');
    clock.tick(1_000);
    await run(breaker, 'S');
    await run(breaker, 'F');
    expect(breaker.state).to.equal('open');
    await flushed();
    expect(snapshot()).to.deep.equal(['open', 1, 1, 0]);
    first.fail();
    await flushed();
    expect(snapshot()).to.deep.equal(['open', 2, 2, 0]);
    // Another process resets the shared circuit; this breaker has not heard of it yet.
    store.inner.reset();
    second.fail();
    await flushed();
    expect(snapshot(), 'the store keeps it out of its CLOSED window').to.deep.equal([
      'closed',
      0,
      0,
      0,
    ]);
  });
});

describe('CircuitBreaker steps nested with nothing between them', () => {
  it('keeps each step to its own period: a late outcome one closed on still counts in the other', async () => {
    const clock = breakerClock();
    const outer = new CircuitBreaker({ clock, failureThreshold: 3, recoveryTimeout: '1s' });
    const inner = new CircuitBreaker({ clock, failureThreshold: 1, recoveryTimeout: '1s' });
    const policy = Policy.builder()
      .clock(clock)
      .circuitBreaker(outer)
      .circuitBreaker(inner)
      .build();
    const hung = pending((fn) => policy.execute(fn));
    // The inner circuit trips, recovers and closes; the outer one records all of it.
    await policy.execute(() => Promise.reject(new Boom())).catch(() => undefined);
    clock.tick(1_000);
    await policy.execute(() => 'ok');
    expect(counts(inner)).to.deep.equal(['closed', 0, 0, 0]);
    expect(counts(outer)).to.deep.equal(['closed', 2, 1, 0]);
    hung.fail();
    await flushed();
    expect(counts(inner), 'admitted before its close').to.deep.equal(['closed', 0, 0, 0]);
    expect(counts(outer), 'admitted in its current period').to.deep.equal(['closed', 3, 2, 0]);
    await policy.execute(() => Promise.reject(new Boom())).catch(() => undefined);
    expect(counts(inner)).to.deep.equal(['open', 1, 1, 0]);
    expect(counts(outer)).to.deep.equal(['closed', 4, 3, 0]);
  });
});
