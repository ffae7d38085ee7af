// Type-checks projects that consume the packed package as users do: the tarball `npm pack`
// makes is installed into a throwaway project under the system's temporary folder (never in
// the repository), and a file importing every public name of every entry point is compiled with
// `strict` and `skipLibCheck: false` (TypeScript's default, so the declarations themselves are
// checked) for each `module` setting users pick, by the TypeScript in node_modules and by
// TypeScript 5 (`typescript5`, an npm alias), since most users are on 5.x. Two of the projects
// emit declarations, as a library built on bulwark does, so every type a public value has must be
// exported under a name.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');

/** Entry point -> the source file whose exports it publishes. */
const ENTRIES = {
  bulwark: 'src/index.ts',
  'bulwark/redis': 'src/redis/index.ts',
  'bulwark/otel': 'src/otel/index.ts',
  'bulwark/fetch': 'src/fetch/index.ts',
};

/** The TypeScript versions that check each consumer. */
const COMPILERS = ['typescript', 'typescript5'].map((pkg) => ({
  label: `typescript ${version(pkg)}`,
  major: Number(version(pkg).split('.')[0]),
  tsc: join(repo, 'node_modules', pkg, 'bin', 'tsc'),
}));

/**
 * Packages the published declarations import that a user installs beside bulwark (optional
 * peers), plus Node's types for the Node-flavoured projects. Linked from the repository's
 * node_modules, so the check never needs the network.
 */
const LINKED = ['@opentelemetry/api', '@types/node'];

function version(pkg) {
  return JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

/** The value and type names an entry's source file exports. */
function publicNames(file) {
  const text = readFileSync(join(repo, file), 'utf8');
  const values = [];
  const types = [];
  for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const raw of (m[2] ?? '').split(',')) {
      const spec = raw.trim();
      if (spec === '') continue;
      const inlineType = spec.startsWith('type ');
      const name = (inlineType ? spec.slice(5) : spec)
        .split(/\s+as\s+/)
        .pop()
        .trim();
      (m[1] !== undefined || inlineType ? types : values).push(name);
    }
  }
  if (values.length + types.length === 0) throw new Error(`no exports found in ${file}`);
  return { values, types };
}

/** Import lines naming every public value and type of every entry point. */
function importEverything() {
  const lines = [];
  const used = [];
  for (const [specifier, file] of Object.entries(ENTRIES)) {
    const { values, types } = publicNames(file);
    const alias = (n) => `${n} as ${specifier.replace(/\W/g, '_')}_${n}`;
    lines.push(`import { ${values.map(alias).join(', ')} } from '${specifier}';`);
    if (types.length > 0) {
      lines.push(`import type { ${types.map(alias).join(', ')} } from '${specifier}';`);
    }
    // Every imported value is read, so an import that resolves to nothing cannot go unnoticed.
    used.push(...values.map((n) => `${specifier.replace(/\W/g, '_')}_${n}`));
  }
  lines.push(`export const everyValue = [${used.join(', ')}] as const;`);
  return lines.join('\n');
}

