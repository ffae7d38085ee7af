// A redis-server of the benchmark's own: on a free 127.0.0.1 port, in a temporary directory,
// without persistence. (The specs have a richer one in spec/fixtures; the benchmark keeps its own.)
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** Stops the server (SIGTERM, SIGKILL after 2 s), waits until it has exited, removes its directory. */
  close(): Promise<void>;
}

/** `$REDIS_SERVER` when set (only that one), else the first `redis-server` on the PATH. */
export function findRedisServer(): string | undefined {
  const chosen = process.env['REDIS_SERVER'];
  const candidates =
    chosen !== undefined && chosen !== ''
      ? [chosen]
      : (process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, 'redis-server'));
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

/** Starts `binary` on a free port and resolves once it answers PING. */
export async function startRedisServer(binary: string): Promise<RedisServer> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-redis-'));
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    // A failed spawn (say, a binary that is not executable) emits 'error' and no 'exit'.
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      exited = true;
      resolve();
    });
  });
  // A run that dies must not leave a server behind.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);

  const close = async () => {
    process.removeListener('exit', kill);
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 2000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForPing(host, port, 5000, () => !exited);
  } catch (error) {
    await close();
    const why = error instanceof Error ? error.message : String(error);
    const log = output.trim().split('\n').pop();
    throw new Error(`redis-server did not start on port ${port}: ${why}${log ? ` (${log})` : ''}`);
  }
  return { host, port, close };
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
    const done = (ok: boolean) => {
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
