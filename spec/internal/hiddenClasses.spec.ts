// Every primitive keeps fast properties and one hidden class per kind of instance, checked by V8
// itself in a child process (spec/fixtures/hiddenClasses.ts). An instance that turns into a
// dictionary (a data property redefined as an accessor) or carries a hidden class of its own (an
// accessor made per instance) makes the code all instances share slower, for every policy in the
// process: one adaptive bulkhead made a plain bulkhead stage about 40% slower.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../fixtures/hiddenClasses.js', import.meta.url));

function runChild(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--allow-natives-syntax', fixture],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${fixture} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

describe('Hidden classes of the primitives', () => {
  it('keeps every instance fast, and two instances made alike on one hidden class', async function () {
    this.timeout(60_000);
    const lines = (await runChild()).trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1] as string) as Record<
      string,
      { fast: boolean; sameMap: boolean }
    >;
    expect(Object.keys(result)).to.include.members([
      'Bulkhead, adaptive limit',
      'Hedge',
      'Chaos',
      'Policy, every stage',
    ]);
    const slow = Object.entries(result)
      .filter(([, r]) => !r.fast)
      .map(([name]) => name);
    const ownClass = Object.entries(result)
      .filter(([, r]) => !r.sameMap)
      .map(([name]) => name);
    expect(slow, 'instances with dictionary properties').to.deep.equal([]);
    expect(ownClass, 'instances with a hidden class of their own').to.deep.equal([]);
  });
});
