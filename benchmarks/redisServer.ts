// A real redis-server for the Redis benchmark and the Redis store specs (spec/fixtures imports it
// from here, since the benchmark build compiles benchmarks/ alone): started on a free 127.0.0.1
// port in a temporary directory, without persistence, and stoppable / restartable mid-run.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A redis-server child process owned by one benchmark suite or spec file. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** Whether the server is running. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, SIGKILL after 2 s) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port (a fresh, empty server) and waits until it answers PING. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

/**
 * The redis-server binary: `$REDIS_SERVER` when set (only that one), else the first
 * `redis-server` on the PATH or in /usr/bin, /usr/local/bin.
 */
export function findRedisServer(): string | undefined {
  const chosen = process.env.REDIS_SERVER;
  const candidates =
    chosen !== undefined && chosen !== ''
      ? [chosen]
      : [
          ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server')),
          '/usr/bin/redis-server',
          '/usr/local/bin/redis-server',
        ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Starts a redis-server on a free port and waits until it answers PING. */
export async function startRedisServer(binary: string): Promise<RedisServer> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    output = '';
    const proc = spawn(
      binary,
      ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    // A failed spawn (say, a binary that is not executable) emits 'error' and no 'exit'.
    proc.on('error', (error) => {
      keep(Buffer.from(String(error)));
      if (child === proc && proc.pid === undefined) child = undefined;
    });
    child = proc;
    try {
      await waitForPing(host, port, 5000, () => child === proc);
    } catch (error) {
      proc.kill('SIGKILL');
      const why = error instanceof Error ? error.message : String(error);
      const log = output.trim().split('\n').pop();
      throw new Error(
        `redis-server did not start on port ${port}: ${why}${log ? ` (${log})` : ''}`,
      );
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };

  // A run that dies must not leave a server behind.
  const onExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const close = async (): Promise<void> => {
    await stop();
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    host,
    port,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    close,
  };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(
  host: string,
  port: number,
  timeoutMs: number,
  alive: () => boolean,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error('the process exited');
    if (await ping(host, port)) return;
    if (performance.now() > deadline) throw new Error(`no PONG within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
