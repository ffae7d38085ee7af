// Times the scenarios with tinybench. Machine drift (turbo, thermal throttling, a noisy
// neighbour) would favour whichever task ran in a calm moment, so every task runs in several
// short rounds, in a fresh shuffled order each round, and the result is the median of the
// per-round medians.
import { Bench } from 'tinybench';
import type { ScenarioDef, Subject } from './scenarios/types.js';

export interface Task {
  readonly key: string;
  readonly scenario: ScenarioDef;
  readonly subject: Subject;
}

export interface RoundPlan {
  readonly rounds: number;
  /** Time budget per task per round, in ms. */
  readonly timeMs: number;
  readonly warmupMs: number;
}

/** Per-call figures in ns: each is the median over rounds of that round's statistic. */
export interface Measured {
  readonly nsPerCall: number;
  readonly meanNs: number;
  readonly p99Ns: number;
  readonly perRoundNs: readonly number[];
  readonly samples: number;
}

export type Progress = (round: number, done: number, total: number, key: string) => void;

/** One task's statistics, one entry per round, in ns per call. */
interface PerRound {
  readonly p50: number[];
  readonly mean: number[];
  readonly p99: number[];
  samples: number;
}

/**
 * Scenarios that depend on a server outside the process: when one of them fails (the server
 * stalls or dies), it is dropped from the run and reported as failed, instead of ending the
 * whole run. Any other failure is a bug and ends the run.
 */
function external(task: Task): boolean {
  return task.scenario.remote === true;
}

export async function measure(
  tasks: readonly Task[],
  plan: RoundPlan,
  progress: Progress,
  failed: Map<string, string> = new Map(),
): Promise<Map<string, Measured>> {
  const perRound = new Map<string, PerRound>();
  for (const t of tasks) perRound.set(t.key, { p50: [], mean: [], p99: [], samples: 0 });

  // A library may wait on an unref'd timer (as a server would, kept alive by its sockets); this
  // keeps the process alive meanwhile, instead of exiting mid-run with "unsettled top-level await".
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    await rounds(tasks, plan, progress, perRound, failed);
  } finally {
    clearInterval(keepAlive);
  }

  const out = new Map<string, Measured>();
  for (const [key, acc] of perRound) {
    if (failed.has(key)) continue;
    out.set(key, {
      nsPerCall: median(acc.p50),
      meanNs: median(acc.mean),
      p99Ns: median(acc.p99),
      perRoundNs: acc.p50,
      samples: acc.samples,
    });
  }
  return out;
}

async function rounds(
  tasks: readonly Task[],
  plan: RoundPlan,
  progress: Progress,
  perRound: Map<string, PerRound>,
  failed: Map<string, string>,
): Promise<void> {
  for (let round = 1; round <= plan.rounds; round++) {
    const bench = new Bench({
      time: plan.timeMs,
      warmupTime: plan.warmupMs,
      iterations: 4,
      warmupIterations: 2,
      throws: true,
    });
    const order: Task[] = [];
    for (const t of shuffle(tasks.filter((task) => !failed.has(task.key)))) {
      if (!external(t)) {
        await check(t);
        bench.add(t.key, loop(t), { async: true });
        order.push(t);
        continue;
      }
      try {
        await check(t);
      } catch (error) {
        failed.set(t.key, error instanceof Error ? error.message : String(error));
        continue;
      }
      const timed = loop(t);
      bench.add(
        t.key,
        async () => {
          if (failed.has(t.key)) return;
          try {
            await timed();
          } catch (error) {
            failed.set(t.key, error instanceof Error ? error.message : String(error));
          }
        },
        { async: true },
      );
      order.push(t);
    }
    let done = 0;
    bench.addEventListener('cycle', (e) => progress(round, ++done, order.length, e.task.name));
    await bench.run();
    for (const task of bench.tasks) {
      if (failed.has(task.name)) continue;
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
      const batch = tasks.find((t) => t.key === task.name)!.scenario.batch;
      const acc = perRound.get(task.name)!;
      // tinybench reports ms per sample; a sample is one batch of calls.
      acc.p50.push((r.latency.p50 * 1e6) / batch);
      acc.mean.push((r.latency.mean * 1e6) / batch);
      acc.p99.push((r.latency.p99 * 1e6) / batch);
      acc.samples += r.latency.samplesCount;
    }
  }
}

/** The timed function: one batch of calls, one after another or all at once. */
function loop({ scenario, subject }: Task): () => Promise<void> {
  const { call } = subject;
  const n = scenario.batch;
  if (scenario.mode === 'in-flight') {
    return async () => {
      const pending = new Array<Promise<unknown>>(n);
      for (let i = 0; i < n; i++) pending[i] = call();
      await Promise.all(pending);
    };
  }
  if (scenario.expect === 'reject') {
    return async () => {
      for (let i = 0; i < n; i++) {
        try {
          await call();
        } catch {
          // Rejection scenarios measure the rejection; check() made sure it is the expected one.
        }
      }
    };
  }
  // A call that should resolve and rejects stops the run: it measured some other path (a Redis
  // store answering without Redis, say), and its figure would be wrong.
  return async () => {
    for (let i = 0; i < n; i++) await call();
  };
}

/** Fails loudly when a subject does not take the path its scenario is meant to measure. */
async function check({ key, scenario, subject }: Task): Promise<void> {
  let detail = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<'stuck'>((resolve) => {
    timer = setTimeout(() => resolve('stuck'), 10_000);
  });
  const outcome = await Promise.race([
    subject.call().then(
      () => 'resolve' as const,
      (error: unknown) => {
        detail = `: ${String(error)}`;
        return 'reject' as const;
      },
    ),
    stuck,
  ]);
  clearTimeout(timer);
  if (outcome === 'stuck') throw new Error(`${key}: a call did not settle within 10 s`);
  if (outcome !== scenario.expect) {
    throw new Error(`${key} should ${scenario.expect} but did ${outcome}${detail}`);
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
