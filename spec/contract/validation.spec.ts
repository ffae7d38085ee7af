// The validation rules of docs/CONTRACT.md (R-VAL-*): options are checked at construction, never
// during execute, with a TypeError (wrong type, unknown option) or a RangeError (out of range) that
// names the option and the value received, and carries them as data (OptionTypeError,
// OptionRangeError). Every option of every primitive, given directly and
// through the builder method of its kind.
import { expect } from 'chai';
import {
  Bulkhead,
  Chaos,
  CircuitBreaker,
  Fallback,
  isOptionError,
  isOptionRangeError,
  isOptionTypeError,
  OptionRangeError,
  OptionTypeError,
  Policy,
  PolicyRegistry,
  RateLimiter,
  Retry,
  TimeLimiter,
} from 'bulwark';
import { otherCopy, thrownBy } from './support.js';

type Make = (options: Record<string, unknown>) => unknown;

interface Kind {
  readonly name: string;
  readonly direct: Make;
  readonly builder: Make;
}

const KINDS: Record<string, Kind> = {
  Retry: {
    name: 'Retry',
    direct: (o) => new Retry(o as never),
    builder: (o) => Policy.builder().retry(o as never),
  },
  CircuitBreaker: {
    name: 'CircuitBreaker',
    direct: (o) => new CircuitBreaker(o as never),
    builder: (o) => Policy.builder().circuitBreaker(o as never),
  },
  RateLimiter: {
    name: 'RateLimiter',
    direct: (o) => new RateLimiter(o as never),
    builder: (o) => Policy.builder().rateLimiter(o as never),
  },
  Bulkhead: {
    name: 'Bulkhead',
    direct: (o) => new Bulkhead(o as never),
    builder: (o) => Policy.builder().bulkhead(o as never),
  },
  TimeLimiter: {
    name: 'TimeLimiter',
    direct: (o) => new TimeLimiter(o as never),
    builder: (o) => Policy.builder().timeout(o as never),
  },
  Fallback: {
    name: 'Fallback',
    direct: (o) => new Fallback({ value: 0, ...o } as never),
    builder: (o) => Policy.builder().fallback({ value: 0, ...o } as never),
  },
};

type Case = readonly [
  kind: keyof typeof KINDS,
  option: string,
  value: unknown,
  error: typeof TypeError | typeof RangeError,
  message: string,
];

const DURATION_TYPE = 'must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "5"';
const notClock = 'must be a Clock with now(), setTimeout() and clearTimeout(), got an object';

