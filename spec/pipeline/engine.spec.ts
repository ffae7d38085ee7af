// The step engine: how `link` chains steps to the thunk and to the policy's outcome, how the
// invoker calls the thunk and sends its outcome out (synchronously, after its promise, timed for
// attempt listeners, counted in bulkhead slots), and `whenSettled`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { RootContext, SlotContext, type Context } from '../../src/internal/context.js';
import { whenSettled } from '../../src/internal/signals.js';
import { link, Link, type Outward, type Step } from '../../src/pipeline/engine.js';
import { EventHub, type PolicyEventMap } from '../../src/pipeline/events.js';
import { ManualClock } from '../support/clock.js';
import { flush, rejectionOf } from '../support/promises.js';

const run = promisify(execFile);

type Outcome = { ctx: Context; ok: boolean; value: unknown };

/** A step that passes everything through, logging both ways. */
function step(name: string, log: string[]): Step {
  const s: Step = {
    kind: 'test',
    name,
    inner: undefined as never,
    outer: undefined as never,
    settlesEarly: false,
    enter(ctx) {
      log.push(`in ${name}`);
      s.inner.enter(ctx);
    },
    leave(ctx, ok, value) {
      log.push(`out ${name} ${ok} ${String(value)}`);
      s.outer.leave(ctx, ok, value);
    },
    describe: () => name,
    state: () => ({}),
  };
  return s;
}

function outcome(log: string[] = []): Outward & { seen: Outcome[] } {
  const seen: Outcome[] = [];
  return {
    seen,
    leave(ctx, ok, value) {
      log.push(`outcome ${ok} ${String(value)}`);
      seen.push({ ctx, ok, value });
    },
  };
}

function rootFor(fn: (ctx: Context) => unknown, signal?: AbortSignal): RootContext {
  return new RootContext('p', 0, fn as never, signal, undefined);
}

