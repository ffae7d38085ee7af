// Properties of the Bulkhead under random interleavings of calls that end well or badly, at once
// or later, callers that abort while queued or running, and queue timeouts, on a hand-made clock.
import { expect } from 'chai';
import fc from 'fast-check';
import { BulkheadFullError } from '../../src/errors.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { ManualClock } from '../support/clock.js';
import { deferred, fcParams, flush, settle, type Deferred, type Settled } from './support.js';

interface Config {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly maxWaitMs: number | undefined;
}

type How = 'later' | 'value' | 'throw';

type Op =
  | { readonly t: 'call'; readonly how: How; readonly abortable: boolean }
  | { readonly t: 'finish'; readonly pick: number; readonly ok: boolean }
  | { readonly t: 'abort'; readonly pick: number }
  | { readonly t: 'advance'; readonly ms: number };

const configArb: fc.Arbitrary<Config> = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.integer({ min: 0, max: 4 }),
  maxWaitMs: fc.constantFrom(undefined, 0, 100, 1000, Infinity),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('call' as const),
      how: fc.constantFrom<How>('later', 'later', 'later', 'value', 'throw'),
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('finish' as const),
      pick: fc.nat({ max: 7 }),
      ok: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('abort' as const), pick: fc.nat({ max: 7 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 700 }),
    }),
  },
);

interface Caller {
  readonly index: number;
  readonly arrivedAt: number;
  readonly how: How;
  readonly controller: AbortController | undefined;
  result: Settled<string>;
  work: Deferred<string> | undefined;
  started: boolean;
  finished: boolean;
  aborted: boolean;
  queued: boolean;
  rejectedAt: number;
}

async function check(config: Config, ops: readonly Op[]): Promise<void> {
  const clock = new ManualClock(5_000);
  const options: Record<string, unknown> = {
    maxConcurrent: config.maxConcurrent,
    maxQueue: config.maxQueue,
    clock,
  };
  // A finite wait > 0 needs a queue (without one it is refused at construction).
  const wait = config.maxWaitMs;
  if (wait !== undefined && (config.maxQueue > 0 || wait === 0 || wait === Infinity)) {
    options.maxWait = wait;
  }
  const bulkhead = new Bulkhead(options);
  const callers: Caller[] = [];
  const startOrder: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const running = (): Caller[] =>
    callers.filter((c) => c.started && !c.finished && c.work !== undefined);

  const end = async (caller: Caller, ok: boolean): Promise<void> => {
    caller.finished = true;
    inFlight--;
    if (ok) caller.work?.resolve('done');
    else caller.work?.reject(new Error('failed'));
    await flush();
  };

  const invariants = (step: number | string): void => {
    expect(maxInFlight, `step ${step}: in flight`).to.be.at.most(config.maxConcurrent);
    expect(bulkhead.availableSlots, `step ${step}: availableSlots`).to.equal(
      config.maxConcurrent - inFlight,
    );
    // Work-conserving: nobody waits while a slot is free.
    if (bulkhead.queued > 0)
      expect(inFlight, `step ${step}: idle slot`).to.equal(config.maxConcurrent);
    expect(bulkhead.queued, `step ${step}: queue length`).to.be.at.most(config.maxQueue);
  };

  for (let step = 0; step < ops.length; step++) {
    const op = ops[step] as Op;
    switch (op.t) {
      case 'call': {
        const controller = op.abortable ? new AbortController() : undefined;
        const index = callers.length;
        const caller: Caller = {
          index,
          arrivedAt: clock.now(),
          how: op.how,
          controller,
          result: { status: 'pending' },
          work: undefined,
          started: false,
          finished: false,
          aborted: false,
          queued: false,
          rejectedAt: NaN,
        };
        callers.push(caller);
        const promise = bulkhead.execute(() => {
          caller.started = true;
          startOrder.push(index);
          if (op.how !== 'later') {
            caller.finished = true;
            if (inFlight + 1 > maxInFlight) maxInFlight = inFlight + 1;
            if (op.how === 'value') return 'at once';
            throw new Error('thrown at once');
          }
          inFlight++;
          if (inFlight > maxInFlight) maxInFlight = inFlight;
          caller.work = deferred<string>();
          return caller.work.promise;
        }, controller?.signal);
        caller.result = settle(promise);
        promise.then(undefined, () => {
          caller.rejectedAt = clock.now();
        });
        await flush();
        caller.queued = !caller.started && caller.result.status === 'pending';
        if (caller.result.status === 'rejected' && !caller.started) {
          // Refused at once: only when every slot and the whole queue are taken (or no waiting).
          expect(caller.result.reason, `step ${step}`).to.be.instanceOf(BulkheadFullError);
          expect(inFlight, `step ${step}: refused with a free slot`).to.equal(config.maxConcurrent);
        }
        break;
      }
      case 'finish': {
        const live = running();
        const caller = live[op.pick % Math.max(1, live.length)];
        if (caller !== undefined) await end(caller, op.ok);
        break;
      }
      case 'abort': {
        const live = callers.filter(
          (c) => c.controller !== undefined && !c.aborted && c.result.status === 'pending',
        );
        const caller = live[op.pick % Math.max(1, live.length)];
        if (caller !== undefined) {
          caller.aborted = true;
          caller.controller?.abort(new Error('gave up'));
          await flush();
          // The caller hears at once; a running call keeps its slot until its work settles.
          expect(caller.result.status, `step ${step}: abort is prompt`).to.equal('rejected');
        }
        break;
      }
      case 'advance':
        await clock.advance(op.ms);
        break;
    }
    invariants(step);
  }

  // Drain: finish everything that runs (queued callers then start), until nothing is left.
  for (let guard = 0; guard < 100; guard++) {
    const live = running();
    if (live.length === 0 && bulkhead.queued === 0) break;
    for (const caller of live) await end(caller, true);
    if (live.length === 0) await clock.advance(60_000);
    invariants('drain');
  }
  await flush();

  // Every slot comes back and nobody is left waiting.
  expect(bulkhead.availableSlots).to.equal(config.maxConcurrent);
  expect(bulkhead.queued).to.equal(0);
  for (const caller of callers) {
    expect(caller.result.status, `caller ${caller.index} settled`).to.not.equal('pending');
    if (caller.queued && !caller.started && !caller.aborted) {
      // A queued caller that never ran was refused for waiting too long, never earlier.
      expect(caller.result.reason).to.be.instanceOf(BulkheadFullError);
      expect(caller.rejectedAt - caller.arrivedAt, 'queue timeout').to.be.at.least(
        config.maxWaitMs ?? Infinity,
      );
    }
  }
  // FIFO: callers that waited in the queue started in the order they arrived.
  const queuedStarts = startOrder.filter((i) => (callers[i] as Caller).queued);
  expect(queuedStarts, 'start order').to.deep.equal([...queuedStarts].sort((a, b) => a - b));
}

describe('Bulkhead (properties)', () => {
  it('never runs more than maxConcurrent, serves its queue in order, and gives every slot back', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }),
        check,
      ),
      fcParams(),
    );
  });
});
