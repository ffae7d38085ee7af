// Checks the TypeScript in the documentation: every ```ts block of README.md and docs/*.md is
// type-checked as a user's module would be (strict, library declarations checked too) against
// the built package, and blocks marked `<!-- run -->` are run and their output compared with
// their `// prints:` comments. Run it after `npm run build`: `node scripts/check-docs.mjs`.
//
// Conventions (see docs/ARCHITECTURE.md, "Code in the documentation"):
// - A block may use bulwark's exports without importing them; the check adds the import. Other
//   names a snippet takes for granted (`url`, `api`, `request`, ...) are declared in PRELUDE.
// - `<!-- run -->` on the line before a fence runs the block with Node. Such a block must be
//   complete: it gets the bulwark imports, but not the prelude's names.
// - In a run block, `// prints: TEXT` (at the end of a line or on a line of its own) says the
//   block prints the line TEXT; the lines printed must be exactly those, in that order.
//
// Nothing is written to the clone: the blocks, a tsconfig and a node_modules of symlinks (the
// package itself as `bulwark`, and the clone's own dependencies) go to a temporary folder.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Names the snippets take for granted. Declared for the type-check only, never defined. */
const PRELUDE = `// Names the documentation's snippets use without defining them.
interface User { readonly id: string; readonly name: string }
interface Price { readonly productId: string; readonly price: number }
type Signalled = { readonly signal?: AbortSignal };
declare const url: string;
declare const id: string;
declare const sku: string;
declare const sql: string;
declare const text: string;
declare const request: { readonly signal: AbortSignal };
declare const response: { end(body: string): void };
declare const api: {
  getUser(id: string, options?: Signalled): Promise<User>;
  get(id: string): Promise<User>;
};
declare const pricingApi: { getPrice(productId: string, options?: Signalled): Promise<Price> };
declare const inventory: { count(sku: string): Promise<number> };
declare function callApi(): Promise<unknown>;
declare const pool: { query(sql: string, options?: Signalled): Promise<unknown[]> };
declare const cache: Map<string, number>;
declare function fetchPrice(id: string, options?: Signalled): Promise<number>;
declare class ConnectionError extends Error {}
declare const log: { warn(fields: object): void; info(fields: object): void };
declare const metrics: { increment(name: string): void };
declare const policy: import('bulwark').Policy<number>;
declare const registry: import('bulwark').PolicyRegistry;
declare const pricingLimiter: import('bulwark').RateLimiter;
declare const pricingBulkhead: import('bulwark').Bulkhead;
declare const exporter: import('@opentelemetry/sdk-metrics').PushMetricExporter;
declare function parse(text: string): any;
declare module '@nestjs/common' { export function Injectable(): ClassDecorator; }
declare const usersApi: import('bulwark').Policy;
// The parts of HTTP clients (not dependencies of the package) that the snippets use.
declare module 'axios' {
  interface AxiosError extends Error { response?: { status: number; headers: Record<string, string | undefined> } }
  export function isAxiosError(value: unknown): value is AxiosError;
  const axios: { get(url: string, config?: Signalled): Promise<{ data: unknown }> };
  export default axios;
}
declare module 'got' {
  export class HTTPError extends Error { response: { statusCode: number; headers: Record<string, string | undefined> } }
  type Options = Signalled & { retry?: { limit?: number } };
  const got: (url: string, options?: Options) => Promise<unknown> & { text(): Promise<string> };
  export default got;
}
declare module 'undici' {
  export function request(url: string, options?: Signalled): Promise<{
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: { text(): Promise<string>; dump(): Promise<void> };
  }>;
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
  include: ['*.ts'],
};

/** The documents checked: README.md, then docs/*.md. */
function documents() {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join('docs', f));
  return ['README.md', ...docs];
}

/** Every ```ts block of a document, with the line its code starts on (1-based). */
function blocksOf(doc) {
  const lines = readFileSync(join(root, doc), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const run = before >= 0 && /^<!--\s*run\s*-->$/.test(lines[before].trim());
    const indent = open[1].length;
    const code = lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, l.search(/\S|$/))));
    blocks.push({ doc, line: i + 2, code, run });
    i = end;
  }
  return blocks;
}

