// The package rules of docs/CONTRACT.md (R-PKG-*): entry points, exports, both builds.
import { expect } from 'chai';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as core from 'bulwark';
import type {
  Clock,
  CircuitState as CircuitStateType,
  Duration,
  ErrorFilter,
  ExecutionContext,
  Stage,
} from 'bulwark';
import * as otel from 'bulwark/otel';
import * as redis from 'bulwark/redis';
import { otherCopy, requireCore } from './support.js';

const root = process.cwd();

/**
 * The core's run-time exports for `bulwark/redis`, `bulwark/otel` and `bulwark/fetch` (README.md,
 * "Package surface"): not in the declarations.
 */
const ADAPTER_SUPPORT = [
  'booleanOption',
  'fail',
  'functionOption',
  'integerOption',
  'isPolicyRegistry',
  'kindDescriptors',
  'linkAbort',
  'listenAbort',
  'notRetryable',
  'oneOfOption',
  'optionsObject',
  'positiveDuration',
  'show',
  'showInstead',
  'showShape',
  'stringOption',
  'unlistenAbort',
  'wallNow',
];

/** Every name each entry point exports at run time (R-PKG-7): a new one is added here on purpose. */
const ENTRY_EXPORTS: Record<string, readonly string[]> = {
  bulwark: [
    'AdaptiveLimit',
    'BuiltinStage',
    'Bulkhead',
    'BulkheadFullError',
    'Chaos',
    'CircuitBreaker',
    'CircuitOpenError',
    'CircuitState',
    'Fallback',
    'Hedge',
    'InMemoryBulkheadStore',
    'InMemoryCircuitBreakerStore',
    'InMemoryRateLimiterStore',
    'InMemoryRetryBudgetStore',
    'InjectedFaultError',
    'Keyed',
    'OperationTimeoutError',
    'OptionRangeError',
    'OptionTypeError',
    'Policy',
    'PolicyRegistry',
    'RateLimitExceededError',
    'RateLimiter',
    'RejectedResultError',
    'ResilienceError',
    'Retry',
    'RetryBudget',
    'StoreUnavailableError',
    'TimeLimiter',
    'bulkhead',
    'circuitBreaker',
    'fallback',
    'isBulkheadFullError',
    'isCircuitOpenError',
    'isInjectedFaultError',
    'isOperationTimeoutError',
    'isOptionError',
    'isOptionRangeError',
    'isOptionTypeError',
    'isRateLimitExceededError',
    'isRejectedResultError',
    'isResilienceError',
    'isStoreUnavailableError',
    'parseDuration',
    'rateLimiter',
    'retry',
    'stages',
    'systemClock',
    'timeLimiter',
    'usePolicy',
    ...ADAPTER_SUPPORT,
  ],
  'bulwark/redis': [
    'RedisBulkheadStore',
    'RedisCircuitBreakerStore',
    'RedisRateLimiterStore',
    'RedisRetryBudgetStore',
    'toRedisAdapter',
  ],
  'bulwark/otel': ['instrument'],
  'bulwark/fetch': [
    'HttpStatusError',
    'MAX_RETRY_AFTER_MS',
    'isHttpStatusError',
    'isRetryable',
    'parseRetryAfter',
    'resilientFetch',
  ],
};
/** Where a condition sends: a file, or a nested map of conditions (`import.node`). */
interface Conditions {
  readonly types: string;
  readonly default: string;
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  name: string;
  exports: Record<
    string,
    { import: Conditions & { node: Conditions }; require: Record<string, string> }
  >;
  files: string[];
};

/** Every value docs/CONTRACT.md names for the core entry point (R-PKG-6). */
const CORE_VALUES = [
  'parseDuration',
  'ResilienceError',
  'RateLimitExceededError',
  'BulkheadFullError',
  'OperationTimeoutError',
  'CircuitOpenError',
  'StoreUnavailableError',
  'isResilienceError',
  'isRateLimitExceededError',
  'isBulkheadFullError',
  'isOperationTimeoutError',
  'isCircuitOpenError',
  'isStoreUnavailableError',
  'Retry',
  'CircuitBreaker',
  'CircuitState',
  'RateLimiter',
  'Bulkhead',
  'TimeLimiter',
  'Fallback',
  'Keyed',
  'retry',
  'circuitBreaker',
  'rateLimiter',
  'bulkhead',
  'timeLimiter',
  'fallback',
  'usePolicy',
  'Policy',
  'PolicyRegistry',
  'systemClock',
] as const;

const REDIS_VALUES = [
  'RedisRateLimiterStore',
  'RedisCircuitBreakerStore',
  'RedisBulkheadStore',
] as const;

