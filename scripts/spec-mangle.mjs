// Gives the specs the package's shortened property names, for the run against dist/
// (scripts/build-specs.mjs --dist).
//
// A spec may read an internal member (`root.inFirstTurn`, a test double of a `Step` with its
// `settlesEarly`); against dist/ it must read it by the name the build gave it. esbuild renames by
// name alone, which would also rename a spec's own objects and a library's (an OpenTelemetry
// metric's `descriptor`, esbuild's `stdin.contents`), so the specs are rewritten here with the
// type checker instead: an occurrence of a shortened name is renamed only when it stands for an
// internal member declared in src/ (the member itself, or the member of src/'s type that a
// spec's class implements or a spec's object literal is written for). Everything else keeps
// its name, so a spec that reads a renamed name through `any` fails rather than passes.
import ts from 'typescript5';
import { resolve } from 'node:path';
import { isInternalDeclaration } from './mangle-names.mjs';

const repo = resolve(import.meta.dirname, '..');
const src = `${repo}/src/`;
const spec = `${repo}/spec/`;

/** Spec file -> its text with the internal names renamed (only files that change). */
export function mangleSpecs(mangleCache) {
  const config = ts.getParsedCommandLineOfConfigFile(
    resolve(repo, 'spec/tsconfig.json'),
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

  // A spec that casts a package object to a shape of its own (`(policy as { parts: ... }).parts`)
  // reads that object's internal members: the members of such a shape count as src/'s.
  const inCast = (decl) => {
    if (!ts.isPropertySignature(decl) && !ts.isMethodSignature(decl)) return false;
    for (let n = decl.parent; n !== undefined && !ts.isSourceFile(n); n = n.parent) {
      if (ts.isAsExpression(n) || ts.isTypeAssertionExpression(n)) return true;
      if (!ts.isTypeNode(n) && !ts.isPropertySignature(n) && !ts.isMethodSignature(n)) return false;
    }
    return false;
  };
  const internalInSrc = (declarations) =>
    declarations !== undefined &&
    declarations.length > 0 &&
    declarations.every(
      (d) => (d.getSourceFile().fileName.startsWith(src) && isInternalDeclaration(d)) || inCast(d),
    );

  /** The declarations a spec's class member stands for: its bases' and interfaces' members. */
  const inherited = (member) => {
    const cls = member.parent;
    const name = member.name.text;
    const found = [];
    for (const clause of cls.heritageClauses ?? []) {
      for (const t of clause.types) {
        const prop = checker.getTypeAtLocation(t).getProperty(name);
        if (prop?.declarations) found.push(...prop.declarations);
      }
    }
    return found;
  };

  /** The member `name` of the type an expression is written for, through unions. */
  const memberOf = (type, name) => {
    const prop = checker.getPropertyOfType(checker.getApparentType(type), name);
    if (prop !== undefined) return prop.declarations;
    if (type.isUnion()) return type.types.flatMap((t) => t.getProperty(name)?.declarations ?? []);
    return undefined;
  };

  // An object literal a spec keeps in a `const` before handing it on (`const env = { hub };
  // descriptor.step(keyed, env)`): what each use of the variable is written for.
  const throughVariable = (literal, name) => {
    const decl = literal.parent;
    if (!ts.isVariableDeclaration(decl) || decl.initializer !== literal) return undefined;
    if (!ts.isIdentifier(decl.name) || decl.type !== undefined) return undefined;
    const symbol = checker.getSymbolAtLocation(decl.name);
    const found = [];
    const visit = (node) => {
      if (
        ts.isIdentifier(node) &&
        node !== decl.name &&
        checker.getSymbolAtLocation(node) === symbol
      ) {
        const type = checker.getContextualType(node);
        if (type !== undefined) found.push(...(memberOf(type, name) ?? []));
      }
      ts.forEachChild(node, visit);
    };
    visit(decl.getSourceFile());
    return found.length > 0 ? found : undefined;
  };

  const contextual = (assignment) => {
    const type = checker.getContextualType(assignment.parent);
    if (type === undefined) return throughVariable(assignment.parent, assignment.name.text);
    const name = assignment.name.text;
    const prop = checker.getPropertyOfType(checker.getApparentType(type), name);
    if (prop !== undefined) return prop.declarations;
    if (type.isUnion()) return type.types.flatMap((t) => t.getProperty(name)?.declarations ?? []);
    return undefined;
  };

  const out = new Map();
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(spec) || file.isDeclarationFile) continue;
    const edits = [];
    const rename = (id, declarations) => {
      if (internalInSrc(declarations)) edits.push([id.getStart(), id.end, mangleCache[id.text]]);
    };
    const visit = (node) => {
      const name = node.name;
      if (name !== undefined && ts.isIdentifier(name) && Object.hasOwn(mangleCache, name.text)) {
        if (ts.isPropertyAccessExpression(node)) {
          rename(name, checker.getSymbolAtLocation(name)?.declarations);
        } else if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) {
          if (ts.isShorthandPropertyAssignment(node)) {
            const decls = contextual(node);
            if (internalInSrc(decls)) {
              edits.push([name.getStart(), name.end, `${mangleCache[name.text]}: ${name.text}`]);
            }
          } else {
            rename(name, contextual(node));
          }
        } else if (
          (ts.isPropertyDeclaration(node) ||
            ts.isMethodDeclaration(node) ||
            ts.isGetAccessorDeclaration(node) ||
            ts.isSetAccessorDeclaration(node)) &&
          ts.isClassLike(node.parent)
        ) {
          rename(name, inherited(node));
        } else if (ts.isMethodDeclaration(node) && ts.isObjectLiteralExpression(node.parent)) {
          rename(name, contextual(node));
        }
      }
      if (
        ts.isBindingElement(node) &&
        ts.isObjectBindingPattern(node.parent) &&
        Object.hasOwn(mangleCache, (node.propertyName ?? node.name).text ?? '')
      ) {
        const key = node.propertyName ?? node.name;
        const decls = checker.getTypeAtLocation(node.parent).getProperty(key.text)?.declarations;
        if (internalInSrc(decls)) {
          edits.push([
            key.getStart(),
            key.end,
            node.propertyName ? mangleCache[key.text] : `${mangleCache[key.text]}: ${key.text}`,
          ]);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
    if (edits.length === 0) continue;
    let text = file.text;
    for (const [start, end, name] of edits.sort((a, b) => b[0] - a[0])) {
      text = text.slice(0, start) + name + text.slice(end);
    }
    out.set(file.fileName, text);
  }
  return out;
}
