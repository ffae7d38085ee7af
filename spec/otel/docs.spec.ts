// The instruments the README's OpenTelemetry section and docs/OBSERVABILITY.md's table name are
// the ones `instrument` creates: none missing, none that does not exist.
import type { Meter } from '@opentelemetry/api';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { instrument } from '../../src/otel/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

/** Every instrument name `instrument` asks a meter for. */
function created(): string[] {
  const names: string[] = [];
  const make = (name: string) => {
    names.push(name);
    return { add() {}, record() {} };
  };
  const meter = {
    createCounter: make,
    createHistogram: make,
    createObservableGauge: make,
    addBatchObservableCallback() {},
    removeBatchObservableCallback() {},
  } as unknown as Meter;
  instrument(Policy.builder('p').build(), { meter })();
  return names.sort();
}

/** The `bulwark.*` instrument names in `text`, once each, sorted. */
function named(text: string): string[] {
  return [
    ...new Set([...text.matchAll(/`(bulwark\.[a-z.]+[a-z])`/g)].map((m) => m[1] as string)),
  ].sort();
}

describe('the documented instruments', () => {
  it("are the README's OpenTelemetry section's, every one", () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('### Health and OpenTelemetry');
    const end = readme.indexOf('\n## ', start);
    expect(start).to.be.greaterThan(-1);
    expect(named(readme.slice(start, end))).to.deep.equal(created());
  });

  it("are docs/OBSERVABILITY.md's table's, every one", () => {
    const rows = readFileSync('docs/OBSERVABILITY.md', 'utf8')
      .split('\n')
      .filter((line) => /^\| `bulwark\./.test(line))
      .join('\n');
    expect(named(rows)).to.deep.equal(created());
  });
});