/** Module specifiers some code imports (`import ... from 'x'`, `import('x')`, `require('x')`). */
function specifiersOf(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/\bfrom\s*["']([^"']+)["']/g)) found.add(m[1] as string);
  for (const m of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g))
    found.add(m[1] as string);
  for (const m of code.matchAll(/\bimport\s*["']([^"']+)["']/g)) found.add(m[1] as string);
  for (const m of code.matchAll(/\brequire\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    found.add(m[1] as string);
  }
  return [...found];
}

const isRelative = (specifier: string) => /^\.\.?\//.test(specifier);

/**
 * The JavaScript a built entry point is made of: the file and every file of the package it
 * imports by a relative path (the ESM build is one module per source file).
 */
function bundle(file: string): string {
  const seen = new Set<string>();
  const visit = (path: string): string => {
    if (seen.has(path)) return '';
    seen.add(path);
    const code = readFileSync(path, 'utf8');
    const parts = specifiersOf(code)
      .filter(isRelative)
      .map((s) => visit(resolve(dirname(path), s)));
    return [code, ...parts].join('\n');
  };
  return visit(resolve(file));
}

/** Modules outside the package that a built entry point imports. */
function importsOf(code: string): string[] {
  return specifiersOf(code).filter((s) => !isRelative(s));
}

/** Every file under `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Minified esbuild bundle of `code` (resolved from the repository), as a browser app gets it. */
async function bundleOf(code: string, sideEffectsFromPackageJson = true): Promise<string> {
  const result = await build({
    stdin: { contents: code, resolveDir: root },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    logLevel: 'silent',
    // Without package.json's `"sideEffects": false`, only the code itself can show that a
    // module does nothing when loaded.
    plugins: sideEffectsFromPackageJson
      ? []
      : [
          {
            name: 'every-module-has-side-effects',
            setup(b) {
              b.onResolve({ filter: /^\./ }, (args) => ({
                path: resolve(args.resolveDir, args.path),
                sideEffects: true,
              }));
            },
          },
        ],
  });
  return (result.outputFiles[0] as { text: string }).text.trim();
}

