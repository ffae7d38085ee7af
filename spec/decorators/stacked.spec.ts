import { expect } from 'chai';
import sinon from 'sinon';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  retry,
  timeLimiter,
  usePolicy,
} from '../../src/decorators/index.js';
import { BulkheadFullError, OperationTimeoutError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { settle } from '../support/promises.js';

/** Work that runs until the spec ends it: `end()` settles every call started so far. */
function hanging() {
  const pending: Array<() => void> = [];
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    fn: (): Promise<string> => {
      calls++;
      return new Promise<string>((resolve) => pending.push(() => resolve('late')));
    },
    end: () => {
      for (const resolve of pending.splice(0)) resolve();
    },
  };
}

async function wave(call: () => Promise<unknown>, n: number): Promise<string[]> {
  const outcomes = Array.from({ length: n }, () => settle(call()));
  await clock.tickAsync(300);
  return outcomes.map((o) =>
    o.status === 'rejected' ? (o.reason as Error).name : String(o.status),
  );
}

let clock: sinon.SinonFakeTimers;

// A retry's next attempt waits for a real macrotask (never faked): time advances in steps with
// one between them.
const realTurn = setImmediate;
async function advance(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    await clock.tickAsync(10);
    await new Promise((resolve) => realTurn(resolve));
  }
}

