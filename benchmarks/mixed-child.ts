// Runs in its own process (`node mixed-child.js '<json>'`) so that the only policy shapes V8 has
// seen are the ones named: `alive` are built and called, interleaved, before the measurement;
// `measure` are then timed in shuffled rounds (measure.ts). Prints one line of JSON: the figures
// per shape. The solo figure of a shape comes from a process where it is the only one alive.
import { measure, type Measured, type Task } from './measure.js';
import type { ScenarioDef } from './scenarios/types.js';

export interface MixedRequest {
  readonly alive: readonly string[];
  readonly measure: readonly string[];
  readonly rounds: number;
  readonly timeMs: number;
  readonly warmupMs: number;
}

/** Interleaved calls to every shape alive before timing: each call site sees all of them. */
const WARMUP_CYCLES = 5000;

const request = JSON.parse(process.argv[2]!) as MixedRequest;
const { suite, combinations } = await import('./scenarios/bulwark.js');
const factories = { ...suite.subjects, ...combinations };
const subjects = new Map(
  request.alive.map((id) => {
    const factory = factories[id];
    if (typeof factory !== 'function') throw new Error(`no bulwark shape ${id}`);
    return [id, factory()] as const;
  }),
);

const all = [...subjects.values()];
for (let i = 0; i < WARMUP_CYCLES; i++) {
  for (const s of all) await s.call();
}

const tasks: Task[] = request.measure.map((id) => {
  const scenario: ScenarioDef = {
    id,
    title: id,
    mode: 'sequential',
    expect: 'resolve',
    batch: 100,
  };
  return { key: id, scenario, subject: subjects.get(id)! };
});
const measured: Map<string, Measured> = await measure(tasks, request, () => {});
for (const s of all) s.dispose?.();
console.log(JSON.stringify(Object.fromEntries(measured)));
