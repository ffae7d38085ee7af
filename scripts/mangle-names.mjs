// Lists the internal property names the package build may shorten (esbuild `mangleProps`).
//
// A consumer's minifier renames local variables but never a property, so every long member name
// of ours (`slotTracked`, `callerSignal`, ...) ships whole in each bundle. esbuild renames
// properties by NAME, everywhere at once, so a name may be shortened only when no occurrence of it
// anywhere in src/ can be seen from outside the package. This reads src/ with the TypeScript
// compiler (its JavaScript API, from the `typescript5` devDependency) and keeps a name only when:
//
// - it is declared somewhere in src/ as an internal member: `private` or `protected`, or tagged
//   `@internal` (the member itself or a declaration around it: class, interface, type, function,
//   variable), so `stripInternal` leaves it out of the declarations (private members excepted,
//   which the build renames there too);
// - every declaration of it is such an internal member: never a member of a public type (options,
//   snapshots, events, stores, `toJSON()` output), of the ES/DOM libraries or of a dependency's
//   types (`handleEvent`, `then`, `signal`, a Redis or OpenTelemetry method);
// - every occurrence of it as a property (`a.name`, `{ name: ... }`, `{ name }`, a destructured
//   `name`, a member declaration) resolves, for the type checker, to such declarations only:
//   never a property of `any`, of an index signature (`Record<string, unknown>`, which `state()`
//   and the like hand out) or of an object literal no internal type describes;
// - it is never a string anywhere in src/ (`obj['name']`, `'name' in obj`, `Object.defineProperty`,
//   a list of method names): esbuild leaves quoted names alone, so such a read would miss;
// - it is longer than two characters (a shorter one gains nothing).
//
// Names that cross package copies by design are not properties: the brands that let a check
// recognise another copy's errors are `Symbol.for` keys.
//
//   node scripts/mangle-names.mjs          prints the names, one a line
//   import { mangledNames } from './mangle-names.mjs'   (build.mjs)
import ts from 'typescript5';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(import.meta.dirname, '..');

/** Names every object may have by protocol, whatever the declarations say. */
const PROTOCOL = new Set([
  'constructor',
  'prototype',
  'then',
  'catch',
  'finally',
  'toJSON',
  'toString',
  'valueOf',
  'handleEvent',
  'next',
  'return',
  'throw',
  'done',
  'value',
  'length',
  'name',
  'message',
  'stack',
  'cause',
  'default',
  '__proto__',
]);

function hasInternalTag(node) {
  return (
    ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal') ||
    // A leading `/** @internal ... */` on a statement that holds several declarations.
    (ts.getJSDocCommentsAndTags(node) ?? []).some(
      (doc) => ts.isJSDoc(doc) && (doc.tags ?? []).some((t) => t.tagName.text === 'internal'),
    )
  );
}

/** True when a member declaration is internal: private/protected, or under an `@internal` tag. */
export function isInternalDeclaration(decl) {
  const modifiers = ts.canHaveModifiers(decl) ? (ts.getModifiers(decl) ?? []) : [];
  if (
    modifiers.some(
      (m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword,
    )
  ) {
    return true;
  }
  for (let node = decl; node !== undefined && !ts.isSourceFile(node); node = node.parent) {
    if (hasInternalTag(node)) return true;
  }
  return false;
}

/** The declaration files of the ES/DOM libraries, Node and the dependencies the adapters drive. */
function declarationFiles() {
  const roots = [
    resolve(repo, 'node_modules/typescript5/lib'),
    resolve(repo, 'node_modules/@types/node'),
    resolve(repo, 'node_modules/ioredis/built'),
    resolve(repo, 'node_modules/@redis/client/dist'),
    resolve(repo, 'node_modules/@opentelemetry/api/build/src'),
  ];
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      // typescript5/lib also holds the compiler's own API (typescript.d.ts): only its lib.*.d.ts.
      else if (entry.name.endsWith('.d.ts') && !/typescript5[\\/]lib[\\/](?!lib\.)/.test(path)) {
        files.push(path);
      }
    }
  };
  for (const root of roots) if (existsSync(root)) walk(root);
  return files.map((file) =>
    ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true),
  );
}

