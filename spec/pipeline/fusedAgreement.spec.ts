// The fused executor (fused.ts) against the step engine: one policy of fallbacks, rate limiters, a
// bulkhead, a retry and a circuit breaker, built twice on one manual clock (fused, and on the steps
// with fusing turned off), runs the same random script of calls (answered at once, thrown,
// pending, thenables; with `data` or without), settlements, clock ticks and microtask turns. After
// every step both must agree on each call's outcome (and whether it has settled yet), the thunks
// they called and what those saw, `metrics()` and every event heard. Then the cases found
// comparing the two, and, plainly, which calls take the fused path and that its context shows what
// the steps' does.
import { expect } from 'chai';
import fc from 'fast-check';
import { inspect } from 'node:util';
import type { ExecutionContext, Thunk } from '../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { PolicyBuilder } from '../../src/pipeline/PolicyBuilder.js';
import { Fused, FusedContext, setFusing } from '../../src/pipeline/fused.js';
import { ManualClock } from '../support/clock.js';
import { deferred, settle, type Deferred, type Settled } from '../support/promises.js';

class ErrorA extends Error {}
class ErrorB extends Error {}
/** What a fallback's method or a predicate throws of its own. */
class OwnError extends Error {}

const CLASSES = { A: ErrorA, B: ErrorB } as const;
type ErrorName = keyof typeof CLASSES;

// ---------------------------------------------------------------------------------------------
// Policies, described as data to build each one twice.

/**
 * An error filter (`on`, `recordOn`, `retryOn`): all errors, classes, a predicate, one that throws
 * or answers a promise.
 */
type FilterSpec =
  | { readonly t: 'all' }
  | { readonly t: 'classes'; readonly classes: readonly ErrorName[] }
  | { readonly t: 'predicate'; readonly matches: ErrorName }
  | { readonly t: 'throws' }
  | { readonly t: 'promise' };

/** A result predicate (`onResult`, `recordOnResult`) that picks the result `'bad'`. */
type ResultRule = 'bad' | 'throws' | 'promise';

type FallbackHow =
  'value' | 'returns' | 'promise' | 'throws' | 'rethrows' | 'rejects' | 'rejects-same' | 'context';

type StageSpec =
  | {
      readonly kind: 'fallback';
      readonly how: FallbackHow;
      readonly on: FilterSpec;
      readonly onResult: ResultRule | undefined;
    }
  | {
      readonly kind: 'bulkhead';
      readonly maxConcurrent: number;
      readonly maxQueue: number;
      readonly maxWait: number | undefined;
    }
  | {
      readonly kind: 'rateLimiter';
      readonly maxTokens: number;
      readonly refillRate: number;
      readonly maxWait: number | undefined;
    }
  | {
      readonly kind: 'retry';
      readonly maxAttempts: number;
      readonly delay: number;
      readonly retryOn: FilterSpec | undefined;
      readonly retryOnResult: ResultRule | undefined;
    }
  | {
      readonly kind: 'circuitBreaker';
      readonly failureThreshold: number;
      readonly recoveryTimeout: number;
      readonly halfOpenMaxCalls: number;
      readonly recordOn: FilterSpec | undefined;
      readonly recordOnResult: ResultRule | undefined;
    };

