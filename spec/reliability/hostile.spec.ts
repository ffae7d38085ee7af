// Hostile input and odd callees. A matrix over every option of every primitive, every builder
// method and the configuration loader: each bad value is a TypeError or RangeError naming the
// option, and a failed construction changes no shared state. Then callees that misbehave in every
// way we know of; the pipeline's counters, slots and tokens must stay right in every case.
import { expect } from 'chai';
import { OperationTimeoutError } from '../../src/errors.js';
import { OptionRangeError, OptionTypeError } from '../../src/optionErrors.js';
import type { Clock } from '../../src/internal/clock.js';
import { Policy } from '../../src/pipeline/Policy.js';
import type { ExecutionContext } from '../../src/pipeline/ExecutionContext.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { InMemoryBulkheadStore } from '../../src/strategies/bulkhead/store.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../src/strategies/circuit-breaker/store.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { InMemoryRateLimiterStore } from '../../src/strategies/rate-limiter/store.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { ManualClock } from '../support/clock.js';
import { flush, settle } from './support.js';

type ErrorClass = typeof TypeError | typeof RangeError;
type Bad = readonly [value: unknown, error: ErrorClass];

const T = TypeError;
const R = RangeError;

const NOT_AN_OBJECT: readonly Bad[] = [
  [null, T],
  [5, T],
  ['x', T],
  [true, T],
  [[], T],
];

function duration(allowInfinity = false): Bad[] {
  const bad: Bad[] = [
    [NaN, R],
    [-1, R],
    [-Infinity, R],
    ['5 sec', T],
    ['', T],
    ['5', T],
    ['-5s', T],
    ['1x', T],
    ['Infinitys', T],
    [null, T],
    [true, T],
    [{}, T],
    [[], T],
    [10n, T],
    [() => 5, T],
  ];
  // A number too large for a double: the string is well formed, its value is not finite.
  if (!allowInfinity) bad.push([Infinity, R], [`${'9'.repeat(400)}s`, R]);
  return bad;
}

function integer(min: number): Bad[] {
  return [
    [min - 1, R],
    [1.5, R],
    [NaN, R],
    [Infinity, R],
    [-Infinity, R],
    ['3', T],
    [null, T],
    [{}, T],
    [5n, T],
  ];
}

const rate: Bad[] = [
  [0, R],
  [-0.5, R],
  [1.5, R],
  [NaN, R],
  [Infinity, R],
  ['0.5', T],
  [null, T],
];
const positive: Bad[] = [
  [0, R],
  [-1, R],
  [NaN, R],
  [Infinity, R],
  ['1', T],
  [null, T],
  [{}, T],
];
const filter: Bad[] = [
  ['Error', T],
  [1, T],
  [{}, T],
  [[1], T],
  [[Error, null], T],
  [null, T],
];
const fn: Bad[] = [
  [1, T],
  ['x', T],
  [{}, T],
  [null, T],
];
const clockBad: Bad[] = [
  [{}, T],
  [{ now: () => 0 }, T],
  [{ now: 1, setTimeout() {}, clearTimeout() {} }, T],
  [Date, T],
  [null, T],
];
const storeBad: Bad[] = [
  [{}, T],
  [{ configure() {} }, T],
  [null, T],
  ['redis', T],
];

interface Subject {
  readonly name: string;
  readonly make: (options: Record<string, unknown>) => unknown;
  /** Valid options that an option under test is added to (some options need a partner). */
  readonly base?: Readonly<Record<string, Record<string, unknown>>>;
  readonly options: Readonly<Record<string, readonly Bad[]>>;
  readonly storeFactory?: () => unknown;
}

