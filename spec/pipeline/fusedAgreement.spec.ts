// The fused executor (fused.ts) against the step engine: one policy of fallbacks, a bulkhead and
// a circuit breaker, built twice (fused, and on the steps with fusing turned off), must settle
// each call as the steps do, in the same microtask turn.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import type { PolicyBuilder } from '../../src/pipeline/PolicyBuilder.js';
import { FusedContext, setFusing } from '../../src/pipeline/fused.js';
import { ManualClock } from '../support/clock.js';
import { deferred } from '../support/promises.js';

class ErrorA extends Error {}
class ErrorB extends Error {}
/** What a fallback's method or a predicate throws of its own. */
class OwnError extends Error {}

const CLASSES = { A: ErrorA, B: ErrorB } as const;
type ErrorName = keyof typeof CLASSES;

// ---------------------------------------------------------------------------------------------
// Policies, described as data to build each one twice.

/** An error filter (`on`, `recordOn`): all errors, classes, a predicate, one that throws or answers a promise. */
type FilterSpec =
  | { readonly t: 'all' }
  | { readonly t: 'classes'; readonly classes: readonly ErrorName[] }
  | { readonly t: 'predicate'; readonly matches: ErrorName }
  | { readonly t: 'throws' }
  | { readonly t: 'promise' };

/** A result predicate (`onResult`, `recordOnResult`) that picks the result `'bad'`. */
type ResultRule = 'bad' | 'throws' | 'promise';

type FallbackHow =
  'value' | 'returns' | 'promise' | 'throws' | 'rethrows' | 'rejects' | 'rejects-same';

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

// Each method takes the error alone (a method that can reach the context keeps a policy on the
// steps).
const METHODS: Record<Exclude<FallbackHow, 'value'>, (error: unknown) => unknown> = {
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

/** The policy's fused executor, if it has one. */
function fusedOf(policy: Policy<unknown, unknown>): unknown {
  return policy['fused'];
}

// ---------------------------------------------------------------------------------------------
// Cases found by comparing the two.

/**
 * The microtask turn (counted from `release`) in which each call of `scenario` settles, on a
 * policy of `stages` built with fusing on or off.
 */
async function settlingTurns(
  fusing: boolean,
  stages: readonly StageSpec[],
  scenario: (policy: Policy<unknown, unknown>) => {
    calls: Array<Promise<unknown>>;
    release: () => void;
  },
): Promise<number[]> {
  const policy = built(fusing, () => make(stages, new ManualClock(1000)));
  expect(fusedOf(policy) !== undefined, 'fused').to.equal(fusing);
  const { calls, release } = scenario(policy);
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
});