function nameOf(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}(${error.message})` : String(error);
}

function filterOf(spec: FilterSpec): unknown {
  switch (spec.t) {
    case 'all':
      return undefined;
    case 'classes':
      return spec.classes.map((c) => CLASSES[c]);
    case 'predicate': {
      const cls = CLASSES[spec.matches];
      return (error: unknown) => error instanceof cls;
    }
    case 'throws':
      return (error: unknown) => {
        if (error instanceof ErrorB) throw new OwnError(`filter on ${nameOf(error)}`);
        return true;
      };
    case 'promise':
      return (error: unknown) => (error instanceof ErrorB ? Promise.resolve(true) : true);
  }
}

function ruleOf(rule: ResultRule): (result: unknown) => boolean {
  switch (rule) {
    case 'bad':
      return (result) => result === 'bad';
    case 'throws':
      return (result) => {
        if (result === 'bad') throw new OwnError('rule on bad');
        return false;
      };
    case 'promise':
      return (result) => (result === 'bad' ? (Promise.resolve(true) as never) : false);
  }
}

const METHODS: Record<
  Exclude<FallbackHow, 'value'>,
  (error: unknown, ctx: ExecutionContext) => unknown
> = {
  returns: (error) => `fallback for ${nameOf(error)}`,
  promise: (error) => Promise.resolve(`later fallback for ${nameOf(error)}`),
  throws: (error) => {
    throw new OwnError(`method on ${nameOf(error)}`);
  },
  rethrows: (error) => {
    throw error;
  },
  rejects: (error) => Promise.reject(new OwnError(`async method on ${nameOf(error)}`)),
  'rejects-same': (error) => Promise.reject(error),
  context: (error, ctx) =>
    `fallback for ${nameOf(error)} at attempt ${ctx.attempt}, started ${ctx.startedAt}, ` +
    `data ${String(ctx.data.get('id'))}`,
};

type AnyBuilder = PolicyBuilder<unknown, unknown>;

function make(stages: readonly StageSpec[], clock: ManualClock): Policy<unknown, unknown> {
  let builder: AnyBuilder = Policy.builder<unknown, unknown>('agree').clock(clock);
  for (const s of stages) {
    if (s.kind === 'fallback') {
      const filter = {
        ...(s.on.t === 'all' ? {} : { on: filterOf(s.on) }),
        ...(s.onResult === undefined ? {} : { onResult: ruleOf(s.onResult) }),
      };
      builder = builder.fallback(
        (s.how === 'value'
          ? { value: 'fixed fallback', ...filter }
          : { method: METHODS[s.how], ...filter }) as never,
      );
    } else if (s.kind === 'bulkhead') {
      builder = builder.bulkhead({
        maxConcurrent: s.maxConcurrent,
        maxQueue: s.maxQueue,
        // A wait needs a queue.
        ...(s.maxWait === undefined || s.maxQueue === 0 ? {} : { maxWait: s.maxWait }),
      });
    } else if (s.kind === 'rateLimiter') {
      builder = builder.rateLimiter({
        maxTokens: s.maxTokens,
        refillRate: s.refillRate,
        ...(s.maxWait === undefined ? {} : { maxWait: s.maxWait }),
      });
    } else if (s.kind === 'retry') {
      builder = builder.retry({
        maxAttempts: s.maxAttempts,
        delay: s.delay,
        jitter: 0,
        ...(s.retryOn === undefined ? {} : { retryOn: filterOf(s.retryOn) as never }),
        ...(s.retryOnResult === undefined ? {} : { retryOnResult: ruleOf(s.retryOnResult) }),
      });
    } else {
      builder = builder.circuitBreaker({
        failureThreshold: s.failureThreshold,
        recoveryTimeout: s.recoveryTimeout,
        halfOpenMaxCalls: s.halfOpenMaxCalls,
        ...(s.recordOn === undefined ? {} : { recordOn: filterOf(s.recordOn) as never }),
        ...(s.recordOnResult === undefined ? {} : { recordOnResult: ruleOf(s.recordOnResult) }),
      });
    }
  }
  return builder.build();
}

/**
 * Whether policies built now are fused: a policy of no stage is, unless fusing is off (as it is
 * for the whole run under `npm run spec:steps`, which this spec must leave as it found it).
 */
function fusingNow(): boolean {
  let fused = false;
  void Policy.builder()
    .build()
    .execute((ctx) => {
      fused = ctx instanceof FusedContext;
    });
  return fused;
}

/** Builds with fusing on, or off, then puts fusing back as it was. */
function built<T>(fusing: boolean, build: () => T): T {
  const was = fusingNow();
  setFusing(fusing);
  try {
    return build();
  } finally {
    setFusing(was);
  }
}

/**
 * The policy's fused executor, if it has one: found among its own fields by its class, since
 * the built package renames the field (the specs also run against it).
 */
function fusedOf(policy: Policy<unknown, unknown>): unknown {
  return Object.values(policy).find((field) => field instanceof Fused);
}

// ---------------------------------------------------------------------------------------------
// Random policies.

const filterArb: fc.Arbitrary<FilterSpec> = fc.oneof(
  fc.constant({ t: 'all' } as const),
  fc
    .subarray<ErrorName>(['A', 'B'], { minLength: 1 })
    .map((classes) => ({ t: 'classes', classes }) as const),
  fc.constantFrom<ErrorName>('A', 'B').map((matches) => ({ t: 'predicate', matches }) as const),
  fc.constant({ t: 'throws' } as const),
  fc.constant({ t: 'promise' } as const),
);

const ruleArb = fc.option(fc.constantFrom<ResultRule>('bad', 'throws', 'promise'), {
  nil: undefined,
  freq: 2,
});

const stageArb: fc.Arbitrary<StageSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('fallback' as const),
    how: fc.constantFrom<FallbackHow>(
      'value',
      'returns',
      'promise',
      'throws',
      'rethrows',
      'rejects',
      'rejects-same',
      'context',
    ),
    on: filterArb,
    onResult: ruleArb,
  }),
  fc.record({
    kind: fc.constant('bulkhead' as const),
    maxConcurrent: fc.integer({ min: 1, max: 3 }),
    maxQueue: fc.integer({ min: 0, max: 2 }),
    maxWait: fc.option(fc.constantFrom(5, 20, 100), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('rateLimiter' as const),
    maxTokens: fc.integer({ min: 1, max: 3 }),
    refillRate: fc.constantFrom(10, 100),
    maxWait: fc.option(fc.constantFrom(5, 50), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('retry' as const),
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    // Never 0: a zero-delay wait takes a later turn of the event loop, which no tick moves.
    delay: fc.constantFrom(5, 20),
    retryOn: fc.option(filterArb, { nil: undefined }),
    retryOnResult: ruleArb,
  }),
  fc.record({
    kind: fc.constant('circuitBreaker' as const),
    failureThreshold: fc.integer({ min: 1, max: 3 }),
    recoveryTimeout: fc.constantFrom(10, 50, 200),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 2 }),
    recordOn: fc.option(filterArb, { nil: undefined }),
    recordOnResult: ruleArb,
  }),
);

/** 0 to 4 stages, at most one bulkhead, one retry and one circuit breaker (later ones dropped). */
const stagesArb: fc.Arbitrary<readonly StageSpec[]> = fc
  .array(stageArb, { maxLength: 4 })
  .map((stages) =>
    stages.filter(
      (s, i) =>
        s.kind === 'fallback' ||
        s.kind === 'rateLimiter' ||
        stages.findIndex((o) => o.kind === s.kind) === i,
    ),
  );

// ---------------------------------------------------------------------------------------------
// Random scripts.

type Outcome =
  | { readonly ok: true; readonly value: 'good' | 'bad' }
  | { readonly ok: false; readonly error: ErrorName };

/**
 * What a thunk answers: its outcome at once (a value, or a synchronous throw), a pending promise
 * or a pending thenable (settled by a later `settle`), or a thenable that calls back at once.
 */
type ThunkKind = 'now' | 'pending' | 'thenable' | 'thenable-now';

type Op =
  | {
      readonly t: 'call';
      readonly thunk: ThunkKind;
      readonly outcome: Outcome;
      /** The thunk declares its parameter (its start read at `execute`) or takes it as a rest. */
      readonly declares: boolean;
      /** The thunk reads `ctx.startedAt` when called. */
      readonly readsStart: boolean;
      /** The call passes `data`, which the thunk reads. */
      readonly data: boolean;
    }
  | { readonly t: 'settle'; readonly pick: number; readonly outcome: Outcome }
  | { readonly t: 'tick'; readonly ms: number }
  | { readonly t: 'turns'; readonly turns: number }
  | { readonly t: 'listen' };

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  fc
    .constantFrom<'good' | 'bad'>('good', 'good', 'bad')
    .map((value) => ({ ok: true, value }) as const),
  fc.constantFrom<ErrorName>('A', 'B').map((error) => ({ ok: false, error }) as const),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('call' as const),
      thunk: fc.constantFrom<ThunkKind>('now', 'pending', 'pending', 'thenable', 'thenable-now'),
      outcome: outcomeArb,
      declares: fc.boolean(),
      readsStart: fc.boolean(),
      data: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('settle' as const),
      pick: fc.nat(7),
      outcome: outcomeArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('tick' as const),
      ms: fc.constantFrom(1, 5, 20, 60, 250),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('turns' as const),
      turns: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'listen' } as const) },
);

/** One call as one of the two policies ran it. */
interface Call {
  readonly settled: Settled<unknown>;
  /** Settles a pending thunk (or thenable): undefined for one that answered at once. */
  readonly gate: Deferred<unknown> | undefined;
  gateSettled: boolean;
  /** The thunk's calls: the class of context each got, and `startedAt` when it read it. */
  readonly seen: Array<{
    fused: boolean;
    attempt: number;
    startedAt: number | undefined;
    data: unknown;
  }>;
}

/** One of the two policies, its calls and what its listeners heard. */
interface World {
  readonly policy: Policy<unknown, unknown>;
  readonly calls: Call[];
  readonly heard: unknown[];
  listening: boolean;
}

function errorOf(name: ErrorName, call: number): Error {
  return new CLASSES[name](`call ${call}`);
}

/** An error as compared: class, message, own fields (errors among them described alike), cause. */
function described(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 3) return { thrown: error };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    fields[key] = value instanceof Error ? described(value, depth + 1) : value;
  }
  return {
    class: error.constructor.name,
    message: error.message,
    fields,
    ...(error.cause === undefined ? {} : { cause: described(error.cause, depth + 1) }),
  };
}

function listen(
  world: World,
  event: 'success' | 'failure' | 'attempt' | 'retry' | 'fallback' | 'rejected' | 'circuit-state',
): void {
  world.policy.on(event, (payload: object) => {
    const copy: Record<string, unknown> = { event, ...payload };
    if ('error' in copy) copy.error = described(copy.error);
    world.heard.push(copy);
  });
}

function worldOf(policy: Policy<unknown, unknown>, listening: boolean): World {
  const world: World = { policy, calls: [], heard: [], listening };
  listen(world, 'fallback');
  listen(world, 'rejected');
  listen(world, 'circuit-state');
  listen(world, 'attempt');
  listen(world, 'retry');
  if (listening) {
    listen(world, 'success');
    listen(world, 'failure');
  }
  return world;
}

function thenableOf(promise: Promise<unknown>): PromiseLike<unknown> {
  return {
    then: (onOk, onError) => promise.then(onOk, onError) as never,
  };
}

/** Starts call number `index` of `op` on `world`. */
function start(world: World, op: Extract<Op, { t: 'call' }>, index: number): void {
  const gate = op.thunk === 'pending' || op.thunk === 'thenable' ? deferred<unknown>() : undefined;
  // A call refused before its thunk runs leaves its gate's rejection unobserved.
  gate?.promise.catch(() => undefined);
  const seen: Call['seen'] = [];
  const body = (ctx: ExecutionContext): unknown => {
    seen.push({
      fused: ctx instanceof FusedContext,
      attempt: ctx.attempt,
      startedAt: op.readsStart ? ctx.startedAt : undefined,
      data: ctx.data.get('id'),
    });
    const { outcome } = op;
    switch (op.thunk) {
      case 'now':
        if (outcome.ok) return outcome.value;
        throw errorOf(outcome.error, index);
      case 'pending':
        return gate!.promise;
      case 'thenable':
        return thenableOf(gate!.promise);
      case 'thenable-now':
        return {
          then(onOk: (value: unknown) => void, onError: (error: unknown) => void) {
            if (outcome.ok) onOk(outcome.value);
            else onError(errorOf(outcome.error, index));
          },
        };
    }
  };
  const fn: Thunk<unknown> = op.declares
    ? (ctx) => body(ctx)
    : (...args: ExecutionContext[]) => body(args[0] as ExecutionContext);
  world.calls.push({
    settled: settle(world.policy.execute(fn, op.data ? { data: { id: index } } : undefined)),
    gate,
    gateSettled: gate === undefined,
    seen,
  });
}

/** Settles the gate of the `pick`th call still open (by their order), if any. */
function release(world: World, pick: number, outcome: Outcome): void {
  const open = world.calls.flatMap((c, i) => (c.gateSettled ? [] : [i]));
  if (open.length === 0) return;
  const index = open[pick % open.length] as number;
  const call = world.calls[index] as Call;
  call.gateSettled = true;
  if (outcome.ok) call.gate!.resolve(outcome.value);
  else call.gate!.reject(errorOf(outcome.error, index));
}

/** What both policies must agree on; the context classes are checked apart (they differ). */
function snapshot(world: World): unknown {
  const metrics = world.policy.metrics();
  return {
    calls: world.calls.map((c) => ({
      status: c.settled.status,
      ...(c.settled.status === 'fulfilled' ? { value: c.settled.value } : {}),
      ...(c.settled.status === 'rejected' ? { error: described(c.settled.reason) } : {}),
      thunkCalls: c.seen.map(({ attempt, startedAt, data }) => ({ attempt, startedAt, data })),
    })),
    metrics,
    heard: [...world.heard],
  };
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

let fusedThunkCalls = 0;

async function agree(
  stages: readonly StageSpec[],
  listening: boolean,
  ops: readonly Op[],
): Promise<void> {
  const clock = new ManualClock(1000);
  const fused = worldOf(
    built(true, () => make(stages, clock)),
    listening,
  );
  const steps = worldOf(
    built(false, () => make(stages, clock)),
    listening,
  );
  expect(fusedOf(fused.policy), 'the first policy is fused').to.not.equal(undefined);
  expect(fusedOf(steps.policy), 'the second policy runs on the steps').to.equal(undefined);
  const worlds = [fused, steps] as const;
  const check = (step: string): void => {
    expect(snapshot(steps), step).to.deep.equal(snapshot(fused));
    for (const call of fused.calls) {
      for (const s of call.seen) expect(s.fused, `${step}: a fused thunk's context`).to.equal(true);
    }
    for (const call of steps.calls) {
      for (const s of call.seen) expect(s.fused, `${step}: a step thunk's context`).to.equal(false);
    }
  };
  check('built');
  let calls = 0;
  for (const [i, op] of ops.entries()) {
    switch (op.t) {
      case 'call':
        for (const world of worlds) start(world, op, calls);
        calls++;
        break;
      case 'settle':
        for (const world of worlds) release(world, op.pick, op.outcome);
        break;
      case 'tick':
        clock.tick(op.ms);
        break;
      case 'turns':
        await turns(op.turns);
        break;
      case 'listen':
        for (const world of worlds) {
          if (world.listening) continue;
          world.listening = true;
          listen(world, 'success');
          listen(world, 'failure');
        }
        break;
    }
    check(`after step ${i} (${JSON.stringify(op)})`);
  }
  // Then every gate settles, the waits run out, and everything drains.
  for (const world of worlds) {
    while (world.calls.some((c) => !c.gateSettled)) release(world, 0, { ok: true, value: 'good' });
  }
  await turns(20);
  clock.tick(1000);
  await turns(20);
  check('drained');
  fusedThunkCalls += fused.calls.reduce((n, c) => n + c.seen.length, 0);
}