const SUBJECTS: readonly Subject[] = [
  {
    name: 'Retry',
    make: (o) => new Retry(o),
    options: {
      maxAttempts: integer(1),
      // A function is a delay function, not a bad duration.
      delay: duration().filter(([value]) => typeof value !== 'function'),
      maxRetryAfter: duration(),
      backoff: [
        [0.5, R],
        [0, R],
        [-1, R],
        [NaN, R],
        [Infinity, R],
        ['2', T],
        [null, T],
      ],
      maxDelay: duration(),
      jitter: [
        [-0.1, R],
        [1.01, R],
        [NaN, R],
        [Infinity, R],
        ['0.1', T],
        ['FULL', T],
        [null, T],
      ],
      backoffType: [
        ['Exponential', T],
        ['', T],
        [1, T],
        [null, T],
      ],
      retryOn: filter,
      retryOnResult: fn,
      random: fn,
      clock: clockBad,
    },
  },
  {
    name: 'CircuitBreaker',
    make: (o) => new CircuitBreaker(o),
    base: {
      slowCallRateThreshold: { slowCallDuration: 100 },
      minimumCalls: { windowSize: 5 },
    },
    options: {
      failureThreshold: integer(1),
      recoveryTimeout: duration(),
      recordOn: filter,
      failureRateThreshold: rate,
      windowSize: integer(1),
      windowType: [
        ['sliding', T],
        ['COUNT', T],
        [1, T],
        [null, T],
      ],
      windowDuration: [...duration(), [0, R]],
      minimumCalls: [...integer(1), [6, R]],
      slowCallDuration: [...duration(), [0, R]],
      slowCallRateThreshold: rate,
      halfOpenMaxCalls: [
        [1.5, R],
        [NaN, R],
        [Infinity, R],
        ['1', T],
        [null, T],
      ],
      clock: clockBad,
      store: storeBad,
    },
    storeFactory: () => new InMemoryCircuitBreakerStore(),
  },
  {
    name: 'RateLimiter',
    make: (o) => new RateLimiter(o),
    options: {
      maxTokens: positive,
      refillRate: positive,
      maxWait: duration(true),
      clock: clockBad,
      store: storeBad,
    },
    storeFactory: () => new InMemoryRateLimiterStore(),
  },
  {
    name: 'Bulkhead',
    make: (o) => new Bulkhead(o),
    options: {
      maxConcurrent: integer(1),
      maxQueue: integer(0),
      maxWait: duration(true),
      clock: clockBad,
      store: [...storeBad, [{ ...storeLike(), subscribe: 5 }, T]],
    },
    storeFactory: () => new InMemoryBulkheadStore(),
  },
  {
    name: 'TimeLimiter',
    make: (o) => new TimeLimiter(o),
    options: {
      timeout: duration(),
      name: [
        [1, T],
        [null, T],
        [{}, T],
      ],
      mode: [
        ['Cooperative', T],
        [true, T],
        [null, T],
      ],
      clock: clockBad,
    },
  },
  {
    name: 'Fallback',
    make: (o) => new Fallback(o as never),
    base: { on: { value: 1 }, method: {} },
    options: { on: filter, method: fn },
  },
];

function storeLike(): Record<string, () => unknown> {
  return {
    configure() {},
    tryAcquire: () => true,
    acquire: () => true,
    release() {},
    inUse: () => 0,
  };
}

/** A clock that counts every use, to prove that a failed construction never touched it. */
function spyClock(): Clock & { uses: number } {
  const clock = {
    uses: 0,
    now() {
      clock.uses++;
      return 0;
    },
    setTimeout() {
      clock.uses++;
      return 0;
    },
    clearTimeout() {
      clock.uses++;
    },
  };
  return clock;
}

function expectOptionError(
  run: () => unknown,
  error: ErrorClass,
  option: string,
  label: string,
): void {
  let thrown: unknown;
  try {
    run();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `${label}: throws`).to.be.instanceOf(error);
  // Every option error is data: the option error of that kind, exactly.
  expect((thrown as Error).constructor, `${label}: exact class`).to.equal(
    error === RangeError ? OptionRangeError : OptionTypeError,
  );
  expect((thrown as Error).message, `${label}: names the option`).to.include(option);
}

