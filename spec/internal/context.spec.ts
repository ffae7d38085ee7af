// The execution contexts: what the root context a policy call creates answers, how derived
// contexts read through to their parent, the holders told when the caller is answered, and the
// running count of bulkhead slots.
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  AttemptContext,
  DerivedContext,
  RootContext,
  SlotContext,
  TimingContext,
  trackRunning,
  untrackRunning,
  type Holder,
  type SlotOwner,
} from '../../src/internal/context.js';
import { NEVER_ABORTED } from '../../src/internal/signals.js';
import { settle } from '../support/promises.js';
import { ManualClock } from '../support/clock.js';
import { Policy } from '../../src/pipeline/Policy.js';

const thunk = () => 'value';

function root(signal?: AbortSignal, data?: Map<string, unknown>): RootContext {
  return new RootContext('orders', 1_234, thunk, signal, data);
}

function holder(log: string[], name: string): Holder {
  return { answered: (r) => log.push(`${name}:${r.policyName}`) };
}

describe('context', () => {
  describe('RootContext', () => {
    it('answers the first attempt of the call it was made for, with no parent or owner', () => {
      const ctx = root();
      expect(ctx.policyName).to.equal('orders');
      expect(ctx.startedAt).to.equal(1_234);
      expect(ctx.fn).to.equal(thunk);
      expect(ctx.attempt).to.equal(1);
      expect(ctx.root).to.equal(ctx);
      expect(ctx.parent).to.equal(undefined);
      expect(ctx.owner).to.equal(undefined);
    });

    it('hands out the caller signal, or the shared never-aborting one when there is none', () => {
      const signal = new AbortController().signal;
      expect(root(signal).signal).to.equal(signal);
      expect(root().signal).to.equal(NEVER_ABORTED);
    });

    it('reports the caller signal abort and its reason without creating a signal', () => {
      const controller = new AbortController();
      const ctx = root(controller.signal);
      expect(ctx.aborted).to.equal(false);
      expect(ctx.abortReason).to.equal(undefined);
      const reason = new Error('stop');
      controller.abort(reason);
      expect(ctx.aborted).to.equal(true);
      expect(ctx.abortReason).to.equal(reason);
      expect(root().aborted).to.equal(false);
    });

    it('uses the data map it was given, or makes one on first read and keeps it', () => {
      const given = new Map<string, unknown>([['k', 1]]);
      expect(root(undefined, given).data).to.equal(given);
      const ctx = root();
      const made = ctx.data;
      expect(made).to.be.instanceOf(Map);
      expect(made.size).to.equal(0);
      expect(ctx.data).to.equal(made);
    });

    it('tells every holder once the caller is answered, and a holder joining afterwards at once', () => {
      const log: string[] = [];
      const ctx = root();
      ctx.hold(holder(log, 'a'));
      ctx.hold(holder(log, 'b'));
      expect(ctx.settled).to.equal(false);
      expect(log).to.deep.equal([]);
      ctx.settled = true;
      expect(ctx.settled).to.equal(true);
      expect(log).to.deep.equal(['a:orders', 'b:orders']);
      ctx.hold(holder(log, 'c'));
      expect(log).to.deep.equal(['a:orders', 'b:orders', 'c:orders']);
    });

    it('tells no holder that let go before the caller was answered', () => {
      const log: string[] = [];
      const ctx = root();
      const a = holder(log, 'a');
      const b = holder(log, 'b');
      const c = holder(log, 'c');
      ctx.hold(a);
      ctx.hold(b);
      ctx.hold(c);
      ctx.unhold(a);
      ctx.unhold(b);
      ctx.unhold(holder(log, 'stranger'));
      ctx.settled = true;
      expect(log).to.deep.equal(['c:orders']);
    });

    it('tells nobody when every holder let go', () => {
      const log: string[] = [];
      const ctx = root();
      const a = holder(log, 'a');
      ctx.hold(a);
      ctx.unhold(a);
      ctx.settled = true;
      expect(log).to.deep.equal([]);
    });

    it('take returns the outcome once settled, a value or a throw', () => {
      const ok = root();
      ok.ok = true;
      ok.value = 42;
      ok.settled = true;
      expect(ok.take()).to.equal(42);
      const failed = root();
      const error = new Error('failed');
      failed.value = error;
      failed.settled = true;
      expect(() => failed.take()).to.throw(error);
    });

    it('take, before the outcome is known, makes the deferred promise that resolve and reject settle', async () => {
      const ctx = root();
      expect(ctx.deferred).to.equal(false);
      const pending = ctx.take() as Promise<unknown>;
      expect(pending).to.be.instanceOf(Promise);
      expect(ctx.deferred).to.equal(true);
      const outcome = settle(pending);
      ctx.resolve('late');
      await pending;
      expect(outcome).to.deep.include({ status: 'fulfilled', value: 'late' });

      const other = root();
      const rejected = settle(other.makeDeferred());
      const error = new Error('no');
      other.reject(error);
      await Promise.resolve();
      expect(rejected).to.deep.include({ status: 'rejected', reason: error });
    });

    it('as the caller signal listener, settles the execution as failed with the abort reason', () => {
      const controller = new AbortController();
      const ctx = root(controller.signal);
      const settled: unknown[] = [];
      ctx.settler = { settle: (r, ok, value) => settled.push(r, ok, value) };
      controller.signal.addEventListener('abort', ctx);
      const reason = new Error('caller left');
      controller.abort(reason);
      expect(settled).to.deep.equal([ctx, false, reason]);
    });
  });

  describe('DerivedContext', () => {
    it('reads everything from its parent, and records the stage that made it', () => {
      const controller = new AbortController();
      const parent = root(controller.signal);
      const owner = {};
      const ctx = new DerivedContext(parent, owner);
      expect(ctx.parent).to.equal(parent);
      expect(ctx.owner).to.equal(owner);
      expect(ctx.root).to.equal(parent);
      expect(ctx.policyName).to.equal('orders');
      expect(ctx.attempt).to.equal(1);
      expect(ctx.startedAt).to.equal(1_234);
      expect(ctx.signal).to.equal(controller.signal);
      expect(ctx.data).to.equal(parent.data);
      expect(ctx.aborted).to.equal(false);
      controller.abort('why');
      expect(ctx.aborted).to.equal(true);
      expect(ctx.abortReason).to.equal('why');
    });

    it('reaches the root through any number of parents', () => {
      const top = root();
      const deep = new DerivedContext(new DerivedContext(new DerivedContext(top, {}), {}), {});
      expect(deep.root).to.equal(top);
    });
  });

  describe('AttemptContext', () => {
    it('differs from its parent in the attempt only, and passes it to contexts made from it', () => {
      const parent = root();
      const ctx = new AttemptContext(parent, {}, 3);
      expect(ctx.attempt).to.equal(3);
      expect(ctx.policyName).to.equal('orders');
      expect(ctx.root).to.equal(parent);
      expect(new DerivedContext(ctx, {}).attempt).to.equal(3);
    });
  });

  describe('TimingContext', () => {
    it('carries the start time and admission ticket of one call', () => {
      const ctx = new TimingContext(root(), {}, 55, 7);
      expect(ctx.start).to.equal(55);
      expect(ctx.ticket).to.equal(7);
      expect(ctx.attempt).to.equal(1);
    });
  });

  describe('trackRunning', () => {
    function slot(
      parent: RootContext | SlotContext,
      drained: unknown[],
      ticket: string,
    ): SlotContext {
      const owner: SlotOwner = { drained: (t) => drained.push(t) };
      return new SlotContext(parent, owner, ticket);
    }

    it('counts thunk calls in flight in every slot around the context', () => {
      const drained: unknown[] = [];
      const r = root();
      r.tracked = true;
      const outer = slot(r, drained, 'outer');
      const inner = slot(outer, drained, 'inner');
      const ctx = new AttemptContext(inner, {}, 2);
      const first = trackRunning(ctx);
      trackRunning(ctx);
      expect([outer.running, inner.running]).to.deep.equal([2, 2]);
      untrackRunning(ctx, first);
      expect([outer.running, inner.running]).to.deep.equal([1, 1]);
      expect(first, 'no slot on the root').to.equal(false);
      expect(drained, 'no slot was left').to.deep.equal([]);
    });

    it('tells the owner of a slot already left once its last call settles, and no other', () => {
      const drained: unknown[] = [];
      const r = root();
      r.tracked = true;
      const outer = slot(r, drained, 'outer');
      const inner = slot(outer, drained, 'inner');
      trackRunning(inner);
      trackRunning(inner);
      inner.left = true;
      untrackRunning(inner, false);
      expect(drained).to.deep.equal([]);
      untrackRunning(inner, false);
      expect(drained).to.deep.equal(['inner']);
      // A call started under the pass once its slot is back: not told again.
      trackRunning(inner);
      untrackRunning(inner, false);
      expect(drained).to.deep.equal(['inner']);
    });

    it('counts calls in the slot recorded on the root until it is given back', () => {
      const drained: unknown[] = [];
      const r = root();
      const owner: SlotOwner = { drained: (t) => drained.push(t) };
      r.takeSlot(owner, 'root-slot', true);
      const ctx = new AttemptContext(r, {}, 1);
      expect(trackRunning(ctx)).to.equal(true);
      expect(trackRunning(ctx)).to.equal(true);
      expect(r.slotRunning).to.equal(2);
      r.slotLeft = true;
      expect(trackRunning(ctx), 'a call after the pass answered').to.equal(true);
      untrackRunning(ctx, true);
      untrackRunning(ctx, true);
      expect(drained).to.deep.equal([]);
      untrackRunning(ctx, true);
      expect(drained).to.deep.equal(['root-slot']);
      expect(r.slotOwner, 'the root slot is free again').to.equal(undefined);
      expect(trackRunning(ctx), 'a call after the slot was given back').to.equal(false);
    });

    it('leaves a call under another pass of the same step out of the root slot', () => {
      const drained: unknown[] = [];
      const r = root();
      const owner: SlotOwner = { drained: (t) => drained.push(t) };
      r.takeSlot(owner, 'first', true);
      r.tracked = true;
      const second = new SlotContext(r, owner, 'second');
      expect(trackRunning(second)).to.equal(false);
      expect([r.slotRunning, second.running]).to.deep.equal([0, 1]);
      expect(trackRunning(r)).to.equal(true);
      expect([r.slotRunning, second.running]).to.deep.equal([1, 1]);
    });

    it('counts nothing on the root when its slot does not track its work', () => {
      const r = root();
      r.takeSlot({ drained() {} }, true, false);
      expect(trackRunning(r)).to.equal(false);
      expect(r.slotRunning).to.equal(0);
    });
  });

  describe('logging a context', () => {
    // The first policy built gives the contexts their inspect view.
    before(() => Policy.builder('first').build());

    it('shows only the documented fields in util.inspect and console.log', () => {
      const r = root(undefined, new Map([['user', 'u1']]));
      expect(inspect(r)).to.equal(
        [
          'ExecutionContext {',
          "  policyName: 'orders',",
          '  attempt: 1,',
          '  startedAt: 1234,',
          '  deadline: Infinity,',
          '  remaining: Infinity,',
          "  data: Map(1) { 'user' => 'u1' },",
          '  signal: AbortSignal { aborted: false }',
          '}',
        ].join('\n'),
      );
      const attempt = new AttemptContext(r, {}, 3);
      expect(inspect(attempt).split('\n').slice(0, 3)).to.deep.equal([
        'ExecutionContext {',
        "  policyName: 'orders',",
        '  attempt: 3,',
      ]);
    });

    it('gives the same fields as JSON data, with no cycle to throw on', () => {
      const controller = new AbortController();
      const r = root(controller.signal, new Map([['user', 'u1']]));
      controller.abort();
      const child = new AttemptContext(new DerivedContext(r, {}), {}, 2);
      const json = {
        policyName: 'orders',
        attempt: 2,
        startedAt: 1_234,
        deadline: null,
        remaining: null,
        data: { user: 'u1' },
        signal: { aborted: true },
      };
      expect(JSON.parse(JSON.stringify({ ctx: child }))).to.deep.equal({ ctx: json });
      expect(JSON.parse(JSON.stringify(r))).to.deep.equal({ ...json, attempt: 1 });
    });

    it("logs a policy's context, under a retry and a timeout, in a few lines", async () => {
      const clock = new ManualClock(100);
      const policy = Policy.builder('pricing')
        .clock(clock)
        .retry({ maxAttempts: 2, delay: 10, jitter: 0 })
        .timeout(1_000)
        .build();
      const logged: Array<{ text: string; json: unknown }> = [];
      const call = policy.execute(
        (ctx) => {
          logged.push({ text: inspect(ctx), json: JSON.parse(JSON.stringify({ ctx })) });
          if (ctx.attempt === 1) throw new Error('again');
          return 'done';
        },
        { data: { user: 'u1' } },
      );
      await clock.advance(10);
      expect(await call).to.equal('done');
      expect(logged.map((l) => l.text.split('\n').length)).to.deep.equal([9, 9]);
      expect(logged.map((l) => l.json)).to.deep.equal([
        {
          ctx: {
            policyName: 'pricing',
            attempt: 1,
            startedAt: 100,
            deadline: 1_100,
            remaining: 1_000,
            data: { user: 'u1' },
            signal: { aborted: false },
          },
        },
        {
          ctx: {
            policyName: 'pricing',
            attempt: 2,
            startedAt: 100,
            deadline: 1_110,
            remaining: 1_000,
            data: { user: 'u1' },
            signal: { aborted: false },
          },
        },
      ]);
    });

    it('logs and serialises a root context without making its lazy data map or deadline signal', async () => {
      const clock = new ManualClock(0);
      const policy = Policy.builder('lazy').clock(clock).timeout(1_000).build();
      const made = { controllers: 0, maps: 0 };
      const { AbortController: Controller, Map: MapClass } = globalThis;
      const views: Array<{ text: string; json: unknown }> = [];
      let data: Map<string, unknown> | undefined;
      try {
        globalThis.AbortController = class extends Controller {
          constructor() {
            super();
            made.controllers++;
          }
        };
        globalThis.Map = class<K, V> extends MapClass<K, V> {
          constructor(entries?: Iterable<readonly [K, V]> | null) {
            super(entries);
            made.maps++;
          }
        } as MapConstructor;
        await policy.execute((ctx) => {
          views.push({ text: inspect(ctx), json: JSON.parse(JSON.stringify(ctx)) });
          expect(made, 'nothing made to show the context').to.deep.equal({
            controllers: 0,
            maps: 0,
          });
          data = ctx.data;
          return ctx.signal;
        });
      } finally {
        globalThis.AbortController = Controller;
        globalThis.Map = MapClass;
      }
      // Read by the work itself, both are made then, as ever.
      expect(made).to.deep.equal({ controllers: 1, maps: 1 });
      expect(data).to.be.instanceOf(MapClass);
      expect(views[0]?.json).to.deep.equal({
        policyName: 'lazy',
        attempt: 1,
        startedAt: 0,
        deadline: 1_000,
        remaining: 1_000,
        data: {},
        signal: { aborted: false },
      });
      expect(views[0]?.text).to.include('data: Map(0) {},');
      expect(views[0]?.text).to.include('signal: AbortSignal { aborted: false }');
    });

    it('shows a root context under a deadline that passed as aborted, before its signal is made', () => {
      const r = root();
      r.deadlineOwner = { clock: new ManualClock(1_500) } as never;
      r.dueAt = 2_000;
      r.deadlineError = new Error('late');
      expect(JSON.parse(JSON.stringify(r)).signal).to.deep.equal({ aborted: true });
      expect(inspect(r)).to.include('signal: AbortSignal { aborted: true }');
      expect(r.controller).to.equal(undefined);
      expect(r.signal.aborted).to.equal(true);
    });

    it('adds no field to a context: the views are methods of the class', () => {
      const r = root();
      expect(Object.keys(r)).not.to.include.members(['toJSON']);
      expect(Object.getOwnPropertySymbols(r)).to.deep.equal([]);
      expect(Object.getOwnPropertySymbols(new AttemptContext(r, {}, 2))).to.deep.equal([]);
    });
  });
});