describe('engine', () => {
  describe('Link', () => {
    it('calls the step it leads to both ways, with what it was given', () => {
      const log: string[] = [];
      const target = step('t', log);
      target.inner = { enter: () => log.push('inner') } as never;
      target.outer = {
        leave: (_c: Context, ok: boolean, v: unknown) => log.push(`outer ${ok} ${String(v)}`),
      };
      const way = new Link(target);
      const ctx = rootFor(() => 1);
      way.enter(ctx);
      way.leave(ctx, false, 'e');
      expect(log).to.deep.equal(['in t', 'inner', 'out t false e', 'outer false e']);
    });

    it('gives each class of step a call site of its own, the same for every step of a class', async () => {
      // In a process of its own: the site numbers go to classes in the order a process meets
      // them, and this one has met every class of step already.
      // The module this spec imports: the source's, or, in the run against the built package
      // (specs compiled to .spec-build/dist/), dist/esm's.
      const engineModule = new URL(
        import.meta.url.includes('/.spec-build/dist/')
          ? '../../../../dist/esm/pipeline/engine.js'
          : '../../src/pipeline/engine.js',
        import.meta.url,
      ).href;
      const script = `
        const { Link } = await import(${JSON.stringify(engineModule)});
        const classes = Array.from({ length: 12 }, () => class { enter() {} leave() {} });
        // The site is a link's one number (the built package shortens its name).
        const site = (link) => Object.values(link).find((v) => typeof v === 'number');
        const first = classes.map((C) => site(new Link(new C())));
        const again = classes.map((C) => site(new Link(new C())));
        console.log(JSON.stringify({ first, again }));
      `;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
      const { first, again } = JSON.parse(stdout) as { first: number[]; again: number[] };
      // The first classes met get a site each; the rest share the last one.
      expect(first).to.deep.equal([0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5]);
      expect(again).to.deep.equal(first);
    });
  });

  describe('link', () => {
    it('chains the steps outermost first, in to the thunk and back out to the outcome', () => {
      const log: string[] = [];
      const out = outcome(log);
      const a = step('a', log);
      const b = step('b', log);
      const entry = link([a, b], out, new EventHub(), new ManualClock(), 'p');
      // The way in goes through a link to the first step (see `Link`).
      expect(entry).to.be.instanceOf(Link);
      expect((entry as Link).to).to.equal(a);
      expect(a.inner).to.equal(b);
      expect(b.outer).to.equal(a);
      expect(a.outer).to.equal(out);
      entry.enter(
        rootFor(() => {
          log.push('thunk');
          return 7;
        }),
      );
      expect(log).to.deep.equal([
        'in a',
        'in b',
        'thunk',
        'out b true 7',
        'out a true 7',
        'outcome true 7',
      ]);
    });

    it('with no steps, returns the invoker, which sends the outcome straight to the policy', () => {
      const out = outcome();
      const entry = link([], out, new EventHub(), new ManualClock(), 'p');
      const ctx = rootFor(() => 'direct');
      entry.enter(ctx);
      expect(out.seen).to.deep.equal([{ ctx, ok: true, value: 'direct' }]);
    });
  });

  describe('the invoker', () => {
    function invoke(fn: (ctx: Context) => unknown, setup?: (root: RootContext) => void) {
      const out = outcome();
      const entry = link([], out, new EventHub(), new ManualClock(), 'p');
      const ctx = rootFor(fn);
      setup?.(ctx);
      entry.enter(ctx);
      return { out, ctx };
    }

    it('calls the thunk with the context it is entered with', () => {
      const seen: Context[] = [];
      const { ctx } = invoke((c) => seen.push(c));
      expect(seen).to.deep.equal([ctx]);
    });

    it('sends a synchronous throw out at once as a failure', () => {
      const error = new Error('sync');
      const { out } = invoke(() => {
        throw error;
      });
      expect(out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[false, error]]);
    });

    it('sends the outcome of a promise out once it settles, not before', async () => {
      const error = new Error('async');
      const resolved = invoke(() => Promise.resolve('later'));
      const rejected = invoke(() => Promise.reject(error));
      expect(resolved.out.seen).to.deep.equal([]);
      expect(rejected.out.seen).to.deep.equal([]);
      await flush();
      expect(resolved.out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[true, 'later']]);
      expect(rejected.out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[false, error]]);
    });

    it('adopts a thenable that is not a native promise', async () => {
      const { out } = invoke(() => ({
        then: (resolve: (v: string) => void) => resolve('thenable'),
      }));
      expect(out.seen).to.deep.equal([]);
      await flush();
      expect(out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[true, 'thenable']]);
    });

    it('in the first turn of an execution, makes its reaction the execution promise, answering with the final outcome', async () => {
      const { ctx } = invoke(
        () => Promise.resolve('raw'),
        (root) => {
          root.inFirstTurn = true;
        },
      );
      expect(ctx.result).to.be.instanceOf(Promise);
      // The way out (the policy) settles the root with its own outcome: that is what the
      // execution's promise answers, not the thunk's raw value.
      const result = ctx.result as Promise<unknown>;
      ctx.ok = true;
      ctx.value = 'final';
      ctx.settled = true;
      expect(await result).to.equal('final');

      const failing = invoke(
        () => Promise.reject(new Error('raw')),
        (root) => {
          root.inFirstTurn = true;
        },
      );
      const error = new Error('final');
      failing.ctx.value = error;
      failing.ctx.settled = true;
      expect(await rejectionOf(failing.ctx.result as Promise<unknown>)).to.equal(error);
    });

    it('makes no execution promise after the first turn, or once the execution has a deferred one', async () => {
      const later = invoke(() => Promise.resolve(1));
      const deferred = invoke(
        () => Promise.resolve(2),
        (root) => {
          root.inFirstTurn = true;
          root.deferred = true;
        },
      );
      expect(later.ctx.result).to.equal(undefined);
      expect(deferred.ctx.result).to.equal(undefined);
      await flush();
      expect(later.out.seen.map((o) => o.value)).to.deep.equal([1]);
      expect(deferred.out.seen.map((o) => o.value)).to.deep.equal([2]);
    });

    it('counts a tracked call as running in the slots around it until it settles', async () => {
      const drained: unknown[] = [];
      const out = outcome();
      const entry = link([], out, new EventHub(), new ManualClock(), 'p');
      let finish!: (value: string) => void;
      const root = rootFor(() => new Promise<string>((resolve) => (finish = resolve)));
      root.tracked = true;
      const slot = new SlotContext(root, { drained: (c) => drained.push(c) }, 1);
      entry.enter(slot);
      expect(slot.running).to.equal(1);
      slot.left = true;
      finish('done');
      await flush();
      expect(slot.running).to.equal(0);
      expect(drained).to.deep.equal([1]);
      expect(out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[true, 'done']]);
    });

    describe('with attempt listeners', () => {
      function timed(fn: (ctx: Context) => unknown, tracked = false) {
        const clock = new ManualClock(100);
        const hub = new EventHub();
        const events: Array<PolicyEventMap['attempt']> = [];
        hub.on('attempt', (e) => events.push(e));
        const out = outcome();
        const entry = link([], out, hub, clock, 'orders');
        const root = rootFor(fn);
        root.tracked = tracked;
        const slot = new SlotContext(root, { drained() {} }, 1);
        entry.enter(slot);
        return { clock, events, out, slot };
      }

      it('reports each attempt with its duration on the clock, then sends the outcome out', async () => {
        let finish!: (value: string) => void;
        const { clock, events, out } = timed(
          () => new Promise<string>((resolve) => (finish = resolve)),
        );
        await clock.advance(25);
        finish('ok');
        await flush();
        expect(events).to.deep.equal([{ policy: 'orders', attempt: 1, durationMs: 25 }]);
        expect(out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[true, 'ok']]);
      });

      it('reports the error of a failed attempt, a synchronous throw included', async () => {
        const error = new Error('bad');
        const sync = timed(() => {
          throw error;
        });
        expect(sync.events).to.deep.equal([{ policy: 'orders', attempt: 1, durationMs: 0, error }]);
        expect(sync.out.seen.map((o) => [o.ok, o.value])).to.deep.equal([[false, error]]);
        const async = timed(() => Promise.reject(error));
        await flush();
        expect(async.events).to.deep.equal([
          { policy: 'orders', attempt: 1, durationMs: 0, error },
        ]);
      });

      it('reports a plain value as an attempt that succeeded at once', () => {
        const { events, out } = timed(() => 'plain');
        expect(events).to.deep.equal([{ policy: 'orders', attempt: 1, durationMs: 0 }]);
        expect(out.seen.map((o) => o.value)).to.deep.equal(['plain']);
      });

      it('counts a tracked call as running until it settles', async () => {
        let finish!: () => void;
        const { slot, out } = timed(() => new Promise<void>((resolve) => (finish = resolve)), true);
        expect(slot.running).to.equal(1);
        finish();
        await flush();
        expect(slot.running).to.equal(0);
        expect(out.seen).to.have.length(1);
      });
    });
  });

  describe('whenSettled', () => {
    it('answers a plain value at once as a success', () => {
      const seen: unknown[] = [];
      whenSettled(5, (ok, value) => seen.push(ok, value));
      expect(seen).to.deep.equal([true, 5]);
    });

    it('answers a promise or thenable once it settles', async () => {
      const seen: unknown[] = [];
      const error = new Error('e');
      whenSettled(Promise.resolve('a'), (ok, value) => seen.push(ok, value));
      whenSettled(Promise.reject(error), (ok, value) => seen.push(ok, value));
      expect(seen).to.deep.equal([]);
      await flush();
      expect(seen).to.deep.equal([true, 'a', false, error]);
    });

    it('answers a failure, without throwing, when reading `then` throws', () => {
      const error = new Error('getter');
      const hostile = {
        get then(): unknown {
          throw error;
        },
      };
      const seen: unknown[] = [];
      expect(() => whenSettled(hostile, (ok, value) => seen.push(ok, value))).not.to.throw();
      expect(seen).to.deep.equal([false, error]);
    });
  });
});