/** Each option with a value out of range (RangeError) and one of the wrong type (TypeError). */
const CASES: readonly Case[] = [
  ['Retry', 'maxAttempts', 0, RangeError, '`maxAttempts` must be an integer >= 1, got 0'],
  ['Retry', 'maxAttempts', 1.5, RangeError, '`maxAttempts` must be an integer >= 1, got 1.5'],
  ['Retry', 'maxAttempts', '3', TypeError, '`maxAttempts` must be an integer >= 1, got "3"'],
  ['Retry', 'delay', -1, RangeError, '`delay` must be a duration >= 0, got -1'],
  ['Retry', 'delay', '5', TypeError, `\`delay\` ${DURATION_TYPE}`],
  ['Retry', 'backoff', 0.5, RangeError, '`backoff` must be a number >= 1, got 0.5'],
  ['Retry', 'backoff', '2', TypeError, '`backoff` must be a number >= 1, got "2"'],
  ['Retry', 'maxDelay', -5, RangeError, '`maxDelay` must be a duration >= 0, got -5'],
  ['Retry', 'maxDelay', '5', TypeError, `\`maxDelay\` ${DURATION_TYPE}`],
  ['Retry', 'jitter', 1.5, RangeError, '`jitter` must be a number in [0, 1], got 1.5'],
  ['Retry', 'jitter', -0.1, RangeError, '`jitter` must be a number in [0, 1], got -0.1'],
  [
    'Retry',
    'jitter',
    '0.2',
    TypeError,
    "`jitter` must be a number in [0, 1], 'full' or 'decorrelated', got \"0.2\"",
  ],
  [
    'Retry',
    'retryOn',
    'Error',
    TypeError,
    '`retryOn` must be an array of error classes or a predicate, got "Error"',
  ],
  ['Retry', 'retryOnResult', true, TypeError, '`retryOnResult` must be a function, got true'],
  ['Retry', 'random', 0.5, TypeError, '`random` must be a function, got 0.5'],
  ['Retry', 'clock', {}, TypeError, `\`clock\` ${notClock}`],
  [
    'CircuitBreaker',
    'failureThreshold',
    0,
    RangeError,
    '`failureThreshold` must be an integer >= 1, got 0',
  ],
  [
    'CircuitBreaker',
    'failureThreshold',
    '5',
    TypeError,
    '`failureThreshold` must be an integer >= 1, got "5"',
  ],
  [
    'CircuitBreaker',
    'recoveryTimeout',
    -1,
    RangeError,
    '`recoveryTimeout` must be a duration >= 0, got -1',
  ],
  ['CircuitBreaker', 'recoveryTimeout', '5', TypeError, `\`recoveryTimeout\` ${DURATION_TYPE}`],
  [
    'CircuitBreaker',
    'recordOn',
    42,
    TypeError,
    '`recordOn` must be an array of error classes or a predicate, got 42',
  ],
  [
    'CircuitBreaker',
    'failureRateThreshold',
    0,
    RangeError,
    '`failureRateThreshold` must be a number in (0, 1], got 0',
  ],
  [
    'CircuitBreaker',
    'failureRateThreshold',
    1.5,
    RangeError,
    '`failureRateThreshold` must be a number in (0, 1], got 1.5',
  ],
  [
    'CircuitBreaker',
    'failureRateThreshold',
    '0.5',
    TypeError,
    '`failureRateThreshold` must be a number in (0, 1], got "0.5"',
  ],
  ['CircuitBreaker', 'windowSize', 0, RangeError, '`windowSize` must be an integer >= 1, got 0'],
  [
    'CircuitBreaker',
    'windowSize',
    '10',
    TypeError,
    '`windowSize` must be an integer >= 1, got "10"',
  ],
  [
    'CircuitBreaker',
    'windowType',
    'sliding',
    TypeError,
    "`windowType` must be one of 'count', 'time', got \"sliding\"",
  ],
  [
    'CircuitBreaker',
    'windowDuration',
    0,
    RangeError,
    '`windowDuration` must be a duration > 0, got 0',
  ],
  [
    'CircuitBreaker',
    'windowDuration',
    -1,
    RangeError,
    '`windowDuration` must be a duration > 0, got -1',
  ],
  ['CircuitBreaker', 'windowDuration', '5', TypeError, `\`windowDuration\` ${DURATION_TYPE}`],
  [
    'CircuitBreaker',
    'minimumCalls',
    0,
    RangeError,
    '`minimumCalls` must be an integer >= 1, got 0',
  ],
  [
    'CircuitBreaker',
    'minimumCalls',
    '5',
    TypeError,
    '`minimumCalls` must be an integer >= 1, got "5"',
  ],
  [
    'CircuitBreaker',
    'slowCallDuration',
    0,
    RangeError,
    '`slowCallDuration` must be a duration > 0, got 0',
  ],
  ['CircuitBreaker', 'slowCallDuration', '5', TypeError, `\`slowCallDuration\` ${DURATION_TYPE}`],
  [
    'CircuitBreaker',
    'halfOpenMaxCalls',
    1.5,
    RangeError,
    '`halfOpenMaxCalls` must be an integer, got 1.5',
  ],
  [
    'CircuitBreaker',
    'halfOpenMaxCalls',
    '2',
    TypeError,
    '`halfOpenMaxCalls` must be an integer, got "2"',
  ],
  ['CircuitBreaker', 'clock', {}, TypeError, `\`clock\` ${notClock}`],
  ['RateLimiter', 'maxTokens', 0, RangeError, '`maxTokens` must be a number >= 1, got 0'],
  ['RateLimiter', 'maxTokens', '10', TypeError, '`maxTokens` must be a number >= 1, got "10"'],
  ['RateLimiter', 'refillRate', -1, RangeError, '`refillRate` must be a number > 0, got -1'],
  ['RateLimiter', 'refillRate', '10', TypeError, '`refillRate` must be a number > 0, got "10"'],
  ['RateLimiter', 'maxWait', -1, RangeError, '`maxWait` must be a duration >= 0, got -1'],
  ['RateLimiter', 'maxWait', '5', TypeError, `\`maxWait\` ${DURATION_TYPE}`],
  ['RateLimiter', 'clock', {}, TypeError, `\`clock\` ${notClock}`],
  ['Bulkhead', 'maxConcurrent', 0, RangeError, '`maxConcurrent` must be an integer >= 1, got 0'],
  [
    'Bulkhead',
    'maxConcurrent',
    '10',
    TypeError,
    '`maxConcurrent` must be an integer >= 1, got "10"',
  ],
  ['Bulkhead', 'maxQueue', -1, RangeError, '`maxQueue` must be an integer >= 0, got -1'],
  ['Bulkhead', 'maxQueue', '1', TypeError, '`maxQueue` must be an integer >= 0, got "1"'],
  ['Bulkhead', 'maxWait', -1, RangeError, '`maxWait` must be a duration >= 0, got -1'],
  ['Bulkhead', 'maxWait', '5', TypeError, `\`maxWait\` ${DURATION_TYPE}`],
  ['Bulkhead', 'clock', {}, TypeError, `\`clock\` ${notClock}`],
  ['TimeLimiter', 'timeout', -1, RangeError, '`timeout` must be a duration > 0, got -1'],
  ['TimeLimiter', 'timeout', 0, RangeError, '`timeout` must be a duration > 0, got 0'],
  ['TimeLimiter', 'timeout', '5', TypeError, `\`timeout\` ${DURATION_TYPE}`],
  ['TimeLimiter', 'name', 5, TypeError, '`name` must be a string, got 5'],
  ['TimeLimiter', 'clock', {}, TypeError, `\`clock\` ${notClock}`],
  [
    'Fallback',
    'on',
    'all',
    TypeError,
    '`on` must be an array of error classes or a predicate, got "all"',
  ],
];