function label(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

describe('Hostile options', () => {
  for (const subject of SUBJECTS) {
    describe(`${subject.name} validation`, () => {
      for (const [option, bads] of Object.entries(subject.options)) {
        it(`rejects every bad \`${option}\` with an error that names it`, () => {
          for (const [value, error] of bads) {
            const options = { ...(subject.base?.[option] ?? {}), [option]: value };
            expectOptionError(
              () => subject.make(options),
              error,
              `\`${option}\``,
              `${subject.name} ${option}: ${label(value)}`,
            );
          }
        });
      }

      it('rejects options that are not an object', () => {
        for (const [value] of NOT_AN_OBJECT) {
          expect(() => subject.make(value as never), label(value)).to.throw(TypeError);
        }
      });

      it('rejects unknown keys and prototype keys from JSON.parse, naming them', () => {
        const known = Object.keys(subject.options)[0] as string;
        expectOptionError(
          () => subject.make({ [`${known}x`]: 1, ...(subject.base?.method ?? {}) }),
          T,
          `${known}x`,
          'typo',
        );
        for (const key of ['__proto__', 'constructor', 'prototype']) {
          const parsed = JSON.parse(`{"${key}": {"${known}": 0}}`) as Record<string, unknown>;
          expectOptionError(() => subject.make(parsed), T, `\`${key}\``, key);
        }
      });

      if (subject.name !== 'Fallback') {
        it('leaves a shared clock (and a shared store) untouched when construction fails', () => {
          for (const [option, bads] of Object.entries(subject.options)) {
            if (option === 'clock' || option === 'store') continue;
            const [value] = bads[0] as Bad;
            const clock = spyClock();
            const store = subject.storeFactory?.();
            const options: Record<string, unknown> = {
              ...(subject.base?.[option] ?? {}),
              [option]: value,
              clock,
            };
            if (store !== undefined) options.store = store;
            expect(() => subject.make(options), option).to.throw();
            expect(clock.uses, `${option}: clock uses`).to.equal(0);
            if (store !== undefined) {
              // The store was never configured, so a valid primitive can still take it.
              expect(
                () => subject.make({ clock, store }),
                `${option}: store still free`,
              ).to.not.throw();
            }
          }
        });
      }
    });
  }

  describe('Fallback validation', () => {
    it('takes exactly one of value or method', () => {
      expect(() => new Fallback({} as never)).to.throw(TypeError, /exactly one/);
      expect(() => new Fallback({ value: 1, method: () => 2 } as never)).to.throw(
        TypeError,
        /exactly one/,
      );
      expect(() => new Fallback({ value: undefined })).to.not.throw();
    });
  });
});

describe('PolicyBuilder validation', () => {
  const methods: ReadonlyArray<
    readonly [string, (b: ReturnType<typeof Policy.builder>) => unknown, ErrorClass, string]
  > = [
    ['retry', (b) => b.retry({ maxAttempts: 0 }), R, '`maxAttempts`'],
    ['retry', (b) => b.retry({ maxAttempts: 2, delay: '5 sec' }), T, '`delay`'],
    [
      'circuitBreaker',
      (b) => b.circuitBreaker({ failureRateThreshold: 2 }),
      R,
      '`failureRateThreshold`',
    ],
    ['rateLimiter', (b) => b.rateLimiter({ refillRate: -1 }), R, '`refillRate`'],
    ['bulkhead', (b) => b.bulkhead({ maxQueue: NaN }), R, '`maxQueue`'],
    ['timeout', (b) => b.timeout(NaN), R, '`timeout`'],
    ['timeout', (b) => b.timeout('3 seconds'), T, '`timeout`'],
    ['timeout', (b) => b.timeout(-5), R, '`timeout`'],
    ['timeout', (b) => b.timeout({ timeout: Infinity }), R, '`timeout`'],
    ['fallback', (b) => b.fallback({ method: 'x' } as never), T, '`method`'],
    ['fallback', (b) => b.fallback({ value: 1, on: 5 } as never), T, '`on`'],
    ['clock', (b) => b.clock({} as never), T, '`clock`'],
    ['retry', (b) => b.retry({ maxAttempts: 2 }, 42 as never), T, '`name`'],
    [
      'retry',
      (b) => b.retry(JSON.parse('{"__proto__": {"maxAttempts": 0}}') as never),
      T,
      '`__proto__`',
    ],
  ];

  for (const [method, call, error, option] of methods) {
    it(`${method}: a bad call throws ${error.name} naming ${option} and leaves the builder usable and unchanged`, () => {
      const builder = Policy.builder('b').retry({ maxAttempts: 2 });
      expectOptionError(() => call(builder), error, option, method);
      const policy = builder.bulkhead({ maxConcurrent: 1 }).build();
      expect(policy.stages.map((s) => s.kind)).to.deep.equal(['retry', 'bulkhead']);
    });
  }

  it('use: a bad stage throws TypeError naming `stage` and leaves the builder usable and unchanged', () => {
    // A stage is an argument, not an option: a plain TypeError.
    for (const stage of [{ kind: '', execute: () => Promise.resolve() }, null]) {
      const builder = Policy.builder('b').retry({ maxAttempts: 2 });
      expect(() => builder.use(stage as never))
        .to.throw(TypeError, '`stage`')
        .with.property('constructor', TypeError);
      const policy = builder.bulkhead({ maxConcurrent: 1 }).build();
      expect(policy.stages.map((s) => s.kind)).to.deep.equal(['retry', 'bulkhead']);
    }
  });

  it('rejects a name that is not a string', () => {
    expectOptionError(() => Policy.builder(5 as never), T, '`name`', 'builder name');
  });

  it('rejects every builder method after build() with an Error', () => {
    const builder = Policy.builder();
    builder.build();
    expect(() => builder.retry({})).to.throw(Error, /already built/);
    expect(() => builder.timeout('1s')).to.throw(Error, /already built/);
    expect(() => builder.build()).to.throw(Error, /already built/);
  });
});

describe('PolicyRegistry.fromConfig validation', () => {
  const cases: ReadonlyArray<readonly [string, unknown, ErrorClass, string]> = [
    [
      'a negative option',
      { 'rate-limiter': { x: { 'max-tokens': -1 } } },
      R,
      'resilience.rate-limiter.x.max-tokens',
    ],
    [
      'NaN',
      { bulkhead: { x: { 'max-concurrent': NaN } } },
      R,
      'resilience.bulkhead.x.max-concurrent',
    ],
    [
      'Infinity where a finite time is needed',
      { 'time-limiter': { x: { timeout: Infinity } } },
      R,
      'resilience.time-limiter.x.timeout',
    ],
    [
      'a bad duration string',
      { retry: { default: { delay: '5 sec' } } },
      T,
      'resilience.retry.default.delay',
    ],
    [
      'a wrong type',
      { 'circuit-breaker': { c: { 'failure-threshold': '3' } } },
      T,
      'resilience.circuit-breaker.c.failure-threshold',
    ],
    ['an unknown option', { 'rate-limiter': { x: { 'max-tokns': 1 } } }, T, '`max-tokns`'],
    ['an unknown kind', { 'rate-limitr': {} }, T, '`rate-limitr`'],
    ['a code-only option', { retry: { x: { 'retry-on': [] } } }, T, '`retry-on`'],
    [
      'a __proto__ key',
      JSON.parse('{"bulkhead": {"__proto__": {"max-concurrent": 1}}}'),
      T,
      '__proto__',
    ],
    [
      'a nested __proto__ key',
      JSON.parse('{"retry": {"a": {"__proto__": {"max-attempts": 0}}}}'),
      T,
      'resilience.retry.a.__proto__',
    ],
    ['a constructor key', JSON.parse('{"constructor": {}}'), T, 'constructor'],
    ['a prototype key', JSON.parse('{"policies": {"prototype": []}}'), T, 'prototype'],
    ['a policy that is not a list', { policies: { p: { retry: {} } } }, T, 'resilience.policies.p'],
    [
      'an unknown shared name',
      { policies: { p: [{ 'rate-limiter': 'nope' }] } },
      T,
      'resilience.policies.p[0].rate-limiter',
    ],
    ['a config that is not an object', 5, T, 'resilience'],
  ];

  for (const [what, config, error, path] of cases) {
    it(`rejects ${what} with a ${error.name} naming ${path}`, () => {
      expectOptionError(() => PolicyRegistry.fromConfig(config as never), error, path, what);
    });
  }

  it('leaves a shared clock untouched when the configuration is bad', () => {
    const clock = spyClock();
    expect(() =>
      PolicyRegistry.fromConfig(
        { bulkhead: { a: { 'max-concurrent': 2 }, b: { 'max-concurrent': 0 } } },
        { clock },
      ),
    ).to.throw(RangeError);
    expect(clock.uses).to.equal(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Odd callees through a full pipeline.

class NoRetry extends Error {}

interface Harness {
  readonly clock: ManualClock;
  readonly policy: Policy<unknown, unknown>;
  readonly limiter: RateLimiter;
  readonly bulkhead: Bulkhead;
  readonly breaker: CircuitBreaker;
}

function harness(withFallback: boolean, fallbackMethod?: (error: unknown) => unknown): Harness {
  const clock = new ManualClock(0);
  // Refill so slow that the count of tokens taken is exact for the length of a spec.
  const limiter = new RateLimiter({ maxTokens: 1000, refillRate: 1e-9, clock });
  const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 4, maxWait: 500, clock });
  const breaker = new CircuitBreaker({ failureThreshold: 1000, clock });
  let builder = Policy.builder<unknown>('odd').clock(clock) as ReturnType<typeof Policy.builder>;
  if (withFallback) {
    builder = builder.fallback(
      fallbackMethod === undefined ? { value: 'fallback' } : { method: fallbackMethod },
    ) as never;
  }
  const policy = builder
    .rateLimiter(limiter)
    .bulkhead(bulkhead)
    .retry({ maxAttempts: 2, retryOn: (e) => !(e instanceof NoRetry), clock })
    .circuitBreaker(breaker)
    .timeout({ timeout: 1000, clock })
    .build() as Policy<unknown, unknown>;
  return { clock, policy, limiter, bulkhead, breaker };
}

/** Runs every execution to the end (advancing fake time) and checks the books balance. */
async function settleAll(h: Harness, runs: Array<Promise<unknown>>, expected?: number) {
  const results = runs.map((p) => settle(p));
  // Let callees that answer on their own (not on the fake clock) do so before time moves.
  await flush();
  await flush();
  for (let i = 0; i < 20 && results.some((r) => r.status === 'pending'); i++) {
    await h.clock.advance(1000);
  }
  await flush();
  for (const r of results) expect(r.status, 'every caller hears back').to.not.equal('pending');
  const m = h.policy.metrics();
  const executions = expected ?? m.calls;
  expect(m.calls, 'calls').to.equal(executions);
  expect(m.successes + m.failures, 'successes + failures').to.equal(m.calls);
  if (expected !== undefined) {
    const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
    expect(m.successes, 'successes').to.equal(fulfilled);
  }
  // A slot follows its work: a callee that never settles keeps its slot, as orphaned.
  expect(h.bulkhead.availableSlots + h.bulkhead.orphaned, 'bulkhead slots').to.equal(2);
  expect(h.bulkhead.queued, 'bulkhead queue').to.equal(0);
  // The limiter is outermost: one token per execution, whatever happened inside.
  expect(h.limiter.availableTokens, 'tokens').to.be.closeTo(1000 - executions, 1e-3);
  const bulkheadState = m.stages.find((s) => s.kind === 'bulkhead');
  expect(bulkheadState).to.include({
    availableSlots: h.bulkhead.availableSlots,
    orphaned: h.bulkhead.orphaned,
  });
  return results;
}

const failure = new Error('boom');

const CALLEES: ReadonlyArray<
  readonly [string, (ctx: ExecutionContext) => unknown, 'value' | 'error', unknown]
> = [
  [
    'throws synchronously',
    () => {
      throw failure;
    },
    'error',
    failure,
  ],
  [
    'throws a string',
    () => {
      throw 'a string';
    },
    'error',
    'a string',
  ],
  [
    'throws undefined',
    () => {
      throw undefined;
    },
    'error',
    undefined,
  ],
  [
    'throws null',
    () => {
      throw null;
    },
    'error',
    null,
  ],
  [
    'returns a thenable that rejects',
    () => ({ then: (_: unknown, reject: (e: unknown) => void) => reject(failure) }),
    'error',
    failure,
  ],
  [
    'returns a thenable whose then throws',
    () => ({
      then() {
        throw failure;
      },
    }),
    'error',
    failure,
  ],
  [
    'returns a thenable that resolves, then rejects, then resolves again',
    () => ({
      then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
        resolve('first');
        reject(failure);
        resolve('second');
      },
    }),
    'value',
    'first',
  ],
  [
    'returns a thenable that resolves later',
    () => ({
      then(resolve: (v: unknown) => void) {
        setImmediate(() => resolve('later'));
      },
    }),
    'value',
    'later',
  ],
  ['returns a plain value', () => 42, 'value', 42],
  ['returns a rejected promise of a non-Error', () => Promise.reject(7), 'error', 7],
];

describe('Odd callees through a full policy', () => {
  for (const [what, callee, kind, expected] of CALLEES) {
    it(`${what}: the caller gets ${kind === 'value' ? 'the value' : 'that very error'} and every counter, slot and token adds up`, async () => {
      const h = harness(false);
      const runs = [h.policy.execute(callee), h.policy.execute(callee), h.policy.execute(callee)];
      const results = await settleAll(h, runs, 3);
      for (const r of results) {
        if (kind === 'value') expect(r.value).to.equal(expected);
        else expect(r.reason).to.equal(expected);
      }
      const m = h.policy.metrics();
      // Each failing execution is retried once.
      expect(m.retries).to.equal(kind === 'error' ? 3 : 0);
    });
  }

  it('a callee that never settles times out, and with a fallback every caller gets the fallback', async () => {
    const h = harness(true);
    const never = () => new Promise(() => {});
    const runs = Array.from({ length: 5 }, () => h.policy.execute(never));
    const results = await settleAll(h, runs, 5);
    for (const r of results) expect(r.value).to.equal('fallback');
    const m = h.policy.metrics();
    // Two run at once, and the rest wait at most 500 ms in the queue: some time out twice, the
    // others are turned away by the bulkhead; all of them end up with the fallback.
    expect(m.fallbacks).to.equal(5);
    expect(m.timeouts + m.rejections.bulkhead).to.be.greaterThan(0);
  });

  it('a callee that never settles, without a fallback, rejects with OperationTimeoutError', async () => {
    const h = harness(false);
    const results = await settleAll(h, [h.policy.execute(() => new Promise(() => {}))], 1);
    expect(results[0]?.reason).to.be.instanceOf(OperationTimeoutError);
    expect(h.policy.metrics().timeouts).to.equal(2);
  });

  it('a callee that re-enters the same policy recursively ends, and gives back every slot', async () => {
    const h = harness(true);
    let executions = 0;
    const counted = (depth: number): unknown => {
      executions++;
      return depth === 0 ? 'leaf' : h.policy.execute(() => counted(depth - 1));
    };
    const runs = [h.policy.execute(() => counted(4)), h.policy.execute(() => counted(2))];
    const results = await settleAll(h, runs);
    for (const r of results) expect(['leaf', 'fallback']).to.include(r.value);
    // Nested calls wait for slots their own callers hold: they are turned away after maxWait
    // (and get the fallback) instead of waiting forever.
    expect(executions).to.equal(2);
    expect(h.policy.metrics().calls).to.equal(4);
    expect(h.policy.metrics().rejections.bulkhead).to.equal(2);
  });

  it('listeners that throw never break a call, and the books still balance', async () => {
    const h = harness(true);
    for (const event of [
      'success',
      'failure',
      'retry',
      'rejected',
      'timeout',
      'fallback',
      'circuit-state',
    ] as const) {
      h.policy.on(event, () => {
        throw new Error(`listener for ${event}`);
      });
    }
    h.breaker.onStateChange(() => {
      throw new Error('state listener');
    });
    const runs = [
      h.policy.execute(() => 'ok'),
      h.policy.execute(() => {
        throw failure;
      }),
      h.policy.execute(() => new Promise(() => {})),
    ];
    const results = await settleAll(h, runs, 3);
    expect(results.map((r) => r.value)).to.deep.equal(['ok', 'fallback', 'fallback']);
  });

  it('a fallback method that throws passes its error to the caller and the books still balance', async () => {
    const thrown = new Error('fallback broke');
    const h = harness(true, () => {
      throw thrown;
    });
    const results = await settleAll(
      h,
      [
        h.policy.execute(() => {
          throw new NoRetry();
        }),
      ],
      1,
    );
    expect(results[0]?.reason).to.equal(thrown);
    expect(h.policy.metrics().failures).to.equal(1);
  });

  it('a fallback method that returns a rejected thenable passes that error on', async () => {
    const h = harness(true, () => ({
      then: (_: unknown, reject: (e: unknown) => void) => reject('nope'),
    }));
    const results = await settleAll(h, [h.policy.execute(() => Promise.reject(new NoRetry()))], 1);
    expect(results[0]?.reason).to.equal('nope');
  });

  it('error filters that throw do not leave a call hanging', async () => {
    const clock = new ManualClock(0);
    const bulkhead = new Bulkhead({ maxConcurrent: 1, clock });
    const policy = Policy.builder('filters')
      .clock(clock)
      .fallback({
        value: 'fallback',
        on: () => {
          throw new Error('on broke');
        },
      })
      .bulkhead(bulkhead)
      .retry({
        maxAttempts: 3,
        retryOn: () => {
          throw new Error('retryOn broke');
        },
        clock,
      })
      .circuitBreaker({
        recordOn: () => {
          throw new Error('recordOn broke');
        },
        clock,
      })
      .build();
    const result = settle(policy.execute(() => Promise.reject(failure)));
    await flush();
    expect(result.status).to.equal('rejected');
    expect(bulkhead.availableSlots).to.equal(1);
    const m = policy.metrics();
    expect(m.successes + m.failures).to.equal(m.calls);
  });
});