const isSrc = (file) => file.fileName.startsWith(`${repo}/src/`) && !file.isDeclarationFile;

/** The names and what the checker says of them. */
export function mangledNames() {
  const config = ts.getParsedCommandLineOfConfigFile(
    resolve(repo, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const checker = program.getTypeChecker();

  const internal = new Set(); // declared internal somewhere in src/
  const provided = new Set(); // given a value by our code: a class member or an object literal's
  const unsafe = new Map(); // name -> first reason it must keep its name

  const refuse = (name, why) => {
    if (!unsafe.has(name)) unsafe.set(name, why);
  };
  const where = (node) => {
    const file = node.getSourceFile();
    const { line } = file.getLineAndCharacterOfPosition(node.getStart());
    return `${file.fileName.slice(repo.length + 1)}:${line + 1}`;
  };

  /** Judges the declarations a property occurrence resolves to. */
  const judge = (name, declarations, at) => {
    if (declarations === undefined || declarations.length === 0) {
      refuse(name, `unresolved at ${where(at)}`);
      return;
    }
    for (const decl of declarations) {
      const file = decl.getSourceFile();
      if (!isSrc(file)) {
        refuse(name, `declared outside src/ (${file.fileName.split('/node_modules/').pop()})`);
      } else if (!isMember(decl)) {
        refuse(name, `not a member at ${where(decl)}`);
      } else if (!isInternalDeclaration(decl)) {
        refuse(name, `public at ${where(decl)}`);
      }
    }
  };

  const isMember = (decl) =>
    ts.isPropertyDeclaration(decl) ||
    ts.isMethodDeclaration(decl) ||
    ts.isGetAccessorDeclaration(decl) ||
    ts.isSetAccessorDeclaration(decl) ||
    ts.isPropertySignature(decl) ||
    ts.isMethodSignature(decl);

  // Names of the libraries' and dependencies' members: never ours to rename. Besides the files the
  // program reads, every ES/DOM library and the types of Node, the Redis clients and
  // OpenTelemetry: an internal interface may describe one of their objects (`V8Error`).
  const foreign = [
    ...program.getSourceFiles().filter((file) => !isSrc(file)),
    ...declarationFiles(),
  ];
  for (const file of foreign) {
    const visit = (node) => {
      if (
        (ts.isPropertySignature(node) ||
          ts.isMethodSignature(node) ||
          ts.isPropertyDeclaration(node) ||
          ts.isMethodDeclaration(node) ||
          ts.isGetAccessorDeclaration(node) ||
          ts.isSetAccessorDeclaration(node)) &&
        node.name !== undefined &&
        ts.isIdentifier(node.name)
      ) {
        refuse(node.name.text, `a member in ${file.fileName.split('/').slice(-2).join('/')}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  for (const file of program.getSourceFiles()) {
    if (!isSrc(file)) continue;
    const visit = (node) => {
      // Runtime strings: any name spelled as one is read by a string key somewhere.
      if (
        (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
        !isInType(node)
      ) {
        refuse(node.text, `a string at ${where(node)}`);
      } else if (ts.isTemplateExpression(node)) {
        for (const part of [node.head, ...node.templateSpans.map((s) => s.literal)]) {
          for (const word of part.text.match(/[A-Za-z_$][\w$]*/g) ?? []) {
            refuse(word, `in a template at ${where(node)}`);
          }
        }
      }

      if (isMember(node) && node.name !== undefined && ts.isObjectLiteralExpression(node.parent)) {
        // A method or accessor of an object literal stands for its contextual type's member.
        if (ts.isIdentifier(node.name)) {
          provided.add(node.name.text);
          judge(node.name.text, contextualDeclarations(node), node);
        } else if (ts.isStringLiteral(node.name)) {
          refuse(node.name.text, `quoted at ${where(node)}`);
        }
      } else if (isMember(node) && node.name !== undefined) {
        if (ts.isIdentifier(node.name) && inCast(node)) {
          // `(x as { atRest?: unknown }).atRest`: a cast describes an object from anywhere, of
          // any copy of the package (Keyed asks any instance `atRest()`).
          refuse(node.name.text, `read through a cast at ${where(node)}`);
        } else if (ts.isIdentifier(node.name)) {
          const name = node.name.text;
          if (ts.isClassLike(node.parent)) provided.add(name);
          if (isInternalDeclaration(node)) internal.add(name);
          else refuse(name, `public at ${where(node)}`);
          // A class member that implements or overrides another type's member: judge that too.
          const symbol = checker.getSymbolAtLocation(node.name);
          judge(name, symbol?.declarations, node);
        } else if (ts.isStringLiteral(node.name)) {
          // A quoted member name: esbuild leaves it alone, so no one may shorten it elsewhere.
          refuse(node.name.text, `quoted at ${where(node)}`);
        }
      } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.name)) {
        const symbol = checker.getSymbolAtLocation(node.name);
        judge(node.name.text, symbol?.declarations, node);
      } else if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) {
        if (ts.isIdentifier(node.name)) {
          provided.add(node.name.text);
          judge(node.name.text, contextualDeclarations(node), node);
        } else if (ts.isStringLiteral(node.name)) {
          refuse(node.name.text, `quoted at ${where(node)}`);
        }
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const key = node.propertyName ?? node.name;
        if (ts.isIdentifier(key)) {
          const type = checker.getTypeAtLocation(node.parent);
          const prop = type.getProperty(key.text);
          judge(key.text, prop?.declarations, node);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  /**
   * What an object literal's property stands for: the member of the literal's contextual type
   * (the parameter, variable or return type it is written for), not the literal itself.
   */
  function contextualDeclarations(node) {
    const literal = node.parent;
    const type = checker.getContextualType(literal);
    if (type === undefined) return undefined;
    const prop = checker.getPropertyOfType(checker.getApparentType(type), node.name.text);
    if (prop !== undefined) return prop.declarations;
    // A union: each member that has the property.
    if (type.isUnion()) {
      const decls = type.types.flatMap((t) => t.getProperty(node.name.text)?.declarations ?? []);
      return decls.length > 0 ? decls : undefined;
    }
    return undefined;
  }

  function inCast(decl) {
    for (let n = decl.parent; n !== undefined && !ts.isSourceFile(n); n = n.parent) {
      if (ts.isAsExpression(n) || ts.isTypeAssertionExpression(n) || ts.isSatisfiesExpression(n)) {
        return true;
      }
      if (!ts.isTypeNode(n) && !ts.isPropertySignature(n) && !ts.isMethodSignature(n)) return false;
    }
    return false;
  }

  function isInType(node) {
    for (let n = node.parent; n !== undefined; n = n.parent) {
      if (ts.isTypeNode(n)) return true;
      if (ts.isStatement(n) || ts.isExpression(n)) {
        if (ts.isLiteralTypeNode(n)) return true;
        if (!ts.isTypeNode(n)) return false;
      }
    }
    return false;
  }

  // An internal interface member that no class or object literal of ours gives a value describes
  // someone else's object (`V8Error.stackTraceLimit`).
  for (const name of internal) {
    if (!provided.has(name)) refuse(name, 'no class or object literal of src/ defines it');
  }
  for (const name of internal) if (name.length <= 2) refuse(name, 'too short to gain');
  for (const name of internal) if (PROTOCOL.has(name)) refuse(name, 'a protocol name');

  const names = [...internal].filter((name) => !unsafe.has(name)).sort();
  const kept = [...internal].filter((name) => unsafe.has(name)).sort();
  return { names, kept: Object.fromEntries(kept.map((name) => [name, unsafe.get(name)])) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { names, kept } = mangledNames();
  if (process.argv.includes('--why')) {
    for (const [name, why] of Object.entries(kept)) console.log(`keep ${name}: ${why}`);
  }
  for (const name of names) console.log(name);
}