describe('the fused executor agrees with the steps', () => {
  it('on random policies of fallbacks, rate limiters, a bulkhead, a retry and a breaker', async () => {
    fusedThunkCalls = 0;
    await fc.assert(
      fc.asyncProperty(
        stagesArb,
        fc.boolean(),
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        (stages, listening, ops) => agree(stages, listening, ops),
      ),
      {
        numRuns: Number(process.env.FC_RUNS ?? 500),
        seed: Number(process.env.FC_SEED ?? 0x5eed),
        ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }),
        verbose: Number(process.env.FC_VERBOSE ?? 1) as 0 | 1 | 2,
      },
    );
    // Not vacuous: thunks ran on the fused path.
    expect(fusedThunkCalls).to.be.greaterThan(100);
  });
});

// ---------------------------------------------------------------------------------------------
// Cases found comparing the two: each call settles in the same microtask turn.

/**
 * The microtask turn (counted from `release`) in which each call of `scenario` settles, on a
 * policy of `stages` built with fusing on or off.
 */
async function settlingTurns(
  fusing: boolean,
  stages: readonly StageSpec[] | ((clock: ManualClock) => Policy<unknown, unknown>),
  scenario: (
    policy: Policy<unknown, unknown>,
    clock: ManualClock,
  ) => {
    calls: Array<Promise<unknown>>;
    release: () => void;
  },
): Promise<number[]> {
  const clock = new ManualClock(1000);
  const policy = built(fusing, () =>
    typeof stages === 'function' ? stages(clock) : make(stages, clock),
  );
  expect(fusedOf(policy) !== undefined, 'fused').to.equal(fusing);
  const { calls, release } = scenario(policy, clock);
  let turn = 0;
  const turns = calls.map(() => -1);
  calls.forEach((call, i) => {
    const seen = (): void => {
      turns[i] = turn;
    };
    call.then(seen, seen);
  });
  release();
  for (turn = 1; turn <= 20; turn++) await Promise.resolve();
  return turns;
}

