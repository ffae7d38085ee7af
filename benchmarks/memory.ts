// The parent side of the memory scenarios: one child process per measurement.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Library } from './scenarios/types.js';

export interface GrowthResult {
  readonly calls: number;
  readonly growthBytes: number;
}

export interface IdleResult {
  readonly instances: number;
  readonly bytesPerInstance: number;
  readonly timersHeld: number;
}

const child = fileURLToPath(new URL('./memory-child.js', import.meta.url));

export function heapGrowth(library: Library, calls: number): Promise<GrowthResult> {
  return run('growth', library, calls);
}

export function idleInstances(library: Library, instances: number): Promise<IdleResult> {
  return run('idle', library, instances);
}

function run<T>(kind: string, library: Library, count: number): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', child, kind, library, String(count)],
      { timeout: 300_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`memory ${kind} ${library} failed: ${stderr.trim() || error.message}`));
          return;
        }
        const last = stdout.trim().split('\n').pop() ?? '';
        resolve(JSON.parse(last) as T);
      },
    );
  });
}
