// A reload that changes a bulkhead's options: the new bulkhead answers for the old one. The calls
// running on the old one (orphans too) count against the new limit until they settle, its queued
// callers wait in the new one's queue, first and in their order, each with its own deadline and
// signal, and the old object admits nothing of its own any more.
import { expect } from 'chai';
import { bulkhead, timeLimiter } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { ManualClock } from '../support/clock.js';
import {
  deferred,
  flush,
  rejectionOf,
  settle,
  type Deferred,
  type Settled,
} from '../support/promises.js';

type Config = Record<string, unknown>;

const config = (pool: Config, stages: Config[] = [{ bulkhead: 'pool' }]): Config => ({
  bulkhead: { pool },
  policies: { work: stages },
});

/** Work held open until a spec ends it, counting how many run at once. */
class Work {
  running = 0;
  peak = 0;
  readonly started: string[] = [];
  readonly #held = new Map<string, Deferred<string>>();

  fn(id: string): () => Promise<string> {
    return () => {
      this.started.push(id);
      this.peak = Math.max(this.peak, ++this.running);
      const held = deferred<string>();
      this.#held.set(id, held);
      return held.promise.finally(() => this.running--);
    };
  }

  async end(...ids: string[]): Promise<void> {
    for (const id of ids) (this.#held.get(id) as Deferred<string>).resolve(id);
    await flush();
  }
}

describe('PolicyRegistry.reload of a bulkhead', () => {
  let clock: ManualClock;
  let work: Work;

  beforeEach(() => {
    clock = new ManualClock();
    work = new Work();
  });

  const pool = (registry: PolicyRegistry): unknown => registry.health().primitives.bulkhead.pool;

  it('counts the calls running on the old bulkhead against a lowered limit: concurrency only falls', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 4, 'max-queue': 10 }), {
      clock,
    });
    const policy = registry.policy('work');
    const calls = ['r1', 'r2', 'r3', 'r4', 'q1', 'q2'].map((id) => policy.execute(work.fn(id)));
    await flush();
    registry.reload(config({ 'max-concurrent': 2, 'max-queue': 10 }));
    expect(pool(registry)).to.include({
      availableSlots: 0,
      maxConcurrent: 2,
      queued: 2,
      orphaned: 0,
    });
    calls.push(policy.execute(work.fn('n1')));
    await flush();
    expect(work.started).to.deep.equal(['r1', 'r2', 'r3', 'r4']);
    expect(registry.bulkhead('pool').queued).to.equal(3);

