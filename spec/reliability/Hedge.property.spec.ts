// Properties of the hedge stage over random attempt durations and outcomes (a plan's delay -1
// stands for 'on-failure'): the call settles once, with what the rules say; at most 1 + maxHedges
// attempts start, each at its due time; every loser's signal is aborted; no timer is left and the
// stage's counters come back to rest.
import { expect } from 'chai';
import fc from 'fast-check';
import { Policy } from '../../src/pipeline/Policy.js';
import { ManualClock } from '../support/clock.js';
import { fcParams, settle } from './support.js';

interface Plan {
  readonly maxHedges: number;
  readonly delay: number;
  /** Per attempt: how long it runs, and whether it fails. */
  readonly attempts: readonly { readonly ms: number; readonly fails: boolean }[];
}

const planArb: fc.Arbitrary<Plan> = fc
  .record({
    maxHedges: fc.integer({ min: 1, max: 4 }),
    delay: fc.oneof(fc.constant(0), fc.constant(-1), fc.integer({ min: 1, max: 200 })),
  })
  .chain(({ maxHedges, delay }) =>
    fc.record({
      maxHedges: fc.constant(maxHedges),
      delay: fc.constant(delay),
      attempts: fc.array(fc.record({ ms: fc.integer({ min: 0, max: 500 }), fails: fc.boolean() }), {
        minLength: maxHedges + 1,
        maxLength: maxHedges + 1,
      }),
    }),
  );

/** What the rules predict: the start times of the attempts and the outcome. */
function predict(plan: Plan): { starts: number[]; winner: number | undefined; last: number } {
  const { maxHedges, delay, attempts } = plan;
  const starts: number[] = [0];
  let winner: number | undefined;
  let last = -1;
  let nextDue = delay > 0 ? delay : Infinity;
  if (delay === 0) for (let i = 1; i <= maxHedges; i++) starts.push(0);
  const ends = () =>
    starts
      .map((s, i) => ({ i, at: s + (attempts[i]?.ms ?? 0) }))
      .sort((a, b) => a.at - b.at || a.i - b.i);
  const settled = new Set<number>();
  for (;;) {
    const pending = ends().filter((e) => !settled.has(e.i));
    const next = pending[0];
    const canStart = starts.length <= maxHedges;
    if (canStart && nextDue !== Infinity && (next === undefined || nextDue < next.at)) {
      starts.push(nextDue);
      nextDue = starts.length <= maxHedges ? nextDue + delay : Infinity;
      continue;
    }
    if (next === undefined) break;
    settled.add(next.i);
    last = next.i;
    if (!(attempts[next.i] as { fails: boolean }).fails) {
      winner = next.i;
      break;
    }
    if (starts.length <= maxHedges) {
      starts.push(next.at);
      nextDue = starts.length <= maxHedges && delay > 0 ? next.at + delay : Infinity;
    } else if (settled.size === starts.length) break;
  }
  return { starts, winner, last };
}

describe('Hedge (properties)', () => {
  it('starts attempts when the rules say, answers with the first result, aborts the losers and leaves nothing behind', async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(planArb, async (plan) => {
        const clock = new ManualClock(0);
        const policy = Policy.builder<number>('p')
          .hedge({
            maxHedges: plan.maxHedges,
            delay: plan.delay === -1 ? 'on-failure' : plan.delay,
            clock,
          })
          .build();
        const started: { attempt: number; at: number; signal: AbortSignal }[] = [];
        const result = settle(
          policy.execute(
            (ctx) =>
              new Promise<number>((resolve, reject) => {
                const i = ctx.attempt - 1;
                started.push({ attempt: ctx.attempt, at: clock.now(), signal: ctx.signal });
                const { ms, fails } = plan.attempts[i] as Plan['attempts'][number];
                const timer = clock.setTimeout(
                  () => (fails ? reject(new Error(`#${i}`)) : resolve(i)),
                  ms,
                );
                ctx.signal.addEventListener('abort', () => {
                  clock.clearTimeout(timer);
                  reject(ctx.signal.reason as Error);
                });
              }),
          ),
        );
        await clock.advance(100_000);
        const { starts, winner, last } = predict(plan);
        expect(started.map((s) => s.attempt)).to.deep.equal(starts.map((_, i) => i + 1));
        expect(started.map((s) => s.at)).to.deep.equal(starts);
        expect(started.length).to.be.at.most(plan.maxHedges + 1);
        const end = (i: number) => (starts[i] ?? 0) + (plan.attempts[i]?.ms ?? 0);
        if (winner !== undefined) {
          expect(result).to.deep.include({ status: 'fulfilled', value: winner });
          // Whoever was still running when the winner answered is aborted; nobody else.
          const running = (i: number) =>
            end(i) > end(winner) || (end(i) === end(winner) && i > winner);
          expect(started.map((s) => s.signal.aborted)).to.deep.equal(
            started.map((_, i) => i !== winner && running(i)),
          );
        } else {
          expect(result.status).to.equal('rejected');
          expect((result.reason as Error).message).to.equal(`#${last}`);
          expect(started.filter((s) => s.signal.aborted)).to.deep.equal([]);
        }
        expect(clock.pending()).to.equal(0);
        expect(policy.metrics().stages[0]).to.deep.include({ running: 0 });
        expect(policy.metrics()).to.deep.include({ calls: 1 });
        expect(policy.metrics().successes + policy.metrics().failures).to.equal(1);
      }),
      fcParams({ numRuns: 300 }),
    );
  });
});
