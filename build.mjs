// Builds the package: esbuild emits the ESM and CJS JavaScript, tsc emits the declarations,
// which are copied next to each format (.d.ts for ESM, .d.cts for CJS).
//
// The core's ESM build is one module per source file (not a bundle), so a bundler importing
// `{ Retry }` keeps only the modules Retry reaches: with `"sideEffects": false` in package.json,
// every other module is dropped whole. The CJS build and the adapters stay bundled.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript5';
import { mangledNames } from './scripts/mangle-names.mjs';

/** Public entry points: export path -> source file. */
const entries = Object.fromEntries(
  Object.entries({
    index: 'src/index.ts',
    'redis/index': 'src/redis/index.ts',
    'otel/index': 'src/otel/index.ts',
    'fetch/index': 'src/fetch/index.ts',
  }).filter(([, file]) => existsSync(file)),
);

// The adapters (bulwark/redis, bulwark/otel, bulwark/fetch) import the core through
// '../index.js'. At run time that must be the package's own core entry, not a second bundled
// copy, so classes and `instanceof` checks are shared: rewrite it to an external import of
// 'bulwark'.
const coreAsExternal = {
  name: 'core-as-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) =>
      /[\\/]src[\\/](redis|otel|fetch)[\\/]/.test(args.importer)
        ? { path: 'bulwark', external: true }
        : undefined,
    );
  },
};

// A module-level constant made by a call (`const DEFAULTS = Object.freeze({...})`) reads to a
// bundler as a side effect and keeps its module alive even when nothing uses it. These calls have
// none, so the ESM build marks them `/* @__PURE__ */` wherever their value is used (after `=`,
// `(`, `[`, `,`, `:` or `?`; never a statement such as `Object.freeze(this);`, which a bundler
// would then drop). spec/contract/package.spec.ts checks that importing any core module for
// nothing bundles to nothing.
const PURE_CALLS = /([=([,:?]\s*)(Object\.freeze\(|Symbol\.for\(|Promise\.resolve\(\))/g;
const markPureCalls = {
  name: 'mark-pure-calls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(PURE_CALLS, '$1/* @__PURE__ */ $2'),
      loader: 'ts',
    }));
  },
};

rmSync('dist', { recursive: true, force: true });

// Internal property names are shortened: a consumer's minifier renames variables but never a
// property, so `slotTracked` or `callerSignal` would otherwise ship whole in every bundle.
// scripts/mangle-names.mjs lists the names no one outside the package can see (internal members
// that are never public, foreign, quoted or read by a string key). esbuild renames a property by
// its name in every file it builds, so all builds share one cache, made first from every source
// file at once: the per-module ESM build, the CJS bundle and the adapters (which reach into the
// core's internals) then agree on each name, and no build may add a name of its own.
// MANGLE=0 builds without it, to measure what it saves (node scripts/size-report.mjs).
const { names: internalNames } = process.env.MANGLE === '0' ? { names: [] } : mangledNames();
// (An empty list matches only the empty name, which only a quoted key has: nothing is renamed.)
const mangleProps = new RegExp(`^(?:${internalNames.join('|')})$`);
const { mangleCache } = await build({
  entryPoints: walk('src').filter((file) => file.endsWith('.ts')),
  bundle: false,
  write: false,
  outdir: 'dist/.mangle',
  logLevel: 'warning',
  plugins: [markPureCalls],
  mangleProps,
  mangleCache: {},
});
// Every short name starts with `$_`: esbuild would otherwise pick the shortest free names (`a`,
// `b`, ...), and a user's subclass with a field of such a name would overwrite the member it
// replaced (`class C extends Fallback { a = 0 }`), which the declarations, without `@internal`
// members, cannot warn of.
for (const name of Object.keys(mangleCache)) {
  if (typeof mangleCache[name] === 'string') mangleCache[name] = `$_${mangleCache[name]}`;
}
const mangling = { mangleProps, mangleCache };
// Kept (out of the package) for the specs run against dist/ (scripts/build-specs.mjs --dist).
mkdirSync('.tmp', { recursive: true });
writeFileSync('.tmp/mangle-cache.json', `${JSON.stringify(mangleCache, null, 2)}\n`);
function sameCache(result) {
  const added = Object.keys(result.mangleCache).filter((name) => !(name in mangleCache));
  if (added.length > 0) throw new Error(`a build mangled names of its own: ${added.join(', ')}`);
}

