// Memory specs measure in a child process of their own, started with --expose-gc, so a
// collection can be forced and nothing else the test process holds is counted.
import { execFile } from 'node:child_process';

/** Runs `fixture` (a built script) in a child Node process with --expose-gc; its stdout. */
export function runWithGc(fixture: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', fixture],
      { timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${fixture} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}