/** A few uses of the API whose types must come out right. */
const USES = `
import {
  Policy,
  Retry,
  CircuitBreaker,
  RateLimiter,
  Bulkhead,
  AdaptiveLimit,
  PolicyRegistry,
  isCircuitOpenError,
  retry,
  usePolicy,
  type Stage,
  type PolicyMetrics,
} from 'bulwark';
import { RedisRateLimiterStore, type RedisClient } from 'bulwark/redis';
import { instrument } from 'bulwark/otel';
import { resilientFetch, isHttpStatusError } from 'bulwark/fetch';

declare const client: RedisClient;

export const attempts: Promise<number> = new Retry({ maxAttempts: 3, delay: '100ms' }).execute(
  async (signal, attempt) => (signal.aborted ? 0 : attempt),
);
export const limiter = new RateLimiter({
  maxTokens: 10,
  refillRate: 5,
  store: new RedisRateLimiterStore({ client, key: 'payment-api' }),
});
const logging: Stage = { kind: 'logging', execute: (ctx, next) => next(ctx) };
export const policy = Policy.builder<string>('pricing')
  .fallback({ value: 'cached' })
  .rateLimiter(limiter)
  .bulkhead(new Bulkhead({ maxConcurrent: 2 }))
  .use(logging)
  .retry({ maxAttempts: 2 })
  .circuitBreaker(new CircuitBreaker({ failureThreshold: 3 }))
  .timeout('1s')
  .build();
export const price: Promise<string> = policy.execute(async (ctx) => ctx.policyName);
export const metrics: PolicyMetrics = policy.metrics();
export const retried: (id: string) => Promise<number> = retry({ maxAttempts: 2 })(
  async (id: string) => id.length,
);
export const stop: () => void = instrument(new PolicyRegistry());
export const get = resilientFetch(Policy.builder('http').retry({ maxAttempts: 2 }).build());
export const failedOnStatus = (error: unknown): number | undefined =>
  isHttpStatusError(error) ? error.status : undefined;
export function retryAfter(error: unknown): number | undefined {
  return isCircuitOpenError(error) ? error.retryAfterMs : undefined;
}
// Options that would throw at run time do not compile.
// (Not in one chain: TypeScript 5.4 and before report a call's error at the chain's first line, where
// a directive above the call would not catch it.)
const perUserBuilder = Policy.builder('per-user');
export const perUser = perUserBuilder.bulkhead({
  key: (ctx) => String(ctx.data.get('user')),
  maxKeys: 5,
  maxConcurrent: 2,
});
// @ts-expect-error \`maxKeys\` needs \`key\`
perUserBuilder.bulkhead({ maxKeys: 5, maxConcurrent: 2 });
export const aimd = new AdaptiveLimit({ algorithm: 'aimd', backoffRatio: 0.5 });
// @ts-expect-error \`backoffRatio\` is for 'aimd' only
export const gradient = new AdaptiveLimit({ algorithm: 'gradient2', backoffRatio: 0.5 });
// Standard decorators (no \`experimentalDecorators\` here), on methods of an instance and a class.
export class Quotes {
  constructor(private readonly base: number) {}
  @retry({ maxAttempts: 2 })
  @usePolicy(policy)
  async quote(id: string): Promise<string> {
    return id.repeat(this.base);
  }
  @retry({ maxAttempts: 2 })
  static async rates(): Promise<number[]> {
    return [1];
  }
  // @ts-expect-error a decorated method must return a Promise
  @retry({ maxAttempts: 2 })
  now(): number {
    return this.base;
  }
}
`;

/**
 * An ES module application and a CommonJS dependency of it, both on bulwark: Node loads one copy
 * for both, so a policy one makes must fit what the other takes, across every entry point (classes
 * with private members match only when both sides see the same declaration).
 */
const MIXED_LIB = `
import { Policy, PolicyRegistry, CircuitBreaker, type Stage } from 'bulwark';
import { instrument } from 'bulwark/otel';
import { resilientFetch } from 'bulwark/fetch';
import { RedisRateLimiterStore, type RedisClient } from 'bulwark/redis';

export const shared = Policy.builder<number>('lib').retry({ maxAttempts: 2 }).build();
export const registry = new PolicyRegistry();
export const breaker = new CircuitBreaker({ failureThreshold: 3 });
export function adopt(policy: Policy<number>, stage: Stage): Policy<number> {
  instrument(policy);
  resilientFetch(policy as Policy);
  return Policy.builder<number>('adopted').use(stage).build();
}
export function store(client: RedisClient): RedisRateLimiterStore {
  return new RedisRateLimiterStore({ client, key: 'lib' });
}
`;
const MIXED_APP = `
import { Policy, PolicyRegistry, RateLimiter, stages, usePolicy } from 'bulwark';
import { instrument } from 'bulwark/otel';
import { resilientFetch } from 'bulwark/fetch';
import type { RedisClient } from 'bulwark/redis';
import { adopt, breaker, registry, shared, store } from './lib.cjs';

declare const client: RedisClient;

// The dependency's policy, registry and primitives in the application's API, and back.
new PolicyRegistry().register(shared);
export const used = usePolicy(shared);
export const stop = instrument(shared);
export const get = resilientFetch(shared as Policy);
registry.register(Policy.builder('app').circuitBreaker(breaker).build());
export const own: Policy<number> = adopt(
  Policy.builder<number>('own').build(),
  stages.circuitBreaker(breaker),
);
export const limiter = new RateLimiter({ maxTokens: 1, refillRate: 1, store: store(client) });
`;

/**
 * A library that hands bulwark's values on to its users, with its declarations emitted: every
 * type it infers from bulwark must be one its declaration file can name (TS2742 / TS2883 "cannot
 * be named without a reference to ..." when the type is not exported). Spreading each entry
 * point's namespace writes out the type of every public value, and the rest are values built
 * from them.
 */