/** Numbers that are never valid where a finite number or an integer is wanted. */
const NUMERIC: ReadonlyArray<readonly [keyof typeof KINDS, string]> = [
  ['Retry', 'maxAttempts'],
  ['Retry', 'backoff'],
  ['Retry', 'jitter'],
  ['CircuitBreaker', 'failureThreshold'],
  ['CircuitBreaker', 'failureRateThreshold'],
  ['CircuitBreaker', 'windowSize'],
  ['CircuitBreaker', 'minimumCalls'],
  ['CircuitBreaker', 'halfOpenMaxCalls'],
  ['RateLimiter', 'maxTokens'],
  ['RateLimiter', 'refillRate'],
  ['Bulkhead', 'maxConcurrent'],
  ['Bulkhead', 'maxQueue'],
];

/** R-VAL-6: `error` is the option error of `Class`'s kind, with its fields. */
function expectOptionError(
  error: Error,
  Class: typeof TypeError | typeof RangeError,
  option: string,
  received: unknown,
): void {
  const Option = Class === RangeError ? OptionRangeError : OptionTypeError;
  expect(error).to.be.instanceOf(Option);
  expect(isOptionError(error)).to.equal(true);
  expect(error.name).to.equal(Class === RangeError ? 'RangeError' : 'TypeError');
  const fields = error as OptionTypeError;
  expect(fields.option).to.equal(option);
  expect(Object.is(fields.received, received), String(fields.received)).to.equal(true);
  expect(fields.expected).to.be.a('string').and.not.equal('');
}

