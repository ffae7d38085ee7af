// Prints the README's "Bundle size" table: for each import in .size-limit.json, its budget, the
// ceiling `npm run size` enforces today (the `limit` in .size-limit.json, which comes down to the
// budget as the code shrinks), the size of the built ESM (dist/esm: run `npm run build` first)
// and of cockatiel's nearest equivalent, all measured the same way: size-limit's esbuild bundle
// of one `import` line, minified and gzipped (1 KB = 1,000 bytes).
//   npm run build && node scripts/size-report.mjs
import sizeLimit from 'size-limit';
import esbuildPlugin from '@size-limit/esbuild';
import filePlugin from '@size-limit/file';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const checks = JSON.parse(readFileSync(resolve(repo, '.size-limit.json'), 'utf8'));
const ours = resolve(repo, 'dist/esm/index.js');
const cockatiel = createRequire(resolve(repo, 'package.json'))
  .resolve('cockatiel')
  .replace(/index\.js$/, 'esm/index.js');

/** The size each import should fit in, min+gzip, by name in .size-limit.json. */
const BUDGETS = {
  'Retry alone': 2_000,
  'CircuitBreaker alone': 3_500,
  'RateLimiter alone': 2_500,
  'Bulkhead alone': 2_500,
  'Policy with every built-in stage': 8_000,
  'everything from the core entry': 12_000,
};

/** What a cockatiel user imports for the same job, by name (undefined: no equivalent). */
const COCKATIEL = {
  'Retry alone': '{ retry }',
  'CircuitBreaker alone': '{ circuitBreaker }',
  'RateLimiter alone': undefined,
  'Bulkhead alone': '{ bulkhead }',
  'Policy with every built-in stage':
    '{ wrap, retry, circuitBreaker, bulkhead, timeout, fallback }',
  'everything from the core entry': '*',
};

/** Bytes of a minified, gzipped esbuild bundle of `import <what> from <file>`. */
async function measure(file, what) {
  const [result] = await sizeLimit([esbuildPlugin, filePlugin], {
    checks: [{ files: [file], import: { [file]: what }, gzip: true }],
  });
  return result.size;
}

const kb = (bytes) => `${(bytes / 1000).toFixed(2)} KB`;

const rows = [];
for (const check of checks) {
  const budget = BUDGETS[check.name];
  if (budget === undefined) throw new Error(`no budget for "${check.name}"`);
  const size = await measure(ours, check.import);
  const ceiling = Number.parseFloat(check.limit) * 1000;
  const equivalent = COCKATIEL[check.name];
  const theirs =
    equivalent === undefined
      ? 'none'
      : `${kb(await measure(cockatiel, equivalent))} (\`${equivalent}\`)`;
  const over = size > budget ? ` (${kb(size - budget)} over)` : '';
  rows.push(
    `| ${check.name}: \`${check.import}\` | ${kb(budget)} | ${kb(ceiling)} | ${kb(size)}${over} | ${theirs} |`,
  );
}

console.log('| import | budget | enforced now | bulwark | cockatiel |');
console.log('|---|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