/** The names an entry point exports, values and types, read from its declarations. */
function exportedNames(dts, seen = new Set()) {
  if (seen.has(dts) || !existsSync(dts)) return [];
  seen.add(dts);
  const source = readFileSync(dts, 'utf8');
  const names = [];
  for (const m of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of m[1].split(',')) {
      const parts = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      const name = (parts[1] ?? parts[0]).trim();
      if (/^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default') names.push(name);
    }
  }
  for (const m of source.matchAll(
    /export\s+(?:declare\s+)?(?:abstract\s+)?(?:const|let|function|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g,
  )) {
    names.push(m[1]);
  }
  for (const m of source.matchAll(/export\s+\*\s+from\s+['"](\.[^'"]+)['"]/g)) {
    names.push(...exportedNames(join(dirname(dts), m[1].replace(/\.js$/, '.d.ts')), seen));
  }
  return names;
}

/** An import of the bulwark names a block uses but neither imports nor declares itself. */
function autoImport(code, exported) {
  const text = code.join('\n');
  const strip = text.replace(/\/\/.*$/gm, '').replace(/(['"`])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
  const declared = new Set();
  for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of m[1].split(',')) {
      const parts = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      if (parts[0]) declared.add((parts[1] ?? parts[0]).trim());
    }
  }
  for (const m of text.matchAll(/import\s+(?:\*\s+as\s+)?([A-Za-z_$][\w$]*)\s+from/g)) {
    declared.add(m[1]);
  }
  for (const m of strip.matchAll(/\b(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)/g)) {
    declared.add(m[1]);
  }
  const used = exported.filter(
    (name) =>
      !declared.has(name) &&
      new RegExp(`(^|[^.\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(strip),
  );
  return used.length === 0 ? '' : `import { ${[...new Set(used)].join(', ')} } from 'bulwark';`;
}

/** The lines a run block says it prints, from its `// prints:` comments, in order. */
function expectedOutput(code) {
  return code.flatMap((l) => {
    const m = /\/\/ prints: (.*)$/.exec(l);
    return m ? [m[1].trimEnd()] : [];
  });
}

function main() {
  const entry = join(root, 'dist', 'esm', 'index.d.ts');
  if (!existsSync(entry)) {
    console.error('check-docs: dist/ is missing; run `npm run build` first.');
    process.exit(2);
  }
  const exported = [...new Set(exportedNames(entry))];
  const blocks = documents().flatMap(blocksOf);

  const work = mkdtempSync(join(tmpdir(), 'bulwark-docs-'));
  try {
    // A consumer's project: the package under node_modules/bulwark (resolved through its
    // `exports`), the clone's dependencies (types, ioredis, OpenTelemetry) next to it.
    const modules = join(work, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name === '.bin' || name === 'bulwark' || name.startsWith('.')) continue;
      symlinkSync(join(root, 'node_modules', name), join(modules, name));
    }
    symlinkSync(root, join(modules, 'bulwark'), 'dir');
    writeFileSync(join(work, 'package.json'), '{ "type": "module", "private": true }\n');
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(work, 'prelude.d.ts'), PRELUDE);

    // One module per block; its first line is the added import, so its line n + 1 is the
    // block's line n.
    const files = new Map();
    blocks.forEach((block) => {
      const name = `${block.doc.replace(/[^\w]+/g, '_')}_${block.line}.ts`;
      block.file = name;
      block.header = autoImport(block.code, exported);
      writeFileSync(join(work, name), `${block.header}\n${block.code.join('\n')}\nexport {};\n`);
      files.set(name, block);
    });

    const problems = [];
    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work, '--pretty', 'false'],
      { cwd: work, encoding: 'utf8' },
    );
    for (const line of `${tsc.stdout}${tsc.stderr}`.split('\n')) {
      if (line.trim() === '') continue;
      if (/^\s/.test(line) && problems.length > 0) {
        problems[problems.length - 1] += `\n  ${line}`; // the rest of the message above
        continue;
      }
      const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
      const block = m && files.get(m[1]);
      if (block) {
        const where = `${block.doc}:${block.line + Number(m[2]) - 2}:${m[3]}`;
        problems.push(`${where}: ${m[4]}`);
      } else if (m || /error/.test(line)) {
        problems.push(
          m ? `${relative(root, resolve(work, m[1]))}(${m[2]},${m[3]}): ${m[4]}` : line,
        );
      }
    }
    if (tsc.status !== 0 && problems.length === 0) {
      problems.push(`tsc exited with ${tsc.status}: ${tsc.stdout}${tsc.stderr}`);
    }

    // A `// prints:` comment in a block that is not run would never be checked.
    for (const block of blocks.filter((b) => !b.run)) {
      const at = block.code.findIndex((l) => /\/\/ prints: /.test(l));
      if (at >= 0) {
        problems.push(
          `${block.doc}:${block.line + at}: \`// prints:\` in a block without <!-- run --> is never checked`,
        );
      }
    }

    const runs = blocks.filter((b) => b.run);
    if (runs.length > 0) {
      for (const block of runs) {
        const source = `${block.header}\n${block.code.join('\n')}\nexport {};\n`;
        const js = transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' }).code;
        const file = join(work, block.file.replace(/\.ts$/, '.mjs'));
        writeFileSync(file, js);
        const child = spawnSync(process.execPath, [file], {
          cwd: work,
          encoding: 'utf8',
          timeout: 20_000,
        });
        const where = `${block.doc}:${block.line}`;
        if (child.status !== 0) {
          problems.push(
            `${where}: the block failed to run (${child.error?.message ?? `exit ${child.status}`}):\n` +
              `${child.stderr.trim()}`,
          );
          continue;
        }
        const expected = expectedOutput(block.code);
        const actual = child.stdout.split('\n').map((l) => l.trimEnd());
        while (actual.length > 0 && actual[actual.length - 1] === '') actual.pop();
        if (expected.join('\n') !== actual.join('\n')) {
          problems.push(
            `${where}: the block printed\n    ${actual.join('\n    ') || '(nothing)'}\n` +
              `  but its \`// prints:\` comments say\n    ${expected.join('\n    ') || '(nothing)'}`,
          );
        }
      }
    }

    const summary =
      `${blocks.length} TypeScript blocks in ${new Set(blocks.map((b) => b.doc)).size} documents ` +
      `type-checked, ${runs.length} run`;
    if (problems.length > 0) {
      console.error(
        `check-docs: ${summary}; ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n`,
      );
      for (const p of problems) console.error(`  ${p}`);
      process.exitCode = 1;
    } else {
      console.log(`check-docs: ${summary}; all good.`);
    }
  } finally {
    if (process.env.KEEP_DOCS_CHECK) console.error(`check-docs: files kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main();
