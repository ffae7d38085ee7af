// Runs in its own process (`node --expose-gc memory-child.js <kind> <library> <count>`) so the
// heap it reads holds nothing but the library under test. Prints one line of JSON.
//
//   growth  heap after `count` sequential full-pipeline calls minus heap before them, both after GC
//   idle    heap per full-pipeline instance with `count` of them alive and never called, and the
//           timers they hold (unref'd ones too, which process.getActiveResourcesInfo() misses)
import { countTimers } from './timers.js';
import type { Factory, Suite } from './scenarios/types.js';

const [kind, library, countArg] = process.argv.slice(2);
const count = Number(countArg);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

// heapUsed right after a full GC still wanders by some 100 KB from one reading to the next, so
// a growth takes the median of several readings, each after GCs with a turn in between for
// finalizers. Spread over 100,000 idle instances that wander is a byte each: one reading does.
async function heapAfterGc(times: number): Promise<number> {
  const readings: number[] = [];
  for (let r = 0; r < times; r++) {
    for (let i = 0; i < 3; i++) {
      gc!();
      await settle();
    }
    readings.push(process.memoryUsage().heapUsed);
  }
  return readings.sort((a, b) => a - b)[times >> 1]!;
}

async function pipelineOf(lib: string | undefined): Promise<Factory> {
  const { suite } = (await import(`./scenarios/${lib}.js`)) as { suite: Suite };
  const factory = suite.subjects['pipeline'];
  if (typeof factory !== 'function') throw new Error(`${lib} has no full pipeline`);
  return factory;
}

if (kind === 'growth') {
  const subject = (await pipelineOf(library))();
  // Warm up first, so lazily built state and optimised code are in the baseline.
  for (let i = 0; i < 50_000; i++) await subject.call();
  const before = await heapAfterGc(5);
  for (let i = 0; i < count; i++) await subject.call();
  const after = await heapAfterGc(5);
  subject.dispose?.();
  console.log(JSON.stringify({ calls: count, growthBytes: after - before }));
} else if (kind === 'idle') {
  // Only here are timers counted (the counter's own bookkeeping would blur a heap growth), and
  // from before the library loads, so no timer it sets escapes the count.
  const timers = countTimers();
  const factory = await pipelineOf(library);
  const instances = new Array<ReturnType<typeof factory>>(count);
  const timersBefore = timers.live();
  const before = await heapAfterGc(1);
  for (let i = 0; i < count; i++) instances[i] = factory();
  const after = await heapAfterGc(1);
  const timersHeld = timers.live() - timersBefore;
  for (const s of instances) s.dispose?.();
  console.log(
    JSON.stringify({
      instances: count,
      bytesPerInstance: (after - before) / count,
      timersHeld,
    }),
  );
} else {
  throw new Error(`unknown kind ${kind}`);
}
