// Mutation testing (StrykerJS 9): `npm run mutate`, or one folder at a time with
// `npm run mutate -- --mutate 'src/strategies/retry/**/*.ts'`. Not part of `npm test` (it takes
// far longer than the specs); see spec/README.md, "Mutation testing".
//
// - Stryker 10 needs a newer Node than the package supports (>= 20), so the runner is 9.x.
// - Mocha 12 renamed the CLI helpers the 9.x mocha runner loads to `.cjs`: the preload below
//   (scripts/mutation/mocha-cjs.cjs) lets the runner find them, here and in its test processes.
// - No type-check step (`@stryker-mutator/typescript-checker`): it drives TypeScript's JavaScript
//   API, which TypeScript 7's native compiler does not ship. A mutant that would not compile
//   simply runs, and is killed or survives like any other.
// - The specs are TypeScript compiled by esbuild and the contract specs read dist/: after
//   instrumenting the sources, the sandbox rebuilds both (scripts/mutation/build.mjs).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const preload = fileURLToPath(new URL('./scripts/mutation/mocha-cjs.cjs', import.meta.url));
createRequire(import.meta.url)(preload);

/**
 * The specs that exercise the mutated code, as compiled into .spec-build/: every white-box and
 * contract folder, and the deterministic, quick reliability specs. Left out: the fast-check
 * properties and the chaos, leak and lifetime specs of spec/reliability/ (random or real-time,
 * seconds per mutant), and the folders whose specs start servers or other runtimes (redis,
 * fetch, runtimes, examples, benchmarks).
 */
const SPECS = [
  'strategies/**/*',
  'pipeline/**/*',
  'internal/**/*',
  'registry/**/*',
  'decorators/**/*',
  'otel/**/*',
  'contract/**/*',
  'reliability/hostile',
  'reliability/breaker-listeners.regressions',
  'mutation/**/*',
];

/**
 * `MUTATE_SPECS` (comma-separated globs of the same form) runs a narrower set instead, for the
 * load-time mutants of one folder (each re-runs every spec it is given in a fresh process): a
 * score measured with fewer specs can only be lower than with all of them.
 */
const specs = process.env.MUTATE_SPECS ? process.env.MUTATE_SPECS.split(',') : SPECS;

export default {
  testRunner: 'mocha',
  testRunnerNodeArgs: ['--require', preload],
  mochaOptions: {
    spec: specs.map((glob) => `.spec-build/spec/${glob}.spec.js`),
    // Checks what the package ships (entry points, side-effect-free modules, no Node globals in
    // the core bundle), which the instrumentation itself changes.
    ignore: ['.spec-build/spec/contract/package.spec.js'],
    require: ['.spec-build/spec/setup.js', '.spec-build/spec/mutation/preload.js'],
  },
  buildCommand: 'node scripts/mutation/build.mjs',
  mutate: [
    'src/strategies/**/*.ts',
    'src/pipeline/engine.ts',
    'src/pipeline/step.ts',
    '!src/**/*.d.ts',
  ],
  ignorePatterns: [
    'dist',
    '.spec-build',
    '.bench-build',
    '.examples-build',
    'benchmarks/results',
    'reports',
    'coverage',
  ],
  // Stryker puts `// @ts-nocheck` atop the instrumented sources, whose declarations build.mjs
  // still emits with tsc; the specs are never type-checked in the sandbox.
  disableTypeChecks: 'src/**/*.ts',
  // Stryker rewrites the paths of this tsconfig that point outside the sandbox, through
  // TypeScript's JavaScript API (absent from TypeScript 7). tsconfig.json has no such path, so
  // the rewrite is pointed at no file and skipped.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // A mutant that stalls a promise chain or a fake-timer loop is cut off this long after the
  // covering specs' own time (x1.5), and counts as detected ("timeout").
  timeoutMS: 3000,
  // Re-test only the mutants whose code or covering specs changed since the last run
  // (reports/mutation/incremental.json); `npm run mutate -- --force` re-tests everything.
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 95, low: 90, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