describe('contract: option validation', () => {
  for (const [kindName, option, value, Class, message] of CASES) {
    const kind = KINDS[kindName] as Kind;
    it(`R-VAL-2: ${Class.name}: ${message} (new ${kind.name} and the builder)`, () => {
      for (const make of [kind.direct, kind.builder]) {
        const error = thrownBy(() => make({ [option]: value }));
        expect(error).to.be.instanceOf(Class);
        expect(error.message).to.equal(message);
        expectOptionError(error, Class, option, value);
        expect(message).to.include(` must be ${(error as OptionTypeError).expected}, got `);
      }
    });
  }

  for (const [kindName, option] of NUMERIC) {
    it(`R-VAL-2, R-DUR-4: RangeError for \`${option}\` of ${kindName} given NaN or Infinity, naming the value`, () => {
      const kind = KINDS[kindName] as Kind;
      for (const value of [NaN, Infinity, -Infinity]) {
        const error = thrownBy(() => kind.direct({ [option]: value }));
        expect(error).to.be.instanceOf(RangeError);
        expect(error.message).to.match(new RegExp(`^\`${option}\` must be .*, got ${value}$`));
        expectOptionError(error, RangeError, option, value);
      }
    });
  }

  it('R-VAL-2: an async function given as a predicate is a TypeError naming the option: its promise would read as true', () => {
    const isRetryable = async (): Promise<boolean> => false;
    const cases: Array<[string, () => unknown]> = [
      ['retryOn', () => new Retry({ retryOn: isRetryable as never })],
      ['recordOnResult', () => new CircuitBreaker({ recordOnResult: isRetryable as never })],
      ['on', () => new Fallback({ value: 1, on: isRetryable as never })],
    ];
    for (const [option, make] of cases) {
      expectOptionError(thrownBy(make), TypeError, option, isRetryable);
      expect(make).to.throw(
        `\`${option}\` must return a boolean synchronously; an async function returns a promise`,
      );
    }
  });

  it('R-VAL-2: an async chaos `enabled`, keyed-stage `key` or retry `delay` function is a TypeError naming the option', () => {
    const later = async (): Promise<string> => 'a';
    const cases: Array<[string, string, () => unknown]> = [
      ['enabled', 'a boolean', () => new Chaos({ fault: { rate: 1 }, enabled: later as never })],
      [
        'key',
        'a string',
        () => Policy.builder().bulkhead({ maxConcurrent: 1, key: later as never }),
      ],
      ['delay', 'a duration', () => new Retry({ delay: later as never })],
    ];
    for (const [option, returns, make] of cases) {
      expectOptionError(thrownBy(make), TypeError, option, later);
      expect(make).to.throw(
        `\`${option}\` must return ${returns} synchronously; an async function returns a promise`,
      );
    }
  });

  it("R-VAL-2: a plain function answering a promise fails the call with a TypeError naming the option; the promise's rejection is handled", async () => {
    const unhandled: unknown[] = [];
    const installed = process.listeners('unhandledRejection');
    const collect = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', collect);
    try {
      const down = (): Promise<never> => Promise.reject(new Error('dependency down'));
      const failing = (): Promise<never> => Promise.reject(new Error('work failed'));
      const cases: Array<[string, string, () => Promise<unknown>]> = [
        [
          'key',
          'a string',
          () =>
            Policy.builder()
              .bulkhead({ maxConcurrent: 1, key: down as never })
              .build()
              .execute(() => 1),
        ],
        [
          'delay',
          'a duration',
          () => new Retry({ maxAttempts: 2, delay: down as never }).execute(failing),
        ],
        [
          'fault.error',
          'what to throw',
          () => new Chaos({ fault: { rate: 1, error: down as never } }).execute(() => 1),
        ],
        [
          'enabled',
          'a boolean',
          () => new Chaos({ fault: { rate: 1 }, enabled: down as never }).execute(() => 1),
        ],
        [
          'recordOn',
          'a boolean',
          () => new CircuitBreaker({ recordOn: down as never }).execute(failing),
        ],
        [
          'on',
          'a boolean',
          () =>
            Policy.builder()
              .fallback({ value: 0, on: down as never })
              .build()
              .execute(failing),
        ],
      ];
      for (const [option, returns, run] of cases) {
        const error = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isOptionTypeError(error), option).to.equal(true);
        expect(error).to.include({
          option,
          message: `\`${option}\` must return ${returns} synchronously, got a promise`,
        });
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', collect);
      for (const listener of installed) process.on('unhandledRejection', listener);
    }
  });

  it('R-VAL-2: TypeError for an unknown option, naming it (and the near option when it looks like a typo)', () => {
    const typos: Array<[Kind, string, string]> = [
      [KINDS.Retry as Kind, 'maxAttempt', 'maxAttempts'],
      [KINDS.CircuitBreaker as Kind, 'failureTreshold', 'failureThreshold'],
      [KINDS.RateLimiter as Kind, 'maxToken', 'maxTokens'],
      [KINDS.Bulkhead as Kind, 'maxConcurent', 'maxConcurrent'],
      [KINDS.TimeLimiter as Kind, 'timout', 'timeout'],
    ];
    for (const [kind, typo, meant] of typos) {
      for (const make of [kind.direct, kind.builder]) {
        expect(() => make({ [typo]: 1 })).to.throw(
          TypeError,
          `${kind.name}: unknown option \`${typo}\` (did you mean \`${meant}\`?)`,
        );
      }
      expect(() => kind.direct({ colour: 'red' })).to.throw(
        TypeError,
        `${kind.name}: unknown option \`colour\``,
      );
      expectOptionError(
        thrownBy(() => kind.direct({ colour: 'red' })),
        TypeError,
        'colour',
        'red',
      );
    }
    expect(() => new Fallback({ value: 1, colour: 'red' } as never)).to.throw(
      TypeError,
      'Fallback: unknown option `colour`',
    );
  });

  it('R-VAL-2: TypeError when the options are not an object', () => {
    for (const kind of Object.values(KINDS)) {
      if (kind.name === 'Fallback') continue;
      for (const bad of [null, 5, 'x', []]) {
        expect(() => (kind.direct as (o: unknown) => unknown)(bad), kind.name).to.throw(
          TypeError,
          `${kind.name} options must be an object`,
        );
        const error = thrownBy(() => (kind.direct as (o: unknown) => unknown)(bad));
        expectOptionError(error, TypeError, 'options', bad);
      }
    }
  });

  it('R-VAL-4: the `clock` option must be a Clock for every primitive that takes one', () => {
    const fake = { now: () => 0, setTimeout: () => 0 };
    for (const kind of ['Retry', 'CircuitBreaker', 'RateLimiter', 'Bulkhead', 'TimeLimiter']) {
      expect(() => (KINDS[kind] as Kind).direct({ clock: fake })).to.throw(TypeError, '`clock`');
    }
  });

  it('R-VAL-1: Validation happens at construction, never during execute', async () => {
    // A valid primitive never throws an option error later, whatever it is asked to run.
    const retry = new Retry({ maxAttempts: 2 });
    expect(await retry.execute(() => 'ok')).to.equal('ok');
    expect(() => new Retry({ maxAttempts: 0 })).to.throw(RangeError);
    expect(() => Policy.builder().retry({ maxAttempts: 0 })).to.throw(RangeError);
  });

  it('R-VAL-3: CircuitBreaker options that only make sense together are checked together', () => {
    expect(() => new CircuitBreaker({ windowSize: 5, minimumCalls: 6 })).to.throw(
      RangeError,
      '`minimumCalls` must be an integer <= `windowSize` (5) for a count window, got 6',
    );
    expectOptionError(
      thrownBy(() => new CircuitBreaker({ windowSize: 5, minimumCalls: 6 })),
      RangeError,
      'minimumCalls',
      6,
    );
    expect(() => new CircuitBreaker({ slowCallRateThreshold: 0.5 }))
      .to.throw(TypeError)
      .with.property(
        'message',
        '`slowCallRateThreshold` needs `slowCallDuration`, which says what a slow call is, got 0.5',
      );
    expectOptionError(
      thrownBy(() => new CircuitBreaker({ slowCallRateThreshold: 0.5 })),
      TypeError,
      'slowCallRateThreshold',
      0.5,
    );
  });

  it('R-VAL-2: the builder’s own arguments are validated the same way (name, clock, stage)', () => {
    for (const [name, shown] of [
      [5, '5'],
      ['', '""'],
      [null, 'null'],
    ] as const) {
      const error = thrownBy(() => Policy.builder(name as never));
      expectOptionError(error, TypeError, 'name', name);
      expect(error.message).to.equal(`\`name\` must be a non-empty string, got ${shown}`);
    }
    expect(() => Policy.builder().retry({}, 7 as never)).to.throw(
      TypeError,
      '`name` must be a string, got 7',
    );
    expect(() => Policy.builder().clock({} as never)).to.throw(TypeError, `\`clock\` ${notClock}`);
    expect(() => Policy.builder().use({ kind: '', execute: () => 1 } as never)).to.throw(
      TypeError,
      '`stage`',
    );
    expect(() => Policy.builder().timeout(-1)).to.throw(
      RangeError,
      '`timeout` must be a duration > 0, got -1',
    );
    expect(() => Policy.builder().timeout(0)).to.throw(
      RangeError,
      '`timeout` must be a duration > 0, got 0',
    );
  });

  it('R-VAL-2: PolicyRegistry options are validated the same way', () => {
    expect(() => new PolicyRegistry({ clok: 1 } as never)).to.throw(
      TypeError,
      'PolicyRegistry: unknown option `clok` (did you mean `clock`?)',
    );
    expect(() => PolicyRegistry.fromConfig({}, { clock: 5 as never })).to.throw(
      TypeError,
      '`clock` must be a Clock',
    );
  });

  it('R-VAL-6: a `store` of the wrong shape is an OptionTypeError naming the store interface', () => {
    const stores: Array<[Make, string]> = [
      [(o) => new CircuitBreaker(o), 'CircuitBreakerStore'],
      [(o) => new RateLimiter(o), 'RateLimiterStore'],
      [(o) => new Bulkhead(o), 'BulkheadStore'],
    ];
    for (const [make, type] of stores) {
      for (const bad of [null, 5, { acquire: 1 }]) {
        const error = thrownBy(() => make({ store: bad }));
        expectOptionError(error, TypeError, 'store', bad);
        expect(error.message).to.match(new RegExp(`^\`store\` must be a ${type} with \\w+\\(\\)`));
      }
    }
  });

  it('R-VAL-6: the builder’s own arguments and the registry’s options throw option errors too', () => {
    expectOptionError(
      thrownBy(() => Policy.builder(5 as never)),
      TypeError,
      'name',
      5,
    );
    const clock = { now: 1 };
    expectOptionError(
      thrownBy(() => Policy.builder().clock(clock as never)),
      TypeError,
      'clock',
      clock,
    );
    expectOptionError(
      thrownBy(() => PolicyRegistry.fromConfig({}, { clock: clock as never })),
      TypeError,
      'clock',
      clock,
    );
    expectOptionError(
      thrownBy(() => new PolicyRegistry({ clok: 1 } as never)),
      TypeError,
      'clok',
      1,
    );
  });

  it('R-VAL-6: a value from a configuration names its full path as `option`, with the primitive’s error as `cause`', () => {
    // config, class, path, received, expected, the option as the primitive named it, the message
    // after the path (the primitive's, naming the options as the configuration spells them)
    const cases: Array<
      [Record<string, unknown>, typeof TypeError, string, unknown, string, string, string]
    > = [
      [
        { retry: { default: { 'max-attempts': 0 } } },
        RangeError,
        'resilience.retry.default.max-attempts',
        0,
        'an integer >= 1',
        'maxAttempts',
        '`max-attempts` must be an integer >= 1, got 0',
      ],
      [
        { 'rate-limiter': { api: { refillRate: 'fast' } } },
        TypeError,
        'resilience.rate-limiter.api.refillRate',
        'fast',
        'a number > 0',
        'refillRate',
        '`refillRate` must be a number > 0, got "fast"',
      ],
      [
        { 'circuit-breaker': { db: { 'window-size': 5, 'minimum-calls': 6 } } },
        RangeError,
        'resilience.circuit-breaker.db.minimum-calls',
        6,
        'an integer <= `windowSize` (5) for a count window',
        'minimumCalls',
        '`minimum-calls` must be an integer <= `window-size` (5) for a count window, got 6',
      ],
      [
        { bulkhead: { default: { 'max-wait': '1 minute' } } },
        TypeError,
        'resilience.bulkhead.default.max-wait',
        '1 minute',
        'a duration such as 250ms, 5s, 1m30s, 2h or 1d',
        'maxWait',
        '`max-wait` must be a duration such as 250ms, 5s, 1m30s, 2h or 1d, got "1 minute"',
      ],
      // A stage's own time limiter given as a bare duration: the stage's path.
      [
        { policies: { p: [{ 'time-limiter': 0 }] } },
        RangeError,
        'resilience.policies.p[0].time-limiter',
        0,
        'a duration > 0',
        'timeout',
        '`timeout` must be a duration > 0, got 0',
      ],
    ];
    for (const [config, Class, path, received, expected, named, message] of cases) {
      const error = thrownBy(() => PolicyRegistry.fromConfig(config)) as OptionTypeError;
      expectOptionError(error, Class, path, received);
      expect(error.expected).to.equal(expected);
      const cause = error.cause as OptionTypeError;
      expectOptionError(cause, Class, named, received);
      expect(cause.expected).to.equal(expected);
      expect(error.message).to.equal(`${path}: ${message}`);
    }
  });

  it('R-VAL-6: the guards recognise option errors from another copy of the package, and nothing else', () => {
    const foreign = thrownBy(() => new otherCopy.Retry({ maxAttempts: 0 }));
    expect(foreign).to.not.be.instanceOf(OptionRangeError);
    expect(foreign).to.be.instanceOf(RangeError);
    const guards = { isOptionError, isOptionTypeError, isOptionRangeError };
    const otherGuards = {
      isOptionError: otherCopy.isOptionError,
      isOptionTypeError: otherCopy.isOptionTypeError,
      isOptionRangeError: otherCopy.isOptionRangeError,
    };
    const samples: Array<[unknown, boolean, boolean]> = [
      [foreign, false, true],
      [thrownBy(() => new otherCopy.Bulkhead({ maxConcurent: 1 } as never)), true, false],
      [new OptionTypeError('x', 'a string', 1), true, false],
      [new OptionRangeError('x', 'a number > 0', 0), false, true],
    ];
    for (const [error, type, range] of samples) {
      for (const set of [guards, otherGuards]) {
        expect(set.isOptionError(error)).to.equal(true);
        expect(set.isOptionTypeError(error)).to.equal(type);
        expect(set.isOptionRangeError(error)).to.equal(range);
      }
    }
    // A look-alike with the fields and the name, but no brand, is not one; nor a plain error.
    const lookAlike = Object.assign(new RangeError('`x` must be > 0, got 0'), {
      name: 'OptionRangeError',
      option: 'x',
      expected: '> 0',
      received: 0,
    });
    for (const other of [lookAlike, new TypeError('x'), null, undefined, 'OptionTypeError', {}]) {
      for (const guard of [...Object.values(guards), ...Object.values(otherGuards)]) {
        expect(guard(other)).to.equal(false);
      }
    }
  });

  it('R-VAL-6: made by hand, an option error has the one message shape, and a cause when given', () => {
    const cause = new Error('root');
    const error = new OptionRangeError('maxAttempts', 'an integer >= 1', 0, { cause });
    expect(String(error)).to.equal('RangeError: `maxAttempts` must be an integer >= 1, got 0');
    expect(error.cause).to.equal(cause);
    expect('cause' in new OptionTypeError('a', 'b', 'c')).to.equal(false);
    // Named classes, as loggers read `error.constructor.name`.
    expect([OptionTypeError.name, OptionRangeError.name]).to.deep.equal([
      'OptionTypeError',
      'OptionRangeError',
    ]);
    const custom = new OptionTypeError('a', 'b', 'c', { message: 'custom' });
    expect([custom.message, custom.option, custom.expected, custom.received]).to.deep.equal([
      'custom',
      'a',
      'b',
      'c',
    ]);
  });

  it('R-FB-1: Fallback: neither or both of `value` / `method` throws TypeError', () => {
    expect(() => new Fallback({} as never)).to.throw(TypeError, 'got neither');
    expect(() => new Fallback({ value: 1, method: () => 2 } as never)).to.throw(
      TypeError,
      'got both',
    );
    expect(() => new Fallback({ method: 'x' } as never)).to.throw(
      TypeError,
      '`method` must be a function, got "x"',
    );
    expectOptionError(
      thrownBy(() => new Fallback({ method: 'x' } as never)),
      TypeError,
      'method',
      'x',
    );
    expect(() => Policy.builder().fallback({} as never)).to.throw(TypeError, 'got neither');
  });
});