const common = {
  entryPoints: entries,
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  external: ['@opentelemetry/api', 'ioredis', 'redis'],
  // The Redis stores' Lua scripts (src/redis/scripts/*.lua) are inlined as strings: the package
  // never reads a file at run time.
  loader: { '.lua': 'text' },
  logLevel: 'warning',
  plugins: [coreAsExternal, markPureCalls],
  ...mangling,
};

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The core's source modules: everything under src/ but the adapters. */
const coreModules = walk('src').filter(
  (file) => file.endsWith('.ts') && !/^src[\\/](redis|otel|fetch)[\\/]/.test(file),
);
const adapters = Object.fromEntries(Object.entries(entries).filter(([name]) => name !== 'index'));

const results = await Promise.all([
  build({
    entryPoints: coreModules,
    bundle: false,
    platform: 'neutral',
    target: common.target,
    sourcemap: true,
    logLevel: common.logLevel,
    plugins: [markPureCalls],
    outbase: 'src',
    format: 'esm',
    outdir: 'dist/esm',
    ...mangling,
  }),
  build({ ...common, entryPoints: adapters, format: 'esm', outdir: 'dist/esm' }),
  build({ ...common, format: 'cjs', outdir: 'dist/cjs', outExtension: { '.js': '.cjs' } }),
]);
results.forEach(sameCache);

// A bundled class that names itself in its body is emitted as `var Bulkhead = class _Bulkhead`,
// and would print as `_Bulkhead`. The CJS bundles give each such class its own name back once,
// at the end of the module (esbuild's `keepNames` would also wrap every closure made per call in
// a naming helper). The ESM core is not bundled, and the ESM adapters name no class in its body.
for (const file of walk('dist/cjs')) {
  if (!file.endsWith('.cjs')) continue;
  const text = readFileSync(file, 'utf8');
  const renamed = [...text.matchAll(/\bvar (\w+) = class _\1\b/g)].map((m) => m[1]);
  if (renamed.length === 0) continue;
  const naming = renamed
    .map((name) => `Object.defineProperty(${name}, "name", { value: "${name}" });\n`)
    .join('');
  const map = text.lastIndexOf('//# sourceMappingURL=');
  const at = map === -1 ? text.length : map;
  writeFileSync(file, text.slice(0, at) + naming + text.slice(at));
}

// In Node (and in Deno and Bun, which match its condition too) `import` resolves to a wrapper
// that re-exports the CommonJS build (package.json: `exports[...].import.node`), so an ES module
// application and a CommonJS dependency that load bulwark share one copy: the same classes, and
// wrappers that stack as one, typed by the CommonJS declarations (a `.d.mts` beside each wrapper
// re-exports them). Browsers and browser bundles keep the ESM build. Each wrapper names
// what its CommonJS module exports, read by loading it (the adapters load the core through
// `require('bulwark')`, the package's own CommonJS entry).
const requireBuilt = createRequire(import.meta.url);
for (const name of Object.keys(entries)) {
  const cjs = resolve(`dist/cjs/${name}.cjs`);
  const names = Object.keys(requireBuilt(cjs));
  if (names.length === 0 || names.some((n) => !/^[A-Za-z_$][\w$]*$/.test(n))) {
    throw new Error(`dist/cjs/${name}.cjs: exports no names a wrapper can give: ${names}`);
  }
  const wrapper = resolve(`dist/node/${name}.mjs`);
  mkdirSync(dirname(wrapper), { recursive: true });
  const from = relative(dirname(wrapper), cjs).split('\\').join('/');
  // The optional peers its CommonJS module requires are imported first. Node 20 cannot reject an
  // `import()` cleanly when a CommonJS module that an ES module imports throws while it loads
  // (the rejection is caught, then the same error ends the process as uncaught), and a missing
  // peer is such a throw: `try { await import('bulwark/otel') } catch {}` without
  // @opentelemetry/api would exit. Imported by the wrapper, a missing peer fails to resolve before
  // any module runs, and the import rejects as any other; a peer that is there is the one module
  // the CommonJS `require` then takes from Node's cache. (Loading the CommonJS module through
  // `createRequire` would avoid the bug too, but a bundler cannot follow it: a Node bundle of the
  // application would keep a path to a file it did not bundle.)
  const text = readFileSync(cjs, 'utf8');
  const peers = common.external.filter((peer) => text.includes(`require(${JSON.stringify(peer)})`));
  writeFileSync(
    wrapper,
    `// bulwark in Node: the CommonJS build, so \`import\` and \`require\` load one copy.\n` +
      peers.map((peer) => `import ${JSON.stringify(peer)};\n`).join('') +
      `import cjs from ${JSON.stringify(from)};\n` +
      `export const {\n${names.map((n) => `  ${n},\n`).join('')}} = cjs;\n`,
  );
  // Its types are the CommonJS declarations, re-exported, so that an ES module typed through it
  // (moduleResolution node16 or nodenext) and a CommonJS module see one declaration of each
  // class, as they share one class at run time.
  writeFileSync(
    wrapper.replace(/\.mjs$/, '.d.mts'),
    `// bulwark in Node: the CommonJS build's declarations, as its code is the CommonJS build's.\n` +
      `export * from ${JSON.stringify(from)};\n`,
  );
}