const DECLARATIONS = `
import * as core from 'bulwark';
import * as redis from 'bulwark/redis';
import * as otel from 'bulwark/otel';
import * as fetch from 'bulwark/fetch';
import {
  CircuitBreaker,
  Fallback,
  Hedge,
  Policy,
  PolicyRegistry,
  Retry,
  circuitBreaker,
  retry,
  stages,
  usePolicy,
} from 'bulwark';

export const everything = { ...core, ...redis, ...otel, ...fetch };
export const allStages = { ...stages };
export const retryStage = stages.retry;
export const breakerStage = stages.circuitBreaker;
export const bulkheadStage = stages.bulkhead;
export const keyedBreaker = stages.circuitBreaker({ key: () => 'host', failureThreshold: 3 });
export const oneBreaker = stages.circuitBreaker({ failureThreshold: 3 });
export const policy = Policy.builder<string>('sdk').retry({ maxAttempts: 2 }).timeout('1s').build();
export const registry = new PolicyRegistry();
export const metrics = policy.metrics();
export const retried = retry({ maxAttempts: 2 })(async (id: string) => id.length);
export const guarded = circuitBreaker(new CircuitBreaker({}))(async () => 1);
export const get = fetch.resilientFetch(Policy.builder('http').build());
export const stop = otel.instrument(registry);

// Generic helpers and members whose result types are inferred from a call in generic code.
export function run<T>(policy: Policy<T>, fn: () => Promise<T>) {
  return policy.execute(fn);
}
export function runWith<T, F>(policy: Policy<T, F>, fn: () => Promise<T>) {
  return policy.execute(fn, { data: { via: 'sdk' } });
}
export function wrapped<T>(policy: Policy<T>, fn: (id: string) => Promise<T>) {
  return policy.wrap(fn);
}
export function decorated<T>(policy: Policy<T>) {
  return usePolicy(policy);
}
export function reloadable<T>(fn: () => Promise<T>) {
  return registry.policy('reloaded').execute(fn);
}
export function attempted<T>(primitive: Retry<T>, fn: () => Promise<T>) {
  return primitive.execute(fn);
}
export function broken<T>(primitive: CircuitBreaker<T>, fn: () => Promise<T>) {
  return primitive.execute(fn);
}
export function fellBack<T, V>(primitive: Fallback<V, T>, fn: () => Promise<T>) {
  return primitive.execute(fn);
}
export function hedged<T>(primitive: Hedge<T>, fn: () => Promise<T>) {
  return primitive.execute(fn);
}
export class Repository<T> {
  constructor(
    private readonly policy: Policy<T>,
    private readonly load: (id: string) => Promise<T>,
  ) {}
  get(id: string) {
    return this.policy.execute(() => this.load(id));
  }
}
`;
const EMIT = { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: 'out' };

/** Decorated classes whose `@ts-expect-error` lines must fail, and others compile, in both modes. */
const DECORATORS = readFileSync(join(repo, 'spec/types/decoratorModes.types.ts'), 'utf8');
/** The decorator example of the public contract, as written: it compiles in both modes. */
const EXAMPLE = readFileSync(join(repo, 'spec/types/contract/decoratorExample.types.ts'), 'utf8');
const DECORATED = { 'decorators.ts': DECORATORS, 'example.ts': EXAMPLE };

const STRICT = { strict: true, skipLibCheck: false, noEmit: true, target: 'es2022' };
const NODE = { lib: ['es2022'], types: ['node'] };

/**
 * Each project: its tsconfig options and the files it checks (name -> source). Under
 * `nodenext` and `node16` a `.mts` file takes the `import` declarations (the `node` condition's:
 * dist/node/*.d.mts, which re-export the CommonJS ones) and a `.cts` file the `require` ones, and
 * in `mixed-*` a `.cts` dependency and a `.mts` application pass each other bulwark's classes;
 * `declarations-*` emit declarations for values inferred from bulwark's;
 * `commonjs` resolves as `node10`, where the subpaths' types come
 * from their folders (`fetch/package.json`, ...); `bundler` is checked with the DOM library and no Node types.
 */
