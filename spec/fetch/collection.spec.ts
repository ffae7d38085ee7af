// What a request follows goes with its response: a response being read follows the caller's
// signal even when nothing else references it, and a long-lived signal keeps no listener once
// the responses are collected. Measured in a child process (--expose-gc), against a real
// node:http server on 127.0.0.1.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('resilientFetch and collection', () => {
  for (const args of [[], ['--body-timeout']]) {
    const withBound =
      args.length > 0 ? ', with a bodyTimeout, and no timer once the bodies are read' : '';
    it(`keeps a dropped response's read following the caller, and nothing on the caller's signal once collected${withBound}`, async function () {
      this.timeout(60_000);
      const child = fileURLToPath(new URL('./gcChild.js', import.meta.url));
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--expose-gc', child, ...args],
          { timeout: 50_000 },
          (error, out, err) => {
            if (error) reject(new Error(`${child} failed: ${error.message}\n${err}`));
            else resolve(out);
          },
        );
      });
      const lines = stdout.trim().split('\n');
      const result = JSON.parse(lines[lines.length - 1] as string) as {
        droppedRead: string;
        listeners: number;
        timers: number;
      };
      expect(result.droppedRead).to.equal('caller gave up');
      expect(result.listeners).to.equal(0);
      expect(result.timers).to.equal(0);
    });
  }
});
