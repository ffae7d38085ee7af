// Two copies of the package in one process (in Node, `import` and `require` load one copy; a
// second one is a second version installed beside it, or code bundled with its own copy, played
// here by the ESM build loaded by its path): a primitive of one copy given to the other's builder
// is refused with a message that says so.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import {
  AdaptiveLimit,
  Bulkhead,
  bulkhead,
  circuitBreaker,
  Policy,
  PolicyRegistry,
  usePolicy,
} from 'bulwark';
import { instrument } from 'bulwark/otel';
import { otherCopy as other } from './support.js';

const require = createRequire(import.meta.url);

describe('Package: a primitive from another copy of the package', () => {
  it('is refused by a builder with the reason, not as a kind it is', () => {
    const cases: [string, () => unknown][] = [
      [
        'RateLimiter',
        () =>
          Policy.builder('p').rateLimiter(new other.RateLimiter({ maxTokens: 1, refillRate: 1 })),
      ],
      ['CircuitBreaker', () => Policy.builder('p').circuitBreaker(new other.CircuitBreaker({}))],
      ['Bulkhead', () => Policy.builder('p').bulkhead(new other.Bulkhead({}))],
    ];
    for (const [label, declare] of cases) {
      expect(declare, label).to.throw(
        TypeError,
        `\`options\` must be ${label} options or a ${label}, got a ${label} of another copy of bulwark`,
      );
    }
  });

  it("refuses an AdaptiveLimit of the other copy as a bulkhead's limit, which would learn no call", () => {
    const message =
      '`limit` must be an integer >= 1 or an AdaptiveLimit of this copy of bulwark, got one of another copy';
    expect(() =>
      Policy.builder('p')
        .bulkhead({ limit: new other.AdaptiveLimit({}) })
        .build(),
    ).to.throw(TypeError, message);
    expect(() => new Bulkhead({ limit: new other.AdaptiveLimit({}) })).to.throw(TypeError, message);
    // Its own copy's limit is taken, and learns every call that ends.
    const limit = new AdaptiveLimit({});
    expect(() => Policy.builder('p').bulkhead({ limit }).build()).not.to.throw();
  });

  it('is refused by register, usePolicy, the decorators and instrument with the same reason', () => {
    const policy = other.Policy.builder('other').retry({ maxAttempts: 2 }).build();
    const cases: [string, () => unknown, string][] = [
      ['register', () => new PolicyRegistry().register(policy), '`policy` must be a Policy'],
      ['usePolicy', () => usePolicy(policy), '`policy` must be a Policy'],
      ['instrument', () => instrument(policy), '`target` must be a Policy or a PolicyRegistry'],
      [
        'instrument (a registry)',
        () => instrument(new other.PolicyRegistry()),
        '`target` must be a Policy or a PolicyRegistry',
      ],
      [
        'circuitBreaker',
        () => circuitBreaker(new other.CircuitBreaker({})),
        '`breaker` must be a CircuitBreaker',
      ],
      ['bulkhead', () => bulkhead(new other.Bulkhead({})), '`bulkhead` must be a Bulkhead'],
    ];
    for (const [what, call, mustBe] of cases) {
      const which =
        what === 'instrument (a registry)'
          ? 'PolicyRegistry'
          : what === 'instrument'
            ? 'Policy'
            : (/(\w+)$/.exec(mustBe)?.[1] as string);
      expect(call, what).to.throw(
        TypeError,
        `${mustBe}, got a ${which} of another copy of bulwark`,
      );
    }
  });

  it('is known under any name a bundler or minifier gave its class, and as a subclass', async function () {
    this.timeout(30_000);
    // The CommonJS build bundled again and minified, as an application's bundler would: its
    // classes lose their names.
    const { outputFiles } = await build({
      entryPoints: [require.resolve('bulwark')],
      bundle: true,
      minify: true,
      format: 'cjs',
      platform: 'node',
      write: false,
      logLevel: 'silent',
    });
    const module = { exports: {} as typeof import('bulwark') };
    new Function('module', 'exports', 'require', (outputFiles[0] as { text: string }).text)(
      module,
      module.exports,
      require,
    );
    const minified = module.exports;
    // The build keeps each class's name (`__name`, which a minifier leaves): a bundler that drops
    // it anyway, or a class renamed otherwise, is played by renaming the classes here.
    for (const name of ['CircuitBreaker', 'Retry'] as const) {
      Object.defineProperty(minified[name], 'name', { value: 'e', configurable: true });
    }
    const breaker = new minified.CircuitBreaker({});
    expect(breaker.constructor.name).to.not.match(/CircuitBreaker/);
    class Renamed extends other.Bulkhead {}
    const cases: [string, () => unknown][] = [
      ['CircuitBreaker', () => Policy.builder('p').circuitBreaker(breaker)],
      ['Bulkhead', () => Policy.builder('p').bulkhead(new Renamed({}))],
      ['Retry', () => Policy.builder('p').retry(new minified.Retry({}))],
    ];
    for (const [label, declare] of cases) {
      expect(declare, label).to.throw(
        TypeError,
        `\`options\` must be ${label} options or a ${label}, got a ${label} of another copy of bulwark`,
      );
    }
  });

  it('does not take a class of the same name from elsewhere for another copy', () => {
    // Another library's breaker (opossum's class is named so too), renamed by a bundler.
    const named = (name: string) =>
      ({
        [name]: class {
          execute(): void {}
        },
      })[name] as new () => object;
    for (const name of [
      'CircuitBreaker',
      '_CircuitBreaker',
      'CircuitBreaker2',
      'CircuitBreaker$1',
    ]) {
      const Foreign = named(name);
      expect(() => Policy.builder('p').circuitBreaker(new Foreign() as never), name).to.throw(
        TypeError,
        /^`options` must be CircuitBreaker options or a CircuitBreaker, got an instance of another class named CircuitBreaker$/,
      );
    }
  });

  it('knows a copy of another version, with a member more or fewer, by its name', () => {
    // Another version's Policy: the same class name, one method more (or one fewer).
    const version = (change: (members: PropertyDescriptorMap) => void): object => {
      const members = Object.getOwnPropertyDescriptors(other.Policy.prototype);
      change(members);
      return Object.create(Object.create(Object.prototype, members) as object) as object;
    };
    const more = version((m) => (m.addedInNextMinor = { value: () => {} }));
    const fewer = version((m) => delete m.describe);
    for (const [what, policy] of [
      ['one more', more],
      ['one fewer', fewer],
    ] as const) {
      expect(() => new PolicyRegistry().register(policy as never), what).to.throw(
        TypeError,
        /^`policy` must be a Policy, got a Policy of another copy of bulwark$/,
      );
    }
    // Another library's class of that name, with or without an `execute`, is not taken for one.
    class Policy2 {
      run(): void {}
    }
    const Foreign = { Policy: class extends Policy2 {} }.Policy;
    expect(() => new PolicyRegistry().register(new Foreign() as never)).to.throw(
      TypeError,
      /^`policy` must be a Policy, got an instance of another class named Policy$/,
    );
  });

  it('still names a primitive of another kind as such', () => {
    expect(() => Policy.builder('p').retry(new other.Bulkhead({}) as never)).to.throw(
      TypeError,
      /got an instance of _*Bulkhead$/,
    );
  });
});
