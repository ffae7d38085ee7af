// A signal shared by many calls at once keeps one `abort` listener, whatever listens through it.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { listenAbort, unlistenAbort } from '../../src/internal/abortListeners.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import { ManualClock } from '../support/clock.js';
import { deferred, rejectionOf } from '../support/promises.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

describe('abort listeners: one per signal', () => {
  it('keeps one listener on a request signal shared by 30 calls through several stages, and none after', async () => {
    const clock = new ManualClock();
    const policy = Policy.builder('fan-out')
      .bulkhead({ maxConcurrent: 5, maxQueue: 100 })
      .timeout({ timeout: 1000, clock })
      .build();
    const limiter = new TimeLimiter({ timeout: 1000, clock });
    const hedge = new Hedge({ delay: 100, clock });
    const request = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const never = deferred<never>();
      const calls = [
        ...Array.from({ length: 10 }, () =>
          policy.execute(() => never.promise, { signal: request.signal }),
        ),
        ...Array.from({ length: 10 }, () => limiter.execute(() => never.promise, request.signal)),
        ...Array.from({ length: 10 }, () => hedge.execute(() => never.promise, request.signal)),
      ];
      expect(listeners(request.signal)).to.equal(1);
      request.abort(new Error('client went away'));
      const errors = await Promise.all(calls.map((call) => rejectionOf(call)));
      expect(errors.map((e) => (e as Error).message)).to.deep.equal(
        Array.from({ length: 30 }, () => 'client went away'),
      );
      expect(listeners(request.signal)).to.equal(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('removes the signal listener with the last call that settles', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 10 });
    const request = new AbortController();
    const gates = Array.from({ length: 3 }, () => deferred<string>());
    const calls = gates.map((gate) => bulkhead.execute(() => gate.promise, request.signal));
    expect(listeners(request.signal)).to.equal(1);
    gates[0]!.resolve('a');
    gates[1]!.resolve('b');
    await Promise.all(calls.slice(0, 2));
    expect(listeners(request.signal)).to.equal(1);
    gates[2]!.resolve('c');
    expect(await calls[2]).to.equal('c');
    expect(listeners(request.signal)).to.equal(0);
  });

  it('tells listeners in the order they began, not one removed before its turn, not one added while telling', () => {
    const controller = new AbortController();
    const told: string[] = [];
    const late = (): number => told.push('late');
    const second = (): number => told.push('second');
    const first = (): void => {
      told.push('first');
      unlistenAbort(controller.signal, second);
      listenAbort(controller.signal, late);
    };
    const third = { handleEvent: (): number => told.push('third') };
    listenAbort(controller.signal, first);
    listenAbort(controller.signal, second);
    listenAbort(controller.signal, third);
    listenAbort(controller.signal, third);
    controller.abort();
    expect(told).to.deep.equal(['first', 'third']);
  });

  it('goes on telling the others when one listener throws, and reports the error later', async () => {
    const controller = new AbortController();
    const told: string[] = [];
    const reported: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (task: () => void): void => {
      try {
        task();
      } catch (error) {
        reported.push(error);
      }
    };
    try {
      listenAbort(controller.signal, () => {
        throw new Error('listener failed');
      });
      listenAbort(controller.signal, () => told.push('after'));
      controller.abort();
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(told).to.deep.equal(['after']);
    expect((reported[0] as Error).message).to.equal('listener failed');
  });
});
