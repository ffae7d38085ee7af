// ESLint over src/ (typescript-eslint's recommended-type-checked) and spec/ (the syntactic
// recommended set: specs poke at internals and use chai/sinon's loosely typed APIs), plus the
// layering rules of docs/ARCHITECTURE.md ("Layers").
import Module from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';

// typescript-eslint needs TypeScript's JavaScript API, which TypeScript 7 (the `typescript`
// package here, whose native `tsc` type-checks and builds the project) no longer ships. The
// linter runs on TypeScript 5 instead (`typescript5`, the npm alias the consumer check uses):
// inside this process `typescript` resolves to it. package.json's `overrides` only quiets npm's
// peer-dependency check, which would otherwise refuse TypeScript 7.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const target =
    request === 'typescript' || request.startsWith('typescript/')
      ? `typescript5${request.slice('typescript'.length)}`
      : request;
  return resolveFilename.call(this, target, ...rest);
};
const { default: tseslint } = await import('typescript-eslint');

const ADAPTERS = '(redis|otel|fetch)';

/**
 * As tsconfig's `noUnusedParameters`: a parameter named `_…` is kept for its position (an
 * interface's signature, a callback's shape) and is unused on purpose.
 */
const UNUSED = {
  '@typescript-eslint/no-unused-vars': [
    'error',
    { argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
  ],
};

const STAGE_FILES = ['src/strategies/*/stage.ts'];
const DESCRIPTOR_FILES = [
  'src/strategies/descriptor.ts',
  'src/strategies/index.ts',
  'src/strategies/*/kind.ts',
];

/** Matches an import of any module of `folders` (a path fragment), relative or not. */
const inFolder = (folders) => `(^|/)${folders}/`;

/** Nothing under src/strategies/ imports an adapter, the registry, the decorators or the entry. */
const STRATEGY_OUTSIDE = [
  {
    regex: `^(\\.\\./)+${ADAPTERS}/`,
    message: 'A strategy never imports an adapter.',
  },
  {
    regex: inFolder('(registry|decorators)'),
    message: 'A strategy knows nothing of the registry or the decorators.',
  },
  {
    regex: '^(\\.\\./)+index\\.js$',
    message: 'A strategy imports what it uses from its module, not the package entry.',
  },
];

/**
 * A primitive (`Retry.ts`, `CircuitBreaker.ts`, …), its options, store and helpers know nothing
 * of policies: they work alone, so they import nothing of the pipeline either.
 */
const PRIMITIVE_LAYERING = [
  {
    regex: inFolder('pipeline'),
    message:
      'A primitive knows nothing of policies: only its stage.ts (and, as types, kind.ts) may import the pipeline.',
  },
  ...STRATEGY_OUTSIDE,
];

/**
 * A kind's step (stage.ts) runs on the engine: it extends the shared step base (`step.ts`) and may
 * use the engine's helpers (`engine.ts`), its environment (`env.ts`), the counters
 * (`metrics.ts`) and the fused executor's kinds (`fused.ts`, which it offers its primitive to);
 * nothing else of the pipeline (the policy, the builder, the public stages, the
 * event hub it reaches through `this.env.hub`), which is built on top of the steps.
 */
const STAGE_LAYERING = [
  {
    regex: `${inFolder('pipeline')}(?!(engine|env|fused|metrics|step)\\.js$)`,
    message: 'A stage may import only the engine, env, fused, metrics and step of the pipeline.',
  },
  ...STRATEGY_OUTSIDE,
];

/**
 * The kind descriptors (strategies/descriptor.ts, each kind.ts) and the list of kinds
 * (strategies/index.ts) are what the pipeline, the registry and `bulwark/otel` read of a kind.
 * They name the step's interface and its environment (`engine.ts`, `env.ts`, `events.ts`,
 * `metrics.ts`, `step.ts`) as types only: the pipeline imports them, never the other way round.
 */
const DESCRIPTOR_LAYERING = [
  {
    regex: `${inFolder('pipeline')}(?!(engine|env|events|metrics|step)\\.js$)`,
    message: 'A kind descriptor may name only the engine, env, events, metrics and step types.',
  },
  {
    regex: inFolder('pipeline'),
    allowTypeImports: true,
    message: 'A kind descriptor imports the pipeline as types only (the pipeline imports it).',
  },
  ...STRATEGY_OUTSIDE,
];

/**
 * An adapter (bulwark/redis, bulwark/otel, bulwark/fetch) takes the core's classes only through
 * `../index.js`, which the build rewrites to the package itself, so it shares them instead of
 * bundling copies; the validation helpers, the abort listeners and the clock too (the core entry
 * exports them as `@internal`), so its option errors are the core's classes. Pure helpers with no
 * class, error or state of their own may be bundled: these.
 */
const ADAPTER_HELPERS = [
  'internal/describeError.js',
  'internal/signals.js',
  'internal/timerHandle.js',
  'internal/timerLimit.js',
  'internal/weak.js',
  'strategies/circuit-breaker/admissions.js',
  'strategies/retry-budget/budget.js',
];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** For a file `depth` folders below src/: any path up to src/ that is not the entry or a helper. */
const adapterLayering = (depth) => [
  {
    regex: `^(\\.\\./){${depth}}(?!index\\.js$|${ADAPTER_HELPERS.map(escape).join('$|')}$)`,
    message: `An adapter imports the core only through '../index.js' (pure helpers allowed: ${ADAPTER_HELPERS.join(', ')}).`,
  },
];

export default defineConfig(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.spec-build/**',
      '.bench-build/**',
      '.examples-build/**',
      'coverage/**',
      'reports/**',
      '.stryker-tmp/**',
      'benchmarks/**',
      'examples/**',
      'scripts/**',
      'spec/runtimes/**',
      '*.mjs',
      '*.cjs',
    ],
  },
  {
    files: ['src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The library passes on rejections it did not create unchanged (the thunk's own error,
      // typed `unknown`; a signal's `reason`, typed `any` by the DOM library): wrapping them would
      // change what callers catch.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingUnknown: true, allowThrowingAny: true },
      ],
      ...UNUSED,
    },
  },
  {
    files: ['spec/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      ...UNUSED,
      // chai's property assertions (`expect(x).to.be.empty`) are expressions by design.
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    // Type tests: each declaration exists for the compiler to check its type, never to be read.
    files: ['spec/types/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    files: ['src/strategies/**/*.ts'],
    ignores: [...STAGE_FILES, ...DESCRIPTOR_FILES],
    rules: { 'no-restricted-imports': ['error', { patterns: PRIMITIVE_LAYERING }] },
  },
  {
    files: STAGE_FILES,
    rules: { 'no-restricted-imports': ['error', { patterns: STAGE_LAYERING }] },
  },
  {
    files: DESCRIPTOR_FILES,
    rules: { 'no-restricted-imports': ['error', { patterns: DESCRIPTOR_LAYERING }] },
  },
  {
    files: ['src/{redis,otel,fetch}/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: adapterLayering(1) }] },
  },
  {
    files: ['src/{redis,otel,fetch}/*/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: adapterLayering(2) }] },
  },
);