describe('contract: package and entry points', () => {
  it('R-PKG-1: Package name `bulwark`', () => {
    expect(pkg.name).to.equal('bulwark');
  });

  it('R-PKG-1: Entry points: `bulwark` (core), `bulwark/redis` (distributed stores), `bulwark/otel` (OpenTelemetry metrics)', () => {
    expect(Object.keys(pkg.exports)).to.include.members(['.', './redis', './otel']);
    expect(REDIS_VALUES.every((name) => typeof redis[name] === 'function')).to.equal(true);
    expect(otel.instrument).to.be.a('function');
  });

  it('R-PKG-2: ESM and CJS builds, each with its own type declarations', () => {
    for (const entry of ['.', './redis', './otel']) {
      const map = pkg.exports[entry];
      expect(map, entry).to.not.equal(undefined);
      const { import: esm, require: cjs } = map as (typeof pkg.exports)[string];
      expect(esm.types).to.match(/\.d\.ts$/);
      expect(cjs.types).to.match(/\.d\.cts$/);
      expect(esm.node.types).to.match(/\.d\.mts$/);
      const files = [esm.types, esm.default, esm.node.types, esm.node.default];
      for (const file of [...files, cjs.types, cjs.default]) {
        expect(existsSync(file as string), `${entry}: ${file}`).to.equal(true);
      }
    }
    expect(pkg.files).to.include('dist');
  });

  it('R-PKG-3: `bulwark` (core: zero runtime dependencies, no `node:` imports): the core builds import nothing outside the package', () => {
    const raw = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, unknown>;
    expect(raw.dependencies ?? {}).to.deep.equal({});
    for (const file of [
      pkg.exports['.']?.import.default,
      pkg.exports['.']?.import.node.default,
      pkg.exports['.']?.require.default,
    ]) {
      const imports = importsOf(bundle(file as string));
      expect(imports, file).to.deep.equal([]);
      expect(bundle(file as string)).to.not.match(/["']node:/);
    }
  });

  it('R-PKG-4: the core bundle loads no @opentelemetry/* package and no Redis client', () => {
    for (const file of [pkg.exports['.']?.import.default, pkg.exports['.']?.require.default]) {
      const code = bundle(file as string);
      expect(code).to.not.match(/@opentelemetry\//);
      expect(code).to.not.match(/["'](ioredis|redis)["']/);
    }
  });

  it('R-PKG-3: runs in Deno, Bun and browsers: the core bundle uses no Node-only globals', () => {
    const code = bundle(pkg.exports['.']?.import.default as string);
    expect(code).to.not.match(/\bprocess\.|\bBuffer\b|\b__dirname\b|\brequire\(/);
  });

  it('R-PKG-4: `bulwark/redis` never imports a Redis client; `bulwark/otel` imports only @opentelemetry/api', () => {
    const redisEsm = importsOf(bundle(pkg.exports['./redis']?.import.default as string));
    const redisCjs = importsOf(bundle(pkg.exports['./redis']?.require.default as string));
    expect(new Set([...redisEsm, ...redisCjs])).to.deep.equal(new Set(['bulwark']));
    const otelEsm = importsOf(bundle(pkg.exports['./otel']?.import.default as string));
    const otelCjs = importsOf(bundle(pkg.exports['./otel']?.require.default as string));
    expect(new Set([...otelEsm, ...otelCjs])).to.deep.equal(
      new Set(['bulwark', '@opentelemetry/api']),
    );
  });

  it('R-PKG-5: the ESM build of the core is one module per source file, so bundlers keep only what is used', async function () {
    this.timeout(20_000);
    const modules = walk('dist/esm').filter((f) => f.endsWith('.js'));
    expect(modules).to.include.members([
      join('dist/esm/strategies/retry/Retry.js'),
      join('dist/esm/strategies/circuit-breaker/CircuitBreaker.js'),
      join('dist/esm/registry/PolicyRegistry.js'),
    ]);
    const retryOnly = await bundleOf("import { Retry } from 'bulwark'; console.log(Retry);");
    expect(retryOnly).to.include('maxAttempts');
    for (const other of ['Circuit breaker is open', 'Rate limit exceeded', 'resilience.']) {
      expect(retryOnly).to.not.include(other);
    }
  });

  it('R-PKG-5: `"sideEffects": false` holds in fact: loading any core ESM module for nothing bundles to nothing', async function () {
    this.timeout(60_000);
    const core = walk('dist/esm').filter(
      (f) => f.endsWith('.js') && !/[\\/](redis|otel)[\\/]/.test(f),
    );
    const residue: Record<string, string> = {};
    for (const file of core) {
      const code = await bundleOf(`import ${JSON.stringify(`./${file}`)};`, false);
      if (code !== '') residue[file] = code.slice(0, 200);
    }
    expect(residue).to.deep.equal({});
  });

  it('R-PKG-6: exports every value the contract names from `bulwark`', () => {
    const missing = CORE_VALUES.filter((name) => core[name] === undefined);
    expect(missing).to.deep.equal([]);
  });

  it('R-PKG-6: exports the types the contract names (Clock, Duration, ErrorFilter, ExecutionContext, Stage, CircuitState)', () => {
    // Compiled by tsc: these annotations fail the type check if a type is not exported.
    const clock: Clock = core.systemClock;
    const duration: Duration = '5s';
    const filter: ErrorFilter = [TypeError];
    const state: CircuitStateType = core.CircuitState.HalfOpen;
    const stage: Stage = { kind: 'custom', execute: (ctx: ExecutionContext, next) => next(ctx) };
    expect([typeof clock.now, duration, filter.length, state, stage.kind]).to.deep.equal([
      'function',
      '5s',
      1,
      'half-open',
      'custom',
    ]);
  });

  it('R-PKG-2: every entry resolves for a bundler whose conditions include neither `import` nor `require`', () => {
    // Node's rule for a conditions object: the first key, in the object's order, that is among
    // the resolver's conditions (or is `default`) wins, recursively.
    const pick = (target: unknown, conditions: readonly string[]): string | undefined => {
      if (typeof target === 'string') return target;
      if (target === null || typeof target !== 'object') return undefined;
      for (const [key, value] of Object.entries(target)) {
        if (key !== 'default' && !conditions.includes(key)) continue;
        const found = pick(value, conditions);
        if (found !== undefined) return found;
      }
      return undefined;
    };
    // As webpack resolves with `resolve.conditionNames` set to these lists.
    for (const conditions of [
      ['browser', 'module', 'default'],
      ['worker', 'browser', 'default'],
    ]) {
      for (const entry of ['.', './redis', './otel', './fetch']) {
        const file = pick(pkg.exports[entry], conditions);
        expect(file, `${entry} under ${conditions.join(', ')}`).to.be.a('string');
        expect(file).to.match(/^\.\/dist\/esm\/.*\.js$/);
        expect(existsSync(file as string), file).to.equal(true);
        const types = pick(pkg.exports[entry], ['types', ...conditions]);
        expect(types, `${entry} types`).to.match(/\.d\.ts$/);
      }
    }
  });

  it('R-PKG-7: every entry point exports exactly its pinned names, ESM and CJS alike', async () => {
    const require = createRequire(import.meta.url);
    for (const [entry, names] of Object.entries(ENTRY_EXPORTS)) {
      const esm = Object.keys((await import(entry)) as object).sort();
      const cjs = Object.keys(require(entry) as object).sort();
      expect(esm, `${entry} (ESM)`).to.deep.equal([...names].sort());
      expect(cjs, `${entry} (CJS)`).to.deep.equal([...names].sort());
    }
  });

  it('R-PKG-7: the helpers the adapters take from the core are left out of its declarations', () => {
    for (const file of [pkg.exports['.']?.import.types, pkg.exports['.']?.require.types]) {
      const text = readFileSync(file as string, 'utf8');
      const named = ADAPTER_SUPPORT.filter((name) => new RegExp(`\\b${name}\\b`).test(text));
      expect(named, file).to.deep.equal([]);
    }
  });

  it('R-PKG-2: require(`bulwark`) gives the same names as the ESM build', () => {
    const cjs = requireCore();
    expect(Object.keys(cjs).sort()).to.deep.equal(Object.keys(core).sort());
    const require = createRequire(import.meta.url);
    const cjsRedis = require('bulwark/redis') as Record<string, unknown>;
    expect(Object.keys(cjsRedis).sort()).to.deep.equal(Object.keys(redis).sort());
    const cjsOtel = require('bulwark/otel') as Record<string, unknown>;
    expect(Object.keys(cjsOtel).sort()).to.deep.equal(Object.keys(otel).sort());
  });

  it('R-PKG-2: in Node, `import` and `require` load one copy: the CommonJS build, which `import` reaches through a wrapper', async () => {
    const require = createRequire(import.meta.url);
    for (const entry of Object.keys(ENTRY_EXPORTS)) {
      const imported = (await import(entry)) as Record<string, unknown>;
      const required = require(entry) as Record<string, unknown>;
      const differing = Object.keys(required).filter((name) => imported[name] !== required[name]);
      expect(differing, entry).to.deep.equal([]);
    }
    for (const [entry, map] of Object.entries(pkg.exports)) {
      if (entry === './package.json') continue;
      const name = entry === '.' ? 'index' : `${entry.slice(2)}/index`;
      // Under `import`, Node's condition comes first, with its own types (TypeScript reads the
      // first condition that matches); without it, the ESM build and its declarations.
      expect(Object.entries(map.import), entry).to.deep.equal([
        ['node', { types: `./dist/node/${name}.d.mts`, default: `./dist/node/${name}.mjs` }],
        ['types', `./dist/esm/${name}.d.ts`],
        ['default', `./dist/esm/${name}.js`],
      ]);
      // The wrapper imports its CommonJS module and the optional peer that module requires
      // (imported first, so that a missing one fails to resolve before any module runs), and
      // nothing else; its declarations re-export the CommonJS ones, so the types are of the one
      // copy Node loads.
      const cjs = `${entry === '.' ? '..' : '../..'}/cjs/${name}.cjs`;
      const wrapper = readFileSync(map.import.node.default, 'utf8');
      const peers = entry === './otel' ? ['@opentelemetry/api'] : [];
      expect(specifiersOf(wrapper), entry).to.have.members([cjs, ...peers]);
      for (const peer of peers) {
        expect(wrapper.indexOf(`import "${peer}";`), `${entry}: ${peer}`).to.be.within(
          0,
          wrapper.indexOf(`from "${cjs}"`),
        );
      }
      const types = readFileSync(map.import.node.types, 'utf8');
      expect(types, entry).to.contain(`export * from "${cjs}";`);
      expect(specifiersOf(types), entry).to.deep.equal([cjs]);
    }
    // The ESM build is another copy, which a browser or a browser bundle loads instead.
    const esm = otherCopy;
    expect(esm.RateLimitExceededError).to.not.equal(core.RateLimitExceededError);
    expect(
      Object.prototype.isPrototypeOf.call(
        core.RateLimitExceededError.prototype,
        new esm.RateLimitExceededError(5),
      ),
    ).to.equal(false);
  });

  it('R-PKG-2: imports cleanly in a fresh Node process, by both `import` and `require`', async function () {
    this.timeout(15_000);
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, args, { cwd: root, timeout: 10_000 }, (error, stdout) =>
          error === null ? resolve(stdout.trim()) : reject(error),
        );
      });
    expect(
      await run([
        '--input-type=module',
        '-e',
        "import { Policy } from 'bulwark'; console.log(typeof Policy.builder)",
      ]),
    ).to.equal('function');
    expect(await run(['-e', "console.log(typeof require('bulwark').Policy.builder)"])).to.equal(
      'function',
    );
  });
});
