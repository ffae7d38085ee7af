// The bulkhead rules of docs/CONTRACT.md (R-BH-*), checked against the built package.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { Bulkhead, BulkheadFullError, isOptionTypeError, Policy, PolicyRegistry } from 'bulwark';
import { flush, never, rejectionOf, settle } from './support.js';

describe('contract: Bulkhead', () => {
  it('R-BH-1: `maxConcurrent` defaults to 10: calls allowed at once', async () => {
    const bulkhead = new Bulkhead();
    expect(bulkhead.maxConcurrent).to.equal(10);
    expect(bulkhead.availableSlots).to.equal(10);
    const running = Array.from({ length: 10 }, () => settle(bulkhead.execute(() => never())));
    await flush();
    expect(bulkhead.availableSlots).to.equal(0);
    expect(await rejectionOf(bulkhead.execute(() => 1))).to.be.instanceOf(BulkheadFullError);
    expect(running.every((r) => r.status === 'pending')).to.equal(true);
  });

  it('R-BH-2: `maxQueue` defaults to 0: fail fast when every slot is taken', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    await bulkhead.acquire();
    const error = await rejectionOf(bulkhead.acquire());
    expect(error).to.be.instanceOf(BulkheadFullError);
    expect(bulkhead.queued).to.equal(0);
  });

  it('R-BH-2: `maxQueue`: callers allowed to wait for a slot (served first in, first out)', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    await bulkhead.acquire();
    const order: string[] = [];
    const a = bulkhead.acquire().then(() => order.push('a'));
    const b = bulkhead.acquire().then(() => order.push('b'));
    expect(bulkhead.queued).to.equal(2);
    expect(await rejectionOf(bulkhead.acquire())).to.be.instanceOf(BulkheadFullError);
    bulkhead.release();
    await a;
    bulkhead.release();
    await b;
    expect(order).to.deep.equal(['a', 'b']);
    expect(bulkhead.queued).to.equal(0);
  });

  it('R-BH-3: `maxWait` defaults to none: a queued caller waits with no timer', async () => {
    const clock = new ManualClock(1_000);
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    await bulkhead.acquire();
    const waiting = settle(bulkhead.acquire());
    await clock.advance(3_600_000);
    expect(waiting.status).to.equal('pending');
    expect(clock.delays).to.deep.equal([]);
    bulkhead.release();
    await flush();
    expect(waiting.status).to.equal('fulfilled');
  });

  it('R-BH-3: a `maxWait` other than 0 or Infinity needs `maxQueue` > 0 (else no caller would wait)', () => {
    const message = '`maxWait` needs `maxQueue` > 0: without a queue no caller waits';
    // A configuration's error names the options as the configuration spells them.
    const configured = '`max-wait` needs `max-queue` > 0: without a queue no caller waits';
    const refusals: Array<[() => unknown, string, unknown, string?]> = [
      [() => new Bulkhead({ maxConcurrent: 1, maxWait: '2s' }), 'maxWait', '2s'],
      [() => new Bulkhead({ maxQueue: 0, maxWait: 1 }), 'maxWait', 1],
      [() => Policy.builder().bulkhead({ maxConcurrent: 1, maxWait: '2s' }), 'maxWait', '2s'],
      [
        () =>
          PolicyRegistry.fromConfig({
            bulkhead: { db: { 'max-concurrent': 1, 'max-wait': '2s' } },
          }),
        'resilience.bulkhead.db.max-wait',
        '2s',
        configured,
      ],
    ];
    for (const [make, option, received, expected = message] of refusals) {
      let error: unknown;
      try {
        make();
      } catch (thrown) {
        error = thrown;
      }
      expect(error, option).to.be.instanceOf(TypeError);
      expect(isOptionTypeError(error), option).to.equal(true);
      // Names the value received, as every option error does.
      const got = typeof received === 'string' ? `"${received}"` : String(received);
      expect((error as Error).message, option).to.have.string(`${expected}, got ${got}`);
      expect(error).to.include({ option, received });
    }
    // 0 (never queue) and Infinity (no limit, as when left out) say nothing against no queue.
    expect(new Bulkhead({ maxWait: 0 }).maxWaitMs).to.equal(0);
    expect(new Bulkhead({ maxWait: Infinity }).maxWaitMs).to.equal(Infinity);
    expect(new Bulkhead({ maxQueue: 1, maxWait: '2s' }).maxWaitMs).to.equal(2_000);
  });

  it('R-BH-3: Bulkhead: a queued caller whose `maxWait` runs out gets `BulkheadFullError`', async () => {
    const clock = new ManualClock(1_000);
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWait: '2s', clock });
    await bulkhead.acquire();
    const waiting = settle(bulkhead.acquire());
    await clock.advance(1_999);
    expect(waiting.status).to.equal('pending');
    await clock.advance(1);
    expect(waiting.status).to.equal('rejected');
    expect(waiting.reason).to.be.instanceOf(BulkheadFullError);
    expect(bulkhead.queued).to.equal(0);
  });

  it('R-BH-4: `acquire(signal?)` rejects `BulkheadFullError` at once when full and the queue is full', async () => {
    const clock = new ManualClock(1_000);
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 1, maxWait: '1m', clock });
    await bulkhead.acquire();
    await bulkhead.acquire();
    void bulkhead.acquire().catch(() => undefined);
    const refused = settle(bulkhead.acquire());
    await flush();
    expect(refused.status).to.equal('rejected');
    expect(refused.reason).to.include({ maxConcurrent: 2, maxQueue: 1 });
  });

  it('R-BH-4: `tryAcquire(): boolean` never waits', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    expect(bulkhead.tryAcquire()).to.equal(true);
    expect(bulkhead.tryAcquire()).to.equal(false);
    expect(bulkhead.queued).to.equal(0);
  });

  it('R-BH-5: `release()`: a release without a held slot throws and never raises capacity above `maxConcurrent`', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2 });
    expect(() => bulkhead.release()).to.throw(Error);
    expect(bulkhead.availableSlots).to.equal(2);
    await bulkhead.acquire();
    bulkhead.release();
    expect(() => bulkhead.release()).to.throw(Error);
    expect(bulkhead.availableSlots).to.equal(2);
    expect(bulkhead.tryAcquire() && bulkhead.tryAcquire()).to.equal(true);
    expect(bulkhead.tryAcquire()).to.equal(false);
  });

  it('R-BH-6: Members: `acquire`, `tryAcquire`, `release`, `availableSlots`, `maxConcurrent`, `queued`, `execute`', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 3 });
    for (const method of ['acquire', 'tryAcquire', 'release', 'execute'] as const) {
      expect(bulkhead[method]).to.be.a('function');
    }
    expect([bulkhead.availableSlots, bulkhead.maxConcurrent, bulkhead.queued]).to.deep.equal([
      3, 3, 0,
    ]);
  });

  it('R-BH-6: `execute(fn, signal?)` always releases, also on error and abort', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1 });
    expect(await bulkhead.execute(() => 'ok')).to.equal('ok');
    expect(bulkhead.availableSlots).to.equal(1);
    await rejectionOf(bulkhead.execute(() => Promise.reject(new Error('x'))));
    expect(bulkhead.availableSlots).to.equal(1);
    await rejectionOf(
      bulkhead.execute(() => {
        throw new Error('sync');
      }),
    );
    expect(bulkhead.availableSlots).to.equal(1);
    const controller = new AbortController();
    let finish!: () => void;
    const call = settle(
      bulkhead.execute(() => new Promise<void>((r) => (finish = r)), controller.signal),
    );
    controller.abort();
    await flush();
    expect(call.status).to.equal('rejected');
    expect(call.reason).to.equal(controller.signal.reason);
    // A slot is held until the call it wraps settles.
    expect(bulkhead.availableSlots).to.equal(0);
    finish();
    await flush();
    expect(bulkhead.availableSlots).to.equal(1);
  });

  it('R-BH-7: A queued caller whose signal aborts leaves the queue at once', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    await bulkhead.acquire();
    const controller = new AbortController();
    const leaving = settle(bulkhead.acquire(controller.signal));
    const staying = settle(bulkhead.acquire());
    expect(bulkhead.queued).to.equal(2);
    controller.abort('left');
    expect(bulkhead.queued).to.equal(1);
    await flush();
    expect(leaving.reason).to.equal('left');
    bulkhead.release();
    await flush();
    expect(staying.status).to.equal('fulfilled');
  });

  it('R-BH-8, R-BH-9: Bulkhead slots follow the work: a thunk that honours ctx.signal ends at an inner deadline, so its slot comes back then', async () => {
    const clock = new ManualClock(1_000);
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder('held')
      .clock(clock)
      .bulkhead(bulkhead)
      .timeout({ timeout: '1s', clock })
      .build();
    const call = settle(
      policy.execute(
        (ctx) =>
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
      ),
    );
    await flush();
    expect(bulkhead.availableSlots).to.equal(0);
    await clock.advance(999);
    expect(bulkhead.availableSlots).to.equal(0);
    await clock.advance(1);
    expect(call.status).to.equal('rejected');
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.orphaned).to.equal(0);
  });

  it('R-BH-8, R-MET-4: Bulkhead slots follow the work: a thunk that ignores its signal keeps its slot, as `orphaned`, until it settles', async () => {
    const clock = new ManualClock(1_000);
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder('orders')
      .clock(clock)
      .bulkhead(bulkhead)
      .timeout({ timeout: '1s', clock })
      .build();
    let finish: (value: string) => void = () => {};
    const call = settle(policy.execute(() => new Promise<string>((resolve) => (finish = resolve))));
    await clock.advance(1000);
    expect(call.status).to.equal('rejected');
    expect(bulkhead.availableSlots).to.equal(0);
    expect(bulkhead.orphaned).to.equal(1);
    expect(policy.metrics().stages[0]).to.include({ orphaned: 1, availableSlots: 0 });
    finish('late');
    await flush();
    expect(bulkhead.availableSlots).to.equal(1);
    expect(bulkhead.orphaned).to.equal(0);
  });

  it('R-BH-9: `fn` should honour its signal: the signal a bulkhead passes is the caller’s', async () => {
    const bulkhead = new Bulkhead();
    const controller = new AbortController();
    let received: AbortSignal | undefined;
    await bulkhead.execute((signal) => {
      received = signal;
    }, controller.signal);
    expect(received).to.equal(controller.signal);
  });
});