execFileSync(
  process.execPath,
  ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'],
  {
    stdio: 'inherit',
  },
);

// The declarations name no shortened property. `stripInternal` drops the `@internal` members, but
// a private one stays (`private readonly parts;`, no type), so that TypeScript keeps the class
// nominal and sees a subclass's member of the same name clash: it takes the name the JavaScript
// has. Any other member with a shortened name would be a public one mangled: the build fails.
for (const file of walk('dist/types')) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edits = [];
  const visit = (node) => {
    if (
      node.name !== undefined &&
      ts.isIdentifier(node.name) &&
      Object.hasOwn(mangleCache, node.name.text) &&
      (ts.isPropertyDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isGetAccessorDeclaration(node) ||
        ts.isSetAccessorDeclaration(node) ||
        ts.isPropertySignature(node) ||
        ts.isMethodSignature(node))
    ) {
      const isPrivate = (ts.getModifiers(node) ?? []).some(
        (m) => m.kind === ts.SyntaxKind.PrivateKeyword,
      );
      if (!isPrivate) {
        throw new Error(`${file}: declares \`${node.name.text}\`, which the build shortens`);
      }
      edits.push([node.name.getStart(), node.name.end, mangleCache[node.name.text]]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let out = text;
  for (const [start, end, name] of edits.reverse())
    out = out.slice(0, start) + name + out.slice(end);
  if (out !== text) writeFileSync(file, out);
}

// An export that `stripInternal` drops (the core's helpers for the adapters, `@internal`) leaves
// the import that fed it: `import { show } from './internal/validate.js'` at the top of
// index.d.ts, naming a helper that no declaration uses. The names a declaration file imports and
// never uses are dropped, and an import left with none goes.
for (const file of walk('dist/types')) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const used = new Set();
  const collect = (node) => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node)) used.add(node.text);
    ts.forEachChild(node, collect);
  };
  collect(source);
  const edits = [];
  for (const statement of source.statements) {
    const clause = ts.isImportDeclaration(statement) ? statement.importClause : undefined;
    const named = clause?.namedBindings;
    // Only `import { a, b } from '...'` (and its `import type` form): nothing else is emitted so.
    if (clause === undefined || clause.name !== undefined || !named || !ts.isNamedImports(named)) {
      continue;
    }
    const kept = named.elements.filter((element) => used.has(element.name.text));
    if (kept.length === named.elements.length) continue;
    // The whole line, with its line break, when no name is left.
    const end = text[statement.end] === '\n' ? statement.end + 1 : statement.end;
    edits.push(
      kept.length === 0
        ? [statement.getStart(), end, '']
        : [named.getStart(), named.end, `{ ${kept.map((e) => e.getText()).join(', ')} }`],
    );
  }
  let out = text;
  for (const [start, end, replacement] of edits.reverse()) {
    out = out.slice(0, start) + replacement + out.slice(end);
  }
  if (out !== text) writeFileSync(file, out);
}

mkdirSync('dist/esm', { recursive: true });
cpSync('dist/types', 'dist/esm', { recursive: true });
for (const file of walk('dist/types')) {
  if (!file.endsWith('.d.ts')) continue;
  const target = join('dist/cjs', file.slice('dist/types/'.length)).replace(/\.d\.ts$/, '.d.cts');
  mkdirSync(join(target, '..'), { recursive: true });
  // Relative imports in CJS declarations must point at .cjs siblings.
  const text = readFileSync(file, 'utf8')
    .replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.cjs$2')
    .replace(/(import\(['"]\.{1,2}\/[^'"]*?)\.js(['"]\))/g, '$1.cjs$2');
  writeFileSync(target, text);
}
rmSync('dist/types', { recursive: true, force: true });