const PROJECTS = {
  nodenext: {
    options: { ...STRICT, ...NODE, module: 'nodenext', moduleResolution: 'nodenext' },
    files: ['esm.mts', 'cjs.cts'],
  },
  node16: {
    options: { ...STRICT, ...NODE, module: 'node16', moduleResolution: 'node16' },
    files: ['esm.mts', 'cjs.cts'],
  },
  bundler: {
    options: {
      ...STRICT,
      lib: ['es2022', 'dom'],
      types: [],
      module: 'esnext',
      moduleResolution: 'bundler',
    },
    files: ['index.ts'],
  },
  commonjs: {
    options: { ...STRICT, ...NODE, module: 'commonjs', moduleResolution: 'node10' },
    files: ['index.ts'],
    // TypeScript 6 deprecated `node10` and 7 removed it: there `commonjs` takes its default.
    modern: { moduleResolution: undefined },
  },
  // The method decorators as a consumer writes them, under TypeScript's legacy decorators with
  // decorator metadata (as NestJS projects compile, CommonJS) and under standard ones.
  'legacy-decorators': {
    options: {
      ...STRICT,
      ...NODE,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    },
    files: ['decorators.ts', 'example.ts'],
    sources: DECORATED,
  },
  'std-decorators': {
    options: { ...STRICT, ...NODE, module: 'nodenext', moduleResolution: 'nodenext' },
    files: ['decorators.ts', 'example.ts'],
    sources: DECORATED,
  },
  'declarations-nodenext': {
    options: { ...STRICT, ...NODE, ...EMIT, module: 'nodenext', moduleResolution: 'nodenext' },
    files: ['sdk.mts', 'sdk.cts'],
    sources: { 'sdk.mts': DECLARATIONS, 'sdk.cts': DECLARATIONS },
  },
  'declarations-bundler': {
    options: {
      ...STRICT,
      ...EMIT,
      lib: ['es2022', 'dom'],
      types: [],
      module: 'esnext',
      moduleResolution: 'bundler',
    },
    files: ['sdk.ts'],
    sources: { 'sdk.ts': DECLARATIONS },
  },
  'mixed-nodenext': {
    options: { ...STRICT, ...NODE, module: 'nodenext', moduleResolution: 'nodenext' },
    files: ['lib.cts', 'app.mts'],
    sources: { 'lib.cts': MIXED_LIB, 'app.mts': MIXED_APP },
  },
  'mixed-node16': {
    options: { ...STRICT, ...NODE, module: 'node16', moduleResolution: 'node16' },
    files: ['lib.cts', 'app.mts'],
    sources: { 'lib.cts': MIXED_LIB, 'app.mts': MIXED_APP },
  },
};

function resolution(options) {
  return `(moduleResolution ${options.moduleResolution ?? 'default'})`;
}

const work = mkdtempSync(join(tmpdir(), 'bulwark-consumers-'));
let failed = 0;
try {
  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: repo,
    encoding: 'utf8',
  });
  const tarball = join(work, JSON.parse(packed)[0].filename);

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'bulwark-consumer', version: '1.0.0', private: true }),
  );
  execFileSync(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
    { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (const pkg of LINKED) {
    const target = join(app, 'node_modules', pkg);
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(realpathSync(join(repo, 'node_modules', pkg)), target, 'dir');
  }

  // A resolver that does not read `exports` (Jest before 28, webpack 4, eslint-plugin-import's
  // Node resolver) finds a subpath as a folder of the package and loads its package.json's `main`:
  // the file `require` gets through `exports`. Node resolves a folder's path the same way.
  const appRequire = createRequire(join(app, 'index.cjs'));
  for (const specifier of Object.keys(ENTRIES).filter((s) => s.includes('/'))) {
    const viaExports = appRequire.resolve(specifier);
    let viaFolder;
    try {
      viaFolder = appRequire.resolve(join(app, 'node_modules', specifier));
    } catch (error) {
      viaFolder = error.message.split('\n')[0];
    }
    if (viaFolder === viaExports) {
      console.log(`ok    folder ${specifier.padEnd(21)} main is exports' require`);
    } else {
      failed++;
      console.log(`FAIL  folder ${specifier.padEnd(21)} ${viaFolder}, not ${viaExports}`);
    }
  }

  const source = `${importEverything()}\n${USES}`;
  for (const [name, project] of Object.entries(PROJECTS)) {
    const dir = join(app, name);
    mkdirSync(dir);
    for (const file of project.files) {
      writeFileSync(join(dir, file), project.sources?.[file] ?? project.source ?? source);
    }
    for (const { label: compiler, major, tsc } of COMPILERS) {
      const options = { ...project.options, ...(major >= 6 ? project.modern : {}) };
      const config = join(dir, `tsconfig.ts${major}.json`);
      writeFileSync(config, JSON.stringify({ compilerOptions: options, files: project.files }));
      try {
        execFileSync(process.execPath, [tsc, '-p', config], {
          cwd: dir,
          encoding: 'utf8',
          stdio: 'pipe',
        });
        console.log(`ok    module ${name.padEnd(21)} ${compiler} ${resolution(options)}`);
      } catch (error) {
        failed++;
        console.log(`FAIL  module ${name.padEnd(21)} ${compiler} ${resolution(options)}`);
        console.log(String(error.stdout || error.stderr || error.message).replaceAll(app, '.'));
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed > 0) {
  console.error(`${failed} consumer project(s) failed to type-check against the packed package`);
  process.exit(1);
}
