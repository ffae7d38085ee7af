// A configured policy a reload removes is brought back by a later reload that configures its name
// again only while someone holds it: the registry alone keeps none alive, so names of many
// deploys or tenants do not pile up. Measured in a child process with --expose-gc.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../fixtures/retiredPolicy.js', import.meta.url));

describe('PolicyRegistry.reload: a removed policy', () => {
  it('is collectable once nobody holds it, and its name then starts fresh; a held one comes back', async function () {
    this.timeout(60_000);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--expose-gc', fixture],
        { timeout: 60_000 },
        (error, out, err) => {
          if (error) reject(new Error(`${fixture} failed: ${error.message}\n${err}`));
          else resolve(out);
        },
      );
    });
    expect(JSON.parse(stdout.trim())).to.deep.equal({
      collected: true,
      droppedCalls: 0,
      keptSame: true,
      keptCalls: 1,
    });
  });
});