describe('the fused executor settles a call in the turn the steps do', () => {
  it('a call that queued for a slot, its thunk answering with a promise', async () => {
    const stages: StageSpec[] = [
      { kind: 'bulkhead', maxConcurrent: 1, maxQueue: 1, maxWait: undefined },
    ];
    const scenario = (policy: Policy<unknown, unknown>) => {
      const first = deferred<unknown>();
      const second = deferred<unknown>();
      return {
        calls: [policy.execute(() => first.promise), policy.execute(() => second.promise)],
        release: () => {
          first.resolve('first');
          second.resolve('second');
        },
      };
    };
    const steps = await settlingTurns(false, stages, scenario);
    expect(await settlingTurns(true, stages, scenario)).to.deep.equal(steps);
  });

  it('a call two fallbacks declined, each by a method that rejects later', async () => {
    const stages: StageSpec[] = [
      { kind: 'fallback', how: 'rejects-same', on: { t: 'all' }, onResult: undefined },
      { kind: 'fallback', how: 'rejects-same', on: { t: 'all' }, onResult: undefined },
    ];
    const scenario = (policy: Policy<unknown, unknown>) => {
      const work = deferred<unknown>();
      work.promise.catch(() => undefined);
      return {
        calls: [
          policy.execute(() => {
            throw new ErrorA('at once');
          }),
          policy.execute(() => work.promise),
        ],
        release: () => work.reject(new ErrorB('later')),
      };
    };
    const steps = await settlingTurns(false, stages, scenario);
    expect(await settlingTurns(true, stages, scenario)).to.deep.equal(steps);
  });

  it("a call timed by an attempt listener, whose fallback's method answers later", async () => {
    const build = (clock: ManualClock) =>
      Policy.builder<unknown, unknown>('agree')
        .clock(clock)
        .fallback({ method: (error: unknown) => Promise.reject(error) })
        .build();
    const scenario = (policy: Policy<unknown, unknown>) => {
      policy.on('attempt', () => undefined);
      const work = deferred<unknown>();
      return {
        calls: [policy.execute(() => work.promise)],
        release: () => work.reject(new ErrorA('later')),
      };
    };
    const steps = await settlingTurns(false, build, scenario);
    expect(await settlingTurns(true, build, scenario)).to.deep.equal(steps);
  });

  it('a call that waited for a token', async () => {
    const build = (clock: ManualClock) =>
      Policy.builder<unknown, unknown>('agree')
        .clock(clock)
        .rateLimiter({ maxTokens: 1, refillRate: 10, maxWait: 1000 })
        .build();
    const scenario = (policy: Policy<unknown, unknown>, clock: ManualClock) => {
      const first = deferred<unknown>();
      const second = deferred<unknown>();
      return {
        calls: [policy.execute(() => first.promise), policy.execute(() => second.promise)],
        release: () => {
          clock.tick(100);
          first.resolve('first');
          second.resolve('second');
        },
      };
    };
    const steps = await settlingTurns(false, build, scenario);
    expect(await settlingTurns(true, build, scenario)).to.deep.equal(steps);
  });

  it('a call retried after a delay', async () => {
    const build = (clock: ManualClock) =>
      Policy.builder<unknown, unknown>('agree')
        .clock(clock)
        .retry({ maxAttempts: 2, delay: 5, jitter: 0 })
        .build();
    const scenario = (policy: Policy<unknown, unknown>, clock: ManualClock) => {
      const second = deferred<unknown>();
      return {
        calls: [
          policy.execute((ctx) => {
            if (ctx.attempt === 1) throw new ErrorA('first');
            return second.promise;
          }),
        ],
        release: () => {
          clock.tick(5);
          second.resolve('second');
        },
      };
    };
    const steps = await settlingTurns(false, build, scenario);
    expect(await settlingTurns(true, build, scenario)).to.deep.equal(steps);
  });
});

