// Keeps docs/CONTRACT.md and the contract specs in step: every rule id a spec cites is a rule of
// the page, every spec file the page names for a rule cites that rule, and every spec file that
// cites a rule is named for it. A renamed spec or a renumbered rule fails here.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const page = readFileSync(join(root, 'docs', 'CONTRACT.md'), 'utf8');
const specDir = join(root, 'spec', 'contract');

/** Each rule of the page, with the spec files its `_Spec: ..._` note names. */
function rulesOfPage(): Map<string, Set<string>> {
  const rules = new Map<string, Set<string>>();
  const starts = [...page.matchAll(/^\d+\. \*\*(R-[A-Z]+-\d+)\*\*/gm)];
  starts.forEach((start, i) => {
    const end = starts[i + 1]?.index ?? page.length;
    const body = page.slice(start.index, end).split('\n## ')[0] ?? '';
    const note = /_Spec: ([^_]*)_/.exec(body)?.[1] ?? '';
    rules.set(start[1] as string, new Set(note.match(/[A-Za-z]+\.spec\.ts/g) ?? []));
  });
  return rules;
}

/** The spec files of spec/contract that cite each rule id. */
function citations(): Map<string, Set<string>> {
  const cited = new Map<string, Set<string>>();
  for (const file of readdirSync(specDir).filter((f) => f.endsWith('.spec.ts'))) {
    for (const [id] of readFileSync(join(specDir, file), 'utf8').matchAll(/R-[A-Z]+-\d+/g)) {
      if (!cited.has(id)) cited.set(id, new Set());
      cited.get(id)?.add(file);
    }
  }
  return cited;
}

describe('contract: the rules page and the contract specs agree', () => {
  const rules = rulesOfPage();
  const cited = citations();

  it('every rule id appears once on the page', () => {
    const ids = [...page.matchAll(/^\d+\. \*\*(R-[A-Z]+-\d+)\*\*/gm)].map((m) => m[1]);
    expect(ids.length).to.be.greaterThan(100);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('every rule a contract spec cites is on the page', () => {
    expect([...cited.keys()].filter((id) => !rules.has(id))).to.deep.equal([]);
  });

  it('the spec files the page names for a rule are exactly those that cite it', () => {
    const mismatches: string[] = [];
    for (const [id, named] of rules) {
      const citing = cited.get(id) ?? new Set<string>();
      const missing = [...named].filter((f) => !citing.has(f));
      const unnamed = [...citing].filter((f) => !named.has(f));
      if (missing.length > 0) mismatches.push(`${id}: named but not citing ${missing.join(', ')}`);
      if (unnamed.length > 0) mismatches.push(`${id}: citing but not named ${unnamed.join(', ')}`);
    }
    expect(mismatches).to.deep.equal([]);
  });
});