    // 3 running, then 2: the limit, so nobody starts until a slot is free under it.
    await work.end('r1');
    expect(work.running).to.equal(3);
    await work.end('r2');
    expect(work.running).to.equal(2);
    expect(work.started).to.have.length(4);
    // From then on, each freed slot goes to the next caller in line, old queue first.
    await work.end('r3');
    expect(work.started).to.deep.equal(['r1', 'r2', 'r3', 'r4', 'q1']);
    await work.end('r4');
    await work.end('q1');
    expect(work.started).to.deep.equal(['r1', 'r2', 'r3', 'r4', 'q1', 'q2', 'n1']);
    expect(work.running).to.equal(2);
    await work.end('q2', 'n1');
    expect(await Promise.all(calls)).to.have.length(7);
    expect(work.peak).to.equal(4);
    expect(pool(registry)).to.include({ availableSlots: 2, queued: 0, orphaned: 0 });
  });

  it('serves the old queue first, at once, under a raised limit', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 2, 'max-queue': 10 }), {
      clock,
    });
    const policy = registry.policy('work');
    const calls = ['r1', 'r2', 'q1', 'q2', 'q3', 'q4'].map((id) => policy.execute(work.fn(id)));
    await flush();
    registry.reload(config({ 'max-concurrent': 4, 'max-queue': 10 }));
    calls.push(policy.execute(work.fn('n1')));
    await flush();
    expect(work.started).to.deep.equal(['r1', 'r2', 'q1', 'q2']);
    expect(pool(registry)).to.include({ availableSlots: 0, maxConcurrent: 4, queued: 3 });
    await work.end('r1');
    await work.end('r2');
    await work.end('q1');
    expect(work.started).to.deep.equal(['r1', 'r2', 'q1', 'q2', 'q3', 'q4', 'n1']);
    await work.end('q2', 'q3', 'q4', 'n1');
    await Promise.all(calls);
    expect(work.peak).to.equal(4);
    expect(pool(registry)).to.include({ availableSlots: 4, queued: 0 });
  });

  it('counts the old bulkhead’s orphaned calls, and their slots, in the new one', async () => {
    const registry = PolicyRegistry.fromConfig(
      config({ 'max-concurrent': 2 }, [{ bulkhead: 'pool' }, { 'time-limiter': '50ms' }]),
      { clock },
    );
    const policy = registry.policy('work');
    const hung = ['h1', 'h2'].map((id) => settle(policy.execute(work.fn(id))));
    await clock.advance(50);
    expect(hung.map((h) => (h.reason as Error).name)).to.deep.equal([
      'OperationTimeoutError',
      'OperationTimeoutError',
    ]);
    registry.reload(
      config({ 'max-concurrent': 3 }, [{ bulkhead: 'pool' }, { 'time-limiter': '50ms' }]),
    );
    expect(pool(registry)).to.include({ availableSlots: 1, queued: 0, orphaned: 2 });
    const admitted = settle(policy.execute(work.fn('c1')));
    expect(await rejectionOf(policy.execute(work.fn('c2')))).to.have.property(
      'name',
      'BulkheadFullError',
    );
    await work.end('h1');
    expect(pool(registry)).to.include({ availableSlots: 1, orphaned: 1 });
    await work.end('h2', 'c1');
    expect(admitted.value).to.equal('c1');
    expect(pool(registry)).to.include({ availableSlots: 3, orphaned: 0 });
    expect(work.started).to.deep.equal(['h1', 'h2', 'c1']);
  });

  it('keeps each moved caller’s own deadline and signal, and shows it queued', async () => {
    const registry = PolicyRegistry.fromConfig(
      config({ 'max-concurrent': 1, 'max-queue': 5, 'max-wait': '1s' }),
      { clock },
    );
    const policy = registry.policy('work');
    const running = policy.execute(work.fn('r1'));
    const controller = new AbortController();
    const aborted = settle(policy.execute(work.fn('q1'), { signal: controller.signal }));
    await clock.advance(400);
    const timed = settle(policy.execute(work.fn('q2')));
    await flush();
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 5, 'max-wait': '10s' }));
    expect(pool(registry)).to.include({ queued: 2 });
    const reason = new Error('caller left');
    controller.abort(reason);
    await flush();
    expect(aborted.reason).to.equal(reason);
    expect(pool(registry)).to.include({ queued: 1 });
    // Queued at 400 ms with a 1 s wait: due at 1400 ms, whatever the new `max-wait`.
    await clock.advance(999);
    expect(timed.status).to.equal('pending');
    await clock.advance(1);
    expect(timed.reason).to.have.property('name', 'BulkheadFullError');
    expect(pool(registry)).to.include({ queued: 0 });
    // A caller queued now waits the new 10 s.
    const late = settle(policy.execute(work.fn('n1')));
    await clock.advance(9_999);
    await work.end('r1');
    expect(await running).to.equal('r1');
    await work.end('n1');
    expect(late.value).to.equal('n1');
    expect(clock.pending()).to.equal(0);
  });

  it('refuses a caller queued after a reload at its own wait when the moved ones wait longer', async () => {
    const registry = PolicyRegistry.fromConfig(
      config({ 'max-concurrent': 1, 'max-queue': 5, 'max-wait': '10s' }),
      { clock },
    );
    const policy = registry.policy('work');
    const running = policy.execute(work.fn('r1'));
    const moved = settle(policy.execute(work.fn('q1')));
    await clock.advance(100);
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 5, 'max-wait': '1s' }));
    await clock.advance(100);
    const late = settle(policy.execute(work.fn('n1')));
    const kept = settle(policy.execute(work.fn('n2')));
    await clock.advance(999);
    expect([moved.status, late.status]).to.deep.equal(['pending', 'pending']);
    // Queued at 200 ms with the new 1 s: refused at 1200 ms, not behind q1's 10 s.
    await clock.advance(1);
    expect(late.reason).to.have.property('name', 'BulkheadFullError');
    expect(late.reason).to.have.property('waitedMs', 1000);
    expect([moved.status, kept.status]).to.deep.equal(['pending', 'rejected']);
    // Each moved caller keeps the 10 s it was promised, and is admitted first.
    const n3 = settle(policy.execute(work.fn('n3')));
    await clock.advance(5_000);
    await work.end('r1');
    expect(await running).to.equal('r1');
    expect(work.started).to.deep.equal(['r1', 'q1']);
    await work.end('q1');
    expect(moved.value).to.equal('q1');
    expect(n3.status).to.equal('rejected');
    expect(clock.pending()).to.equal(0);
  });

  it('refuses every caller at its own deadline, in arrival order for slots, across reloads both ways', async () => {
    const registry = PolicyRegistry.fromConfig(
      config({ 'max-concurrent': 1, 'max-queue': 9, 'max-wait': '1s' }),
      { clock },
    );
    const policy = registry.policy('work');
    const running = policy.execute(work.fn('r1'));
    const calls = new Map<string, Settled<unknown>>();
    const queue = (id: string): void => void calls.set(id, settle(policy.execute(work.fn(id))));
    const refusedAt: Record<string, number> = {};
    const watch = async (ms: number): Promise<void> => {
      for (let i = 0; i < ms; i += 50) {
        await clock.advance(50);
        for (const [id, call] of calls) {
          if (call.status === 'rejected' && refusedAt[id] === undefined) {
            refusedAt[id] = clock.now();
            expect(call.reason).to.have.property('waitedMs');
          }
        }
      }
    };
    queue('a'); // due at 1000
    await clock.advance(100);
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 9, 'max-wait': '5s' }));
    queue('b'); // due at 5100
    await clock.advance(100);
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 9, 'max-wait': '2s' }));
    queue('c'); // due at 2200
    queue('d'); // due at 2200
    await clock.advance(100);
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 9, 'max-wait': '10s' }));
    queue('e'); // due at 10300
    await watch(2_700);
    expect(refusedAt).to.deep.equal({ a: 1000, c: 2200, d: 2200 });
    expect(calls.get('c')?.reason).to.have.property('waitedMs', 2000);
    await work.end('r1');
    expect(await running).to.equal('r1');
    expect(work.started).to.deep.equal(['r1', 'b']);
    await watch(2_800);
    await work.end('b');
    expect(work.started).to.deep.equal(['r1', 'b', 'e']);
    await work.end('e');
    expect(calls.get('e')?.value).to.equal('e');
    expect(refusedAt).to.deep.equal({ a: 1000, c: 2200, d: 2200 });
    expect(clock.pending()).to.equal(0);
  });

  it('tells a moved caller refused at its deadline how long it waited, not the new `max-wait`', async () => {
    const registry = PolicyRegistry.fromConfig(
      config({ 'max-concurrent': 1, 'max-queue': 5, 'max-wait': '3s' }),
      { clock },
    );
    const policy = registry.policy('work');
    const running = policy.execute(work.fn('r1'));
    const moved = settle(policy.execute(work.fn('q1')));
    await clock.advance(1_000);
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 5, 'max-wait': '10s' }));
    await clock.advance(2_000);
    expect(moved.reason).to.have.property('name', 'BulkheadFullError');
    expect(moved.reason).to.have.property('waitedMs', 3000);
    await work.end('r1');
    expect(await running).to.equal('r1');
  });

  it('adds no property to the object taken over: its settings stay those it was built with', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 2, 'max-queue': 5 }), {
      clock,
    });
    const old = registry.bulkhead('pool');
    const keys = Reflect.ownKeys(old);
    const settings = { ...old };
    const running = old.execute(work.fn('r1'));
    await flush();
    registry.reload(config({ 'max-concurrent': 3, 'max-queue': 7 }));
    expect(Reflect.ownKeys(old)).to.deep.equal(keys);
    expect({ ...old }).to.deep.equal(settings);
    // What it serves with is the new bulkhead's.
    expect([old.availableSlots, old.queued, old.orphaned]).to.deep.equal([2, 0, 0]);
    await work.end('r1');
    expect(await running).to.equal('r1');
    expect(old.availableSlots).to.equal(3);
  });

  it('lets the old object admit nothing of its own: it asks the new one', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 2, 'max-queue': 5 }), {
      clock,
    });
    const old = registry.bulkhead('pool');
    const running = old.execute(work.fn('r1'));
    await flush();
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 5 }));
    const next = registry.bulkhead('pool');
    expect(next).not.to.equal(old);
    expect(old.tryAcquire()).to.equal(false);
    expect([old.availableSlots, old.queued, old.orphaned]).to.deep.equal([0, 0, 0]);
    const acquired = settle(old.acquire());
    await flush();
    expect(next.queued).to.equal(1);
    expect(old.queued).to.equal(1);
    await work.end('r1');
    expect(await running).to.equal('r1');
    expect(acquired.status).to.equal('fulfilled');
    expect(next.availableSlots).to.equal(0);
    // The slot taken through the old object is released through it, to the new one.
    old.release();
    expect(next.availableSlots).to.equal(1);
    expect(() => old.release()).to.throw(Error, /without a held slot/);
    expect(next.availableSlots).to.equal(1);
  });

  it('lets a caller of a policy over the old object leave the new queue when it aborts, though the old one had none', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 1 }), { clock });
    const old = registry.bulkhead('pool');
    const policy = Policy.builder().clock(clock).bulkhead(old).build();
    const running = old.execute(work.fn('r1'));
    await flush();
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 5 }));
    const next = registry.bulkhead('pool');
    const caller = new AbortController();
    const queued = settle(policy.execute(work.fn('q1'), { signal: caller.signal }));
    await flush();
    expect(next.queued).to.equal(1);
    caller.abort(new Error('gone'));
    await flush();
    expect(queued.status).to.equal('rejected');
    expect(next.queued, 'an aborted queued caller leaves the queue at once').to.equal(0);
    await work.end('r1');
    expect(await running).to.equal('r1');
    expect(work.started).to.deep.equal(['r1']);
    expect(next.availableSlots).to.equal(1);
  });

  it('gives a caller of the old `acquire` queued before the reload its slot to release through the old object', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 1, 'max-queue': 5 }), {
      clock,
    });
    const old = registry.bulkhead('pool');
    expect(old.tryAcquire()).to.equal(true);
    const acquired = settle(old.acquire());
    registry.reload(config({ 'max-concurrent': 1, 'max-queue': 6 }));
    const next = registry.bulkhead('pool');
    expect([next.queued, next.availableSlots]).to.deep.equal([1, 0]);
    old.release();
    await flush();
    expect(acquired.status).to.equal('fulfilled');
    expect([next.queued, next.availableSlots]).to.deep.equal([0, 0]);
    expect(() => next.release(), 'the new object holds no slot by hand').to.throw(Error);
    old.release();
    expect(next.availableSlots).to.equal(1);
    expect(() => old.release()).to.throw(Error, /without a held slot/);
  });

  it('holds a slot of the new bulkhead through a stacked decorator over the old one, until the work settles', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 1 }), { clock });
    const old = registry.bulkhead('pool');
    registry.reload(config({ 'max-concurrent': 2 }));
    const next = registry.bulkhead('pool');
    const wrapped = bulkhead(old)(timeLimiter({ timeout: 50, clock })(work.fn('s1')));
    const timed = settle(wrapped());
    await flush();
    expect([next.availableSlots, old.availableSlots]).to.deep.equal([1, 1]);
    await clock.advance(50);
    expect(timed.reason).to.have.property('name', 'OperationTimeoutError');
    expect([next.orphaned, next.availableSlots]).to.deep.equal([1, 1]);
    await work.end('s1');
    expect([next.orphaned, next.availableSlots, old.orphaned]).to.deep.equal([0, 2, 0]);
  });

  it('hands over through reloads in a row, and between fixed and adaptive limits', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 3, 'max-queue': 10 }), {
      clock,
    });
    const policy = registry.policy('work');
    const first = registry.bulkhead('pool');
    const calls = ['r1', 'r2', 'r3', 'q1'].map((id) => policy.execute(work.fn(id)));
    await flush();
    registry.reload(
      config({ limit: { algorithm: 'aimd', initial: 2, min: 1, max: 4 }, 'max-queue': 10 }),
    );
    registry.reload(config({ 'max-concurrent': 2, 'max-queue': 20 }));
    calls.push(policy.execute(work.fn('n1')));
    await flush();
    expect(pool(registry)).to.include({ availableSlots: 0, maxConcurrent: 2, queued: 2 });
    expect(first.queued).to.equal(2);
    await work.end('r1');
    expect(work.started).to.deep.equal(['r1', 'r2', 'r3']);
    await work.end('r2');
    expect(work.started).to.deep.equal(['r1', 'r2', 'r3', 'q1']);
    await work.end('r3', 'q1');
    expect(work.started).to.deep.equal(['r1', 'r2', 'r3', 'q1', 'n1']);
    await work.end('n1');
    await Promise.all(calls);
    expect(pool(registry)).to.include({ availableSlots: 2, queued: 0 });
    expect(first.availableSlots).to.equal(2);
  });

  it('lets callers of the first of three reach the third, however the hand-over is asked again', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 1, 'max-queue': 5 }), {
      clock,
    });
    const first = registry.bulkhead('pool');
    const held = first.execute(work.fn('a1'));
    registry.reload(config({ 'max-concurrent': 2, 'max-queue': 5 }));
    const second = registry.bulkhead('pool');
    registry.reload(config({ 'max-concurrent': 3, 'max-queue': 5 }));
    const third = registry.bulkhead('pool');
    // Another pair, replaced alongside: every redirect shares one queue that is never empty.
    const other = PolicyRegistry.fromConfig(config({ 'max-concurrent': 1 }), { clock });
    const before = other.bulkhead('pool');
    other.reload(config({ 'max-concurrent': 2 }));
    const after = other.bulkhead('pool');
    // Asked again, for the first or the second (each a redirect by now), or for itself: nothing.
    third.takeOver(first);
    third.takeOver(second);
    second.takeOver(first);
    third.takeOver(third);
    expect([third.queued, third.availableSlots]).to.deep.equal([0, 2]);
    const calls = [first.execute(work.fn('a2')), second.execute(work.fn('b1'))];
    await flush();
    expect([first, second, third].map((b) => b.availableSlots)).to.deep.equal([0, 0, 0]);
    expect(third.tryAcquire()).to.equal(false);
    expect(before.tryAcquire()).to.equal(true);
    expect([before.availableSlots, after.availableSlots]).to.deep.equal([1, 1]);
    before.release();
    await work.end('a1', 'a2', 'b1');
    await Promise.all([held, ...calls]);
    expect([first, second, third].map((b) => b.availableSlots)).to.deep.equal([3, 3, 3]);
    expect(after.availableSlots).to.equal(2);
  });

  it('counts running calls against a new adaptive limit as against a fixed one', async () => {
    const adaptive = (queue: number): Config =>
      config({ limit: { algorithm: 'aimd', initial: 2, min: 1, max: 10 }, 'max-queue': queue });
    const registry = PolicyRegistry.fromConfig(adaptive(10), { clock });
    const policy = registry.policy('work');
    const calls = ['r1', 'r2', 'q1'].map((id) => policy.execute(work.fn(id)));
    await flush();
    registry.reload(adaptive(20));
    calls.push(policy.execute(work.fn('n1')));
    await flush();
    expect(pool(registry)).to.include({ availableSlots: 0, maxConcurrent: 2, queued: 2 });
    await work.end('r1');
    expect(work.started).to.deep.equal(['r1', 'r2', 'q1']);
    await work.end('r2');
    expect(work.started).to.deep.equal(['r1', 'r2', 'q1', 'n1']);
    await work.end('q1', 'n1');
    await Promise.all(calls);
    expect(work.peak).to.equal(2);
    expect(pool(registry)).to.include({ availableSlots: 2, queued: 0 });
  });

  it('keeps what an adaptive limit has learned, fitted to the new bounds', async () => {
    const adaptive = (limit: Config, queue = 10): Config =>
      config({
        limit: {
          algorithm: 'aimd',
          initial: 8,
          'min-samples': 1,
          window: '1ms',
          'backoff-ratio': 0.5,
          ...limit,
        },
        'max-queue': queue,
      });
    const registry = PolicyRegistry.fromConfig(adaptive({}), { clock });
    // A success teaches the latency (failures do not), a failure halves the limit.
    const served = settle(
      registry
        .policy('work')
        .execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('ok'), 5))),
    );
    await clock.advance(5);
    expect(served.status).to.equal('fulfilled');
    const failed = settle(
      registry
        .policy('work')
        .execute(
          () => new Promise((_, reject) => clock.setTimeout(() => reject(new Error('x')), 5)),
        ),
    );
    await clock.advance(5);
    expect(failed.status).to.equal('rejected');
    expect(registry.bulkhead('pool').maxConcurrent).to.equal(4);
    registry.reload(adaptive({}, 20));
    const limit = registry.bulkhead('pool').adaptiveLimit;
    expect([limit?.limit, limit?.baselineMs]).to.deep.equal([4, 5]);
    registry.reload(adaptive({ initial: 3, max: 3 }));
    expect(registry.bulkhead('pool').maxConcurrent).to.equal(3);
    registry.reload(adaptive({ min: 6, max: 10 }));
    expect(registry.bulkhead('pool').maxConcurrent).to.equal(6);
  });
  it('serves the moved queue under the limit the new adaptive limit keeps, not its initial one', async () => {
    const adaptive = (queue: number): Config =>
      config({ limit: { algorithm: 'aimd', initial: 2, max: 20 }, 'max-queue': queue });
    const registry = PolicyRegistry.fromConfig(adaptive(10), { clock });
    const policy = registry.policy('work');
    const calls = ['r1', 'r2', 'q1', 'q2', 'q3', 'q4'].map((id) => policy.execute(work.fn(id)));
    await flush();
    expect(work.running).to.equal(2);
    // Rebuilt (another queue); its own `initial` would be 2 as well, so give it a larger one.
    registry.reload(
      config({ limit: { algorithm: 'aimd', initial: 20, max: 20 }, 'max-queue': 20 }),
    );
    await flush();
    expect(registry.bulkhead('pool').maxConcurrent).to.equal(2);
    expect([work.running, work.peak]).to.deep.equal([2, 2]);
    expect(pool(registry)).to.include({ availableSlots: 0, queued: 4 });
    for (const pair of [
      ['r1', 'r2'],
      ['q1', 'q2'],
      ['q3', 'q4'],
    ])
      await work.end(...pair);
    expect(await Promise.all(calls)).to.deep.equal(['r1', 'r2', 'q1', 'q2', 'q3', 'q4']);
    expect(work.peak).to.equal(2);
  });

  it('teaches the new adaptive limit from the calls it grants through the old object', async () => {
    const adaptive = (queue: number): Config =>
      config({
        limit: {
          algorithm: 'aimd',
          initial: 8,
          'min-samples': 1,
          window: '1ms',
          'backoff-ratio': 0.5,
        },
        'max-queue': queue,
      });
    const registry = PolicyRegistry.fromConfig(adaptive(10), { clock });
    const old = registry.bulkhead('pool');
    const fail = (): Promise<never> =>
      new Promise((_, reject) => clock.setTimeout(() => reject(new Error('x')), 5));
    // Held by the old store at the reload: it goes back to the store and teaches nothing.
    const running = settle(old.execute(fail));
    registry.reload(adaptive(20));
    const next = registry.bulkhead('pool');
    await clock.advance(5);
    expect(running.status).to.equal('rejected');
    expect(next.maxConcurrent).to.equal(8);
    // Granted by the new one through the old object: its failure halves the new limit.
    const failed = settle(old.execute(fail));
    await clock.advance(5);
    expect(failed.status).to.equal('rejected');
    expect(next.maxConcurrent).to.equal(4);
    expect(next.availableSlots).to.equal(4);
  });

  // Far more than a call stack holds frames of a step each.
  const LONG = 20_000;

  it('answers through the first of a long chain of reloads in one step: slots add up', async () => {
    const first = new Bulkhead({ maxConcurrent: 2, clock });
    const held = [first.execute(work.fn('first'))];
    let last = first;
    let middle = first;
    for (let i = 1; i < LONG; i++) {
      const next = new Bulkhead({ maxConcurrent: 2 + (i % 2), clock });
      next.takeOver(last);
      last = next;
      // A call running on a bulkhead in the middle when it is taken over.
      if (i === LONG / 2) {
        middle = last;
        held.push(middle.execute(work.fn('middle')));
      }
    }
    const end = new Bulkhead({ maxConcurrent: 4, clock });
    end.takeOver(last);
    await flush();
    expect([first, middle, last, end].map((b) => b.availableSlots)).to.deep.equal([2, 2, 2, 2]);
    held.push(first.execute(work.fn('through first')), middle.execute(work.fn('through middle')));
    await flush();
    expect(work.started).to.deep.equal(['first', 'middle', 'through first', 'through middle']);
    expect(first.availableSlots).to.equal(0);
    expect(first.tryAcquire()).to.equal(false);
    await work.end('first', 'through middle');
    expect(end.availableSlots).to.equal(2);
    await work.end('middle', 'through first');
    expect(await Promise.all(held)).to.have.length(4);
    expect([first, middle, end].map((b) => b.availableSlots)).to.deep.equal([4, 4, 4]);
    expect(first.orphaned).to.equal(0);
    // By hand through the first: released through it into the last.
    expect(first.tryAcquire()).to.equal(true);
    expect(end.availableSlots).to.equal(3);
    first.release();
    expect(end.availableSlots).to.equal(4);
  });

  it('serves a caller whose wait moved through a long chain of reloads, its slot released where it queued', async () => {
    const first = new Bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    expect(first.tryAcquire()).to.equal(true);
    const acquired = settle(first.acquire());
    let last = first;
    for (let i = 1; i < LONG; i++) {
      const next = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 + (i % 2), clock });
      next.takeOver(last);
      last = next;
    }
    expect([first.queued, last.queued, last.availableSlots]).to.deep.equal([1, 1, 0]);
    first.release();
    await flush();
    expect(acquired.status).to.equal('fulfilled');
    expect([last.queued, last.availableSlots]).to.deep.equal([0, 0]);
    expect(() => last.release(), 'the last object holds no slot by hand').to.throw(Error);
    first.release();
    expect(last.availableSlots).to.equal(1);
  });

  it('keeps a policy over a bulkhead of the configuration working across many reloads', async () => {
    const registry = PolicyRegistry.fromConfig(config({ 'max-concurrent': 1 }), { clock });
    const mine = Policy.builder('mine').clock(clock).bulkhead(registry.bulkhead('pool')).build();
    const running = registry.policy('work').execute(work.fn('r1'));
    for (let i = 0; i < 6000; i++) registry.reload(config({ 'max-concurrent': 2 + (i % 2) }));
    expect(await mine.execute(() => 'ok')).to.equal('ok');
    expect(mine.metrics().stages[0]).to.include({ availableSlots: 2, queued: 0, orphaned: 0 });
    await work.end('r1');
    expect(await running).to.equal('r1');
    expect(registry.bulkhead('pool').availableSlots).to.equal(3);
  });
});
