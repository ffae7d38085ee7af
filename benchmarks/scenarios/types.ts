// The shared vocabulary of the benchmark: which scenarios exist, what a library supplies for each,
// and the async no-op every library wraps.

export type Library = 'bare' | 'bulwark' | 'cockatiel' | 'opossum';

export type Mode = 'sequential' | 'in-flight';

/** Whether a measured call must resolve or reject; checked before every round. */
export type Expect = 'resolve' | 'reject';

export interface ScenarioDef {
  readonly id: string;
  readonly title: string;
  readonly mode: Mode;
  readonly expect: Expect;
  /** Calls per timed sample: the sample's time divided by this is one call's cost. */
  readonly batch: number;
  /** A set of scenarios `--filter` can select by this name, as by an id. */
  readonly group?: string;
  /**
   * The scenario this one is read against, for the same library: its row shows how many times
   * the baseline's ns/call it costs, and `--filter` always runs the baseline along with it.
   */
  readonly baseline?: { readonly id: string; readonly name: string };
  /** True when each call waits on a server outside the process (Redis). */
  readonly remote?: boolean;
}

/** One thing to measure, built once: `call` makes one call through it. */
export interface Subject {
  readonly call: () => Promise<unknown>;
  readonly dispose?: () => void;
}

export type Factory = () => Subject;

/**
 * What one library offers: for each scenario id, a factory, or a string saying why the library
 * has no equivalent. Scenarios a library leaves out are not shown for it.
 */
export interface Suite {
  readonly library: Library;
  readonly subjects: Readonly<Partial<Record<string, Factory | string>>>;
  /**
   * Sets up what the subjects share (a server, a connection), once, before the first of them is
   * made. Resolves to why they cannot run, if they cannot: they are then reported as skipped and
   * the run goes on without them.
   */
  readonly open?: () => Promise<string | undefined>;
  /** Frees what `open` set up, so the process exits by itself; called even when the run fails. */
  readonly close?: () => Promise<void>;
}

const SEQUENTIAL = 100;
const IN_FLIGHT = 1000;
// A call to Redis is a round trip of some 100 µs: short samples keep the rounds interleaved.
const ROUND_TRIPS = 10;

/** Every scenario, in the order the table and the chart show them. */
export const SCENARIOS: readonly ScenarioDef[] = [
  {
    id: 'bare',
    title: 'bare await fn()',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
  },
  { id: 'fallback', title: 'fallback', mode: 'sequential', expect: 'resolve', batch: SEQUENTIAL },
  {
    id: 'rate-limiter',
    title: 'rate limiter',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
  },
  { id: 'bulkhead', title: 'bulkhead', mode: 'sequential', expect: 'resolve', batch: SEQUENTIAL },
  { id: 'retry', title: 'retry', mode: 'sequential', expect: 'resolve', batch: SEQUENTIAL },
  // A retry drawing on a RetryBudget, and a bulkhead under an AdaptiveLimit: what each adds.
  {
    id: 'retry-budget',
    title: 'retry with a budget',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
    baseline: { id: 'retry', name: 'no budget' },
  },
  {
    id: 'bulkhead-adaptive',
    title: 'bulkhead, adaptive limit',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
    baseline: { id: 'bulkhead', name: 'fixed limit' },
  },
  {
    id: 'circuit-breaker',
    title: 'circuit breaker',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
  },
  { id: 'timeout', title: 'timeout', mode: 'sequential', expect: 'resolve', batch: SEQUENTIAL },
  // The first attempt answers before the hedging delay: what a hedge costs when it never hedges.
  { id: 'hedge', title: 'hedge', mode: 'sequential', expect: 'resolve', batch: SEQUENTIAL },
  // Fault injection switched off, as it ships to production: one check per call.
  { id: 'chaos', title: 'chaos (off)', mode: 'sequential', expect: 'resolve', batch: SEQUENTIAL },
  {
    id: 'pipeline',
    title: 'full pipeline',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
  },
  // The same pipeline with OpenTelemetry metrics recorded (bulwark/otel).
  {
    id: 'pipeline-instrumented',
    title: 'full pipeline (instrumented)',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
    baseline: { id: 'pipeline', name: 'uninstrumented' },
  },
  {
    id: 'bare-x1000',
    title: 'bare, 1,000 in flight',
    mode: 'in-flight',
    expect: 'resolve',
    batch: IN_FLIGHT,
  },
  {
    id: 'pipeline-x1000',
    title: 'full pipeline, 1,000 in flight',
    mode: 'in-flight',
    expect: 'resolve',
    batch: IN_FLIGHT,
  },
  {
    id: 'open-circuit',
    title: 'open-circuit rejection',
    mode: 'sequential',
    expect: 'reject',
    batch: SEQUENTIAL,
  },
  {
    id: 'bulkhead-full',
    title: 'bulkhead rejection',
    mode: 'sequential',
    expect: 'reject',
    batch: SEQUENTIAL,
  },
  // cockatiel waits a real timer tick before a retry even with no backoff, so keep its samples short.
  {
    id: 'retry-then-success',
    title: 'retry: one failure, then success',
    mode: 'sequential',
    expect: 'resolve',
    batch: 10,
  },
  // The same primitive with its in-memory store and with the Redis one (bulwark/redis).
  {
    id: 'rate-limiter-acquire',
    title: 'rate limiter acquire(), in memory',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
    group: 'distributed',
  },
  {
    id: 'rate-limiter-acquire-redis',
    remote: true,
    title: 'rate limiter acquire(), Redis',
    mode: 'sequential',
    expect: 'resolve',
    batch: ROUND_TRIPS,
    group: 'distributed',
    baseline: { id: 'rate-limiter-acquire', name: 'in memory' },
  },
  {
    id: 'circuit-breaker-execute',
    title: 'circuit breaker execute(), in memory',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
    group: 'distributed',
  },
  {
    id: 'circuit-breaker-execute-redis',
    remote: true,
    title: 'circuit breaker execute(), Redis',
    mode: 'sequential',
    expect: 'resolve',
    batch: ROUND_TRIPS,
    group: 'distributed',
    baseline: { id: 'circuit-breaker-execute', name: 'in memory' },
  },
  {
    id: 'bulkhead-execute',
    title: 'bulkhead execute(), in memory',
    mode: 'sequential',
    expect: 'resolve',
    batch: SEQUENTIAL,
    group: 'distributed',
  },
  {
    id: 'bulkhead-execute-redis',
    remote: true,
    title: 'bulkhead execute(), Redis',
    mode: 'sequential',
    expect: 'resolve',
    batch: ROUND_TRIPS,
    group: 'distributed',
    baseline: { id: 'bulkhead-execute', name: 'in memory' },
  },
];

/** The work every library wraps: an async no-op, so only the wrapping is measured. */
export const noop = async (): Promise<void> => {};

/** One error made up front, so failure paths measure the library and not stack capture. */
export const boom = new Error('boom');

/** An async function that fails on its 1st, 3rd, 5th... call and succeeds on the others. */
export function failEveryOtherCall(): () => Promise<void> {
  let calls = 0;
  return async () => {
    if ((calls++ & 1) === 0) throw boom;
  };
}

/** A promise that never settles: it keeps a bulkhead slot taken for the whole run. */
export const never = (): Promise<never> => new Promise<never>(() => {});