describe('stacked wrappers and decorators behave as the same stages in a policy', () => {
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  describe('a bulkhead over a time limiter holds its slot until the work settles', () => {
    it('as decorators: the slots stay taken by the work past its deadline, as orphans', async () => {
      const api = hanging();
      const pool = new Bulkhead({ maxConcurrent: 10 });
      class PricingService {
        @bulkhead(pool)
        @timeLimiter({ timeout: '300ms' })
        async getPrice(_id: string): Promise<string> {
          return api.fn();
        }
      }
      const svc = new PricingService();
      const call = (): Promise<unknown> => svc.getPrice('p');
      expect(await wave(call, 10)).to.deep.equal(Array(10).fill('OperationTimeoutError'));
      expect(pool.availableSlots).to.equal(0);
      expect(pool.orphaned).to.equal(10);
      expect(await wave(call, 10)).to.deep.equal(Array(10).fill('BulkheadFullError'));
      expect(await wave(call, 10)).to.deep.equal(Array(10).fill('BulkheadFullError'));
      // Three waves put only the first ten calls on the hanging API.
      expect(api.calls).to.equal(10);
      api.end();
      await clock.tickAsync(0);
      expect(pool.availableSlots).to.equal(10);
      expect(pool.orphaned).to.equal(0);
    });

    it('as wrappers, with the same outcomes as the policy of the same stages', async () => {
      const run = async (call: () => Promise<unknown>, pool: () => Bulkhead, api: typeof a) => {
        const waves = [await wave(call, 3), await wave(call, 3)];
        const held = [pool().availableSlots, pool().orphaned];
        api.end();
        await clock.tickAsync(0);
        return { waves, held, after: [pool().availableSlots, pool().orphaned], calls: api.calls };
      };
      const a = hanging();
      const pool = new Bulkhead({ maxConcurrent: 2 });
      const wrapped = bulkhead(pool)(timeLimiter({ timeout: '300ms' })(a.fn));
      const byWrappers = await run(wrapped, () => pool, a);

      const b = hanging();
      const policy = Policy.builder('p').bulkhead({ maxConcurrent: 2 }).timeout('300ms').build();
      const state = () => policy.metrics().stages[0] as unknown as Bulkhead;
      const byPolicy = await run(() => policy.execute(b.fn), state, b);

      expect(byWrappers).to.deep.equal(byPolicy);
      expect(byWrappers).to.deep.equal({
        waves: [
          ['OperationTimeoutError', 'OperationTimeoutError', 'BulkheadFullError'],
          ['BulkheadFullError', 'BulkheadFullError', 'BulkheadFullError'],
        ],
        held: [0, 2],
        after: [2, 0],
        calls: 2,
      });
    });

    it('keeps `this`, the name and the parameters of the method through the stack', async () => {
      const pool = new Bulkhead({ maxConcurrent: 1 });
      const priced = bulkhead(pool)(
        timeLimiter({ timeout: '1s' })(async function getPrice(
          this: { base: number },
          id: string,
          qty: number,
        ) {
          return `${id}:${this.base * qty}`;
        }),
      );
      expect(priced.name).to.equal('getPrice');
      expect(priced.length).to.equal(2);
      expect(await priced.call({ base: 3 }, 'a', 2)).to.equal('a:6');
      expect(pool.availableSlots).to.equal(1);
    });

    it('holds the slot through every attempt of a retry beneath it', async () => {
      const api = hanging();
      const pool = new Bulkhead({ maxConcurrent: 1 });
      const call = bulkhead(pool)(
        retry({ maxAttempts: 2, delay: 0 })(timeLimiter({ timeout: '100ms' })(api.fn)),
      );
      const first = settle(call());
      await advance(1_000);
      expect((first.reason as Error).name).to.equal('OperationTimeoutError');
      // Both attempts still run: the slot is theirs until both end.
      expect(api.calls).to.equal(2);
      expect(pool.orphaned).to.equal(1);
      const refused = settle(call());
      await clock.tickAsync(0);
      expect(refused.reason).to.be.instanceOf(BulkheadFullError);
      api.end();
      await clock.tickAsync(0);
      expect([pool.availableSlots, pool.orphaned]).to.deep.equal([1, 0]);
    });

    it('holds the slot of every bulkhead outside, and under a fallback outside them', async () => {
      const api = hanging();
      const outer = new Bulkhead({ maxConcurrent: 1 });
      const inner = new Bulkhead({ maxConcurrent: 1 });
      const call = fallback({ value: 'fallback' })(
        bulkhead(outer)(bulkhead(inner)(timeLimiter({ timeout: '100ms' })(api.fn))),
      );
      const first = settle(call());
      await clock.tickAsync(100);
      expect(first.value).to.equal('fallback');
      expect([
        outer.availableSlots,
        outer.orphaned,
        inner.availableSlots,
        inner.orphaned,
      ]).to.deep.equal([0, 1, 0, 1]);
      api.end();
      await clock.tickAsync(0);
      expect([
        outer.availableSlots,
        outer.orphaned,
        inner.availableSlots,
        inner.orphaned,
      ]).to.deep.equal([1, 0, 1, 0]);
    });

    it('leaves a bulkhead beneath a time limiter, and either used alone, as they were', async () => {
      const api = hanging();
      const pool = new Bulkhead({ maxConcurrent: 1 });
      // The time limiter outside: the bulkhead beneath holds its slot until its own call settles.
      const call = timeLimiter({ timeout: '100ms' })(bulkhead(pool)(api.fn));
      const first = settle(call());
      await clock.tickAsync(100);
      expect(first.reason).to.be.instanceOf(OperationTimeoutError);
      expect(pool.availableSlots).to.equal(0);
      api.end();
      await clock.tickAsync(0);
      expect(pool.availableSlots).to.equal(1);
      // A time limiter alone answers at its deadline.
      const alone = settle(timeLimiter({ timeout: '100ms' })(api.fn)());
      await clock.tickAsync(100);
      expect(alone.reason).to.be.instanceOf(OperationTimeoutError);
      api.end();
    });
  });

  describe('the signal of a time limiter or policy outside reaches the wrappers beneath', () => {
    it('a retry beneath a time limiter makes no attempt after the deadline', async () => {
      let calls = 0;
      const call = timeLimiter({ timeout: '250ms' })(
        retry({ maxAttempts: 10, delay: '100ms', backoff: 1 })(async () => {
          calls++;
          throw new Error('down');
        }),
      );
      const outcome = settle(call());
      await advance(2_000);
      expect(outcome.reason).to.be.instanceOf(OperationTimeoutError);
      // Attempts at 0, 100 and 200 ms; none after the deadline at 250 ms.
      expect(calls).to.equal(3);
    });

    it("a circuit breaker beneath a policy's timeout records nothing for a call it aborted", async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const policy = Policy.builder('p').timeout('100ms').build();
      let fail!: (error: Error) => void;
      // Work that fails after its caller gave up (an aborted request does).
      const work = () => new Promise<never>((_resolve, reject) => (fail = reject));
      const call = usePolicy(policy)(circuitBreaker(breaker)(work));
      const outcome = settle(call());
      await clock.tickAsync(100);
      expect(outcome.reason).to.be.instanceOf(OperationTimeoutError);
      fail(new Error('aborted'));
      await clock.tickAsync(0);
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.failedCalls).to.equal(0);
    });
  });

  describe('policy.wrap stacks as usePolicy does', () => {
    it('a bulkhead over it holds the slot past the policy’s timeout, as an orphan', async () => {
      const policy = Policy.builder('p').timeout('100ms').build();
      for (const inner of [usePolicy(policy), policy.wrap.bind(policy)]) {
        const api = hanging();
        const b = new Bulkhead({ maxConcurrent: 1 });
        const call = bulkhead(b)(inner(api.fn));
        const outcome = settle(call());
        await clock.tickAsync(100);
        expect(outcome.reason).to.be.instanceOf(OperationTimeoutError);
        expect([b.availableSlots, b.orphaned]).to.deep.equal([0, 1]);
        api.end();
        await clock.tickAsync(0);
        expect([b.availableSlots, b.orphaned]).to.deep.equal([1, 0]);
      }
    });

    it('a time limiter over it hands its deadline down: no attempt after it', async () => {
      const policy = Policy.builder('p').retry({ maxAttempts: 10, delay: 100, backoff: 1 }).build();
      let calls = 0;
      const call = timeLimiter({ timeout: '250ms' })(
        policy.wrap(async () => {
          calls++;
          throw new Error('down');
        }),
      );
      const outcome = settle(call());
      await advance(2_000);
      expect(outcome.reason).to.be.instanceOf(OperationTimeoutError);
      expect(calls).to.equal(3);
    });
  });

  describe('a policy given a caller’s signal beneath a time limiter heeds both', () => {
    function stack(request: AbortSignal) {
      const policy = Policy.builder('p').retry({ maxAttempts: 10, delay: 100, backoff: 1 }).build();
      let calls = 0;
      const call = timeLimiter({ timeout: '250ms' })(
        usePolicy(policy, { signal: (s: AbortSignal) => s })(async (_s: AbortSignal) => {
          calls++;
          throw new Error('down');
        }),
      );
      return { outcome: settle(call(request)), calls: () => calls };
    }

    it('stops at the deadline, and stops the listening to the caller’s signal', async () => {
      const request = new AbortController();
      const add = sinon.spy(request.signal, 'addEventListener');
      const remove = sinon.spy(request.signal, 'removeEventListener');
      const { outcome, calls } = stack(request.signal);
      await advance(2_000);
      expect(outcome.reason).to.be.instanceOf(OperationTimeoutError);
      // Attempts at 0, 100 and 200 ms; none after the deadline at 250 ms.
      expect(calls()).to.equal(3);
      expect(add.callCount).to.be.greaterThan(0);
      expect(remove.callCount).to.equal(add.callCount);
    });

    it('stops at the caller’s abort before the deadline', async () => {
      const request = new AbortController();
      const { outcome, calls } = stack(request.signal);
      await advance(150);
      request.abort(new Error('hang-up'));
      await advance(2_000);
      expect((outcome.reason as Error).message).to.equal('hang-up');
      expect(calls()).to.equal(2);
    });
  });

  it('apply bottom-up and run top-down: a retry over a breaker meets the breaker it opened', async () => {
    let calls = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    class Outside {
      @retry({ maxAttempts: 3, maxRetryAfter: 0 })
      @circuitBreaker(breaker)
      @timeLimiter({ timeout: '1s' })
      async call(): Promise<never> {
        calls++;
        throw new Error('down');
      }
    }
    const outcome = settle(new Outside().call());
    await advance(100);
    expect((outcome.reason as Error).name).to.equal('CircuitOpenError');
    expect(calls).to.equal(1);
  });
});
