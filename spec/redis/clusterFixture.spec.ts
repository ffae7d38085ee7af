// The Redis Cluster fixture the cluster specs run on: it retries `redis-cli --cluster create`,
// reports what redis-cli printed (stdout, where it writes its own errors, and stderr) when every
// attempt failed, and clears what an interrupted run of this checkout left behind (its nodes and
// directory) without touching the clusters of live runs or of other checkouts.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLUSTER_DIR_PREFIX,
  CREATE_ATTEMPTS,
  OWNER_FILE,
  findRedisCli,
  removeStaleClusters,
  startRedisCluster,
} from '../fixtures/redisCluster.js';
import { requireRedisServer } from '../fixtures/redisServer.js';
import { rejectionOf } from '../support/promises.js';

describe('The Redis Cluster fixture', function () {
  let binary: string;
  let cli: string;
  let work: string;

  before(function () {
    binary = requireRedisServer(this);
    const found = findRedisCli(binary);
    if (found === undefined) throw new Error(`redis-cli not found beside ${binary}`);
    cli = found;
  });

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'bulwark-cluster-fixture-'));
  });

  afterEach(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * A redis-cli that runs `--cluster create` as `create` says (its attempts counted in a file)
   * and passes every other command to the real one.
   */
  function fakeCli(create: string): { path: string; attempts: () => number } {
    const path = join(work, 'redis-cli');
    const count = join(work, 'attempts');
    writeFileSync(
      path,
      `#!/bin/sh\nif [ "$1" = "--cluster" ]; then\n  echo x >> '${count}'\n  n=$(wc -l < '${count}')\n${create}\nfi\nexec '${cli}' "$@"\n`,
    );
    chmodSync(path, 0o755);
    return {
      path,
      attempts: () => (existsSync(count) ? readFileSync(count, 'utf8').split('\n').length - 1 : 0),
    };
  }

  it(`reports redis-cli's stdout and stderr once ${CREATE_ATTEMPTS} attempts at the create failed`, async function () {
    this.timeout(60_000);
    const fake = fakeCli(
      `  echo "[ERR] Node 127.0.0.1:1 is not empty (attempt $n)"\n  echo "warning $n" >&2\n  exit 1`,
    );
    const error = (await rejectionOf(
      startRedisCluster(binary, fake.path, 3, { retryDelayMs: 10 }),
    )) as Error;
    expect(fake.attempts()).to.equal(CREATE_ATTEMPTS);
    expect(error.message).to.include(`failed ${CREATE_ATTEMPTS} times`);
    for (let n = 1; n <= CREATE_ATTEMPTS; n++) {
      expect(error.message).to.include(`[ERR] Node 127.0.0.1:1 is not empty (attempt ${n})`);
      expect(error.message).to.include(`warning ${n}`);
    }
    expect(error.message).to.include('exit code 1');
  });

  it('creates the cluster when an attempt that failed part way leaves the nodes half joined', async function () {
    this.timeout(60_000);
    // The first attempt joins the nodes (so that they are no longer empty), then fails.
    const fake = fakeCli(
      `  if [ "$n" = 1 ]; then '${cli}' "$@" > /dev/null; echo "interrupted"; exit 1; fi`,
    );
    const cluster = await startRedisCluster(binary, fake.path, 3, { retryDelayMs: 10 });
    try {
      expect(fake.attempts()).to.equal(2);
      for (const port of cluster.ports) {
        const info = await cluster.command(port, 'CLUSTER', 'INFO');
        expect(info).to.include('cluster_state:ok');
        expect(info).to.include('cluster_known_nodes:3');
      }
    } finally {
      await cluster.close();
    }
  });

  describe('clearing what an interrupted run left behind', () => {
    const nodes: ChildProcess[] = [];

    afterEach(() => {
      for (const node of nodes.splice(0)) node.kill('SIGKILL');
    });

    /** A cluster directory with an owner file (if given), and a redis-server running in it. */
    async function leftover(owner: { pid: number; cwd: string } | undefined): Promise<{
      dir: string;
      node: ChildProcess;
    }> {
      const dir = mkdtempSync(join(work, CLUSTER_DIR_PREFIX));
      if (owner !== undefined) writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
      const nodeDir = join(dir, 'node');
      mkdirSync(nodeDir);
      // Listening on a socket in its directory only: no port to share with anything.
      const node = spawn(
        binary,
        ['--port', '0', '--unixsocket', join(nodeDir, 's'), '--dir', nodeDir, '--save', ''],
        { stdio: 'ignore' },
      );
      nodes.push(node);
      const deadline = performance.now() + 10_000;
      while (!existsSync(join(nodeDir, 's'))) {
        if (performance.now() > deadline) throw new Error('redis-server did not start');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { dir, node };
    }

    async function exitedPid(): Promise<number> {
      const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      await new Promise((resolve) => child.once('exit', resolve));
      return child.pid as number;
    }

    function running(node: ChildProcess): boolean {
      return node.exitCode === null && node.signalCode === null;
    }

    it('stops the nodes of a run of this checkout that is gone and removes its directory', async function () {
      this.timeout(30_000);
      const gone = await leftover({ pid: await exitedPid(), cwd: process.cwd() });
      const live = await leftover({ pid: process.pid, cwd: process.cwd() });
      const elsewhere = await leftover({ pid: await exitedPid(), cwd: join(work, 'other') });
      const unowned = await leftover(undefined);

      await removeStaleClusters(work);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(running(gone.node), "the interrupted run's node").to.equal(false);
      expect(existsSync(gone.dir)).to.equal(false);
      expect(running(live.node), "a live run's node").to.equal(true);
      expect(existsSync(live.dir)).to.equal(true);
      expect(running(elsewhere.node), "another checkout's node").to.equal(true);
      expect(existsSync(elsewhere.dir)).to.equal(true);
      expect(running(unowned.node), 'a node of a run that names no owner').to.equal(true);
      expect(existsSync(unowned.dir)).to.equal(true);
    });
  });
});
