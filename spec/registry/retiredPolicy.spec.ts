// A configured policy a reload removes is brought back by a later reload that configures its name
// again only while someone holds it: the registry alone keeps none alive, so names of many
// deploys or tenants do not pile up. Measured in a child process with --expose-gc.
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runWithGc } from '../support/gcChild.js';

const fixture = fileURLToPath(new URL('../fixtures/retiredPolicy.js', import.meta.url));

describe('PolicyRegistry.reload: a removed policy', () => {
  it('is collectable once nobody holds it, and its name then starts fresh; a held one comes back', async function () {
    this.timeout(60_000);
    const stdout = await runWithGc(fixture);
    expect(JSON.parse(stdout.trim())).to.deep.equal({
      collected: true,
      droppedCalls: 0,
      keptSame: true,
      keptCalls: 1,
    });
  });
});