// ---------------------------------------------------------------------------------------------
// Which calls take the fused path, and what their thunks see.

const ELIGIBLE: readonly StageSpec[] = [
  { kind: 'fallback', how: 'returns', on: { t: 'classes', classes: ['A'] }, onResult: undefined },
  { kind: 'rateLimiter', maxTokens: 10, refillRate: 10, maxWait: undefined },
  { kind: 'bulkhead', maxConcurrent: 2, maxQueue: 1, maxWait: undefined },
  { kind: 'retry', maxAttempts: 2, delay: 5, retryOn: undefined, retryOnResult: undefined },
  {
    kind: 'circuitBreaker',
    failureThreshold: 2,
    recoveryTimeout: 50,
    halfOpenMaxCalls: 1,
    recordOn: undefined,
    recordOnResult: undefined,
  },
];

/** The context the thunk of one call (`execute(thunk, options)`) gets. */
function contextOf(
  policy: Policy<unknown, unknown>,
  options?: Parameters<Policy<unknown, unknown>['execute']>[1],
): ExecutionContext {
  let seen: ExecutionContext | undefined;
  void policy.execute((ctx) => {
    seen = ctx;
  }, options);
  expect(seen, 'the thunk ran at once').to.not.equal(undefined);
  return seen as ExecutionContext;
}

describe('the fused path', () => {
  it('runs a call without a signal of a policy of stages it can run', () => {
    const clock = new ManualClock(1000);
    expect(contextOf(built(true, () => make(ELIGIBLE, clock)))).to.be.instanceOf(FusedContext);
    expect(contextOf(built(true, () => make([], clock)))).to.be.instanceOf(FusedContext);
    // Built with fusing off, the same policy runs on the steps.
    expect(contextOf(built(false, () => make(ELIGIBLE, clock)))).to.not.be.instanceOf(FusedContext);

    const policy = built(true, () => make(ELIGIBLE, clock));
    const withData = contextOf(policy, { data: { id: 7 } });
    expect(withData).to.be.instanceOf(FusedContext);
    expect(withData.data.get('id')).to.equal(7);
    // Attempts are timed on the fused path too.
    const attempts: unknown[] = [];
    const stop = policy.on('attempt', (e) => attempts.push(e));
    expect(contextOf(policy)).to.be.instanceOf(FusedContext);
    stop();
    expect(attempts).to.deep.equal([{ policy: 'agree', attempt: 1, durationMs: 0 }]);
    // A fallback's method that takes the context gets the fused call's.
    const reachingMethod = built(true, () =>
      make([{ kind: 'fallback', how: 'context', on: { t: 'all' }, onResult: undefined }], clock),
    );
    expect(contextOf(reachingMethod)).to.be.instanceOf(FusedContext);
  });

  it('leaves to the steps a call with a signal, and a policy with a stage it cannot run', () => {
    const clock = new ManualClock(1000);
    const policy = built(true, () => make(ELIGIBLE, clock));
    expect(contextOf(policy, { signal: new AbortController().signal })).to.not.be.instanceOf(
      FusedContext,
    );
    const withTimeout = built(true, () =>
      Policy.builder<unknown, unknown>('agree')
        .clock(clock)
        .fallback({ value: 0 })
        .timeout(100)
        .build(),
    );
    expect(contextOf(withTimeout)).to.not.be.instanceOf(FusedContext);
    const timingBreaker = built(true, () =>
      Policy.builder<unknown, unknown>('agree')
        .clock(clock)
        .circuitBreaker({ slowCallDuration: 100 })
        .build(),
    );
    expect(contextOf(timingBreaker)).to.not.be.instanceOf(FusedContext);
    const twoBulkheads = built(true, () =>
      Policy.builder<unknown, unknown>('agree').clock(clock).bulkhead().bulkhead().build(),
    );
    expect(contextOf(twoBulkheads)).to.not.be.instanceOf(FusedContext);
  });

  for (const declares of [true, false]) {
    it(`shows a thunk ${declares ? 'that declares its parameter' : 'taking it as a rest'} the fields the steps show`, () => {
      const clock = new ManualClock(1000);
      // No rate limiter: one on the policy's clock reads the start at `execute`.
      const stages = ELIGIBLE.filter((s) => s.kind !== 'rateLimiter');
      const fusedPolicy = built(true, () => make(stages, clock));
      const stepsPolicy = built(false, () => make(stages, clock));
      const contexts = [fusedPolicy, stepsPolicy].map((policy) => {
        let seen: ExecutionContext | undefined;
        void policy.execute(
          declares
            ? (ctx) => {
                seen = ctx;
              }
            : (...args: ExecutionContext[]) => {
                seen = args[0];
              },
        );
        return seen as ExecutionContext;
      });
      const [fused, steps] = contexts as [ExecutionContext, ExecutionContext];
      expect(fused).to.be.instanceOf(FusedContext);
      expect(steps).to.not.be.instanceOf(FusedContext);
      clock.tick(5);
      for (const ctx of contexts) {
        expect(ctx.policyName).to.equal('agree');
        expect(ctx.attempt).to.equal(1);
        // Read at `execute` for a thunk that declares the context, else at its first read.
        expect(ctx.startedAt).to.equal(declares ? 1000 : 1005);
        expect(ctx.deadline).to.equal(Infinity);
        expect(ctx.remaining).to.equal(Infinity);
        expect(ctx.signal.aborted).to.equal(false);
        expect(ctx.data).to.be.instanceOf(Map);
        expect(ctx.data.size).to.equal(0);
      }
      expect(JSON.stringify(fused)).to.equal(JSON.stringify(steps));
      expect(inspect(fused)).to.equal(inspect(steps));
      expect(inspect(fused)).to.match(/^ExecutionContext \{/);
      for (const ctx of contexts) ctx.data.set('id', 7);
      expect(JSON.stringify(fused)).to.equal(JSON.stringify(steps));
      expect(inspect(fused)).to.equal(inspect(steps));
    });
  }
});
