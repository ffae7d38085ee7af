// The Lua scripts as the stores send them: their text inlined by the build, their SHA1, and the
// builders that are the only place knowing each argument's position.
import { expect } from 'chai';
import { toRedisAdapter, type RedisClientAdapter } from '../../src/redis/adapter.js';
import { LuaScript, runScript } from '../../src/redis/script.js';
import { BREAKER, breakerCall, type BreakerSettings } from '../../src/redis/scripts/breaker.js';
import { BUCKET, bucketCall } from '../../src/redis/scripts/bucket.js';
import { LEASES, leasesCall } from '../../src/redis/scripts/leases.js';
import { BUDGET } from '../../src/redis/scripts/budget.js';
import { describeRedis } from './harness.js';

const SCRIPTS = { BUCKET, LEASES, BREAKER, BUDGET };

describe('Redis store scripts', function () {
  it('carry the text of their .lua files', function () {
    for (const script of Object.values(SCRIPTS)) {
      expect(script.source).to.match(/^-- /);
      expect(script.source).to.include(
        'if redis.replicate_commands then pcall(redis.replicate_commands) end',
      );
    }
  });

  it('name a script by the SHA1 of its source, and build its arguments once per command', async function () {
    let built = 0;
    const script = new LuaScript('return 1', () => {
      built++;
      return { keys: [], args: [] };
    });
    expect(script.sha1).to.equal('e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
    expect(script.sha1).to.equal('e0e1f9fabfc9d4800c877a703b823ac0578ff8db');
    const sent: string[] = [];
    const adapter = {
      evalsha: (sha1: string) => {
        sent.push(sha1);
        return Promise.resolve(1);
      },
    } as unknown as RedisClientAdapter;
    const command = script.command(undefined);
    await command(adapter);
    await command(adapter);
    expect(built).to.equal(1);
    expect(sent).to.deep.equal([script.sha1, script.sha1]);
  });

  it('lay out the token bucket arguments', function () {
    const settings = { key: 'k', maxTokens: 10, refillRate: 2.5, permits: 3 };
    expect(bucketCall({ ...settings, op: 'reserve', maxWaitMs: 1500 })).to.deep.equal({
      keys: ['k'],
      args: ['10', '2.5', 'r', '3', '1500'],
    });
    expect(bucketCall({ ...settings, op: 'reserve', maxWaitMs: Infinity }).args[4]).to.equal('-1');
    expect(bucketCall({ ...settings, op: 'refund' }).args).to.deep.equal([
      '10',
      '2.5',
      'f',
      '3',
      '0',
    ]);
  });

  it('lay out the lease arguments', function () {
    const settings = { key: 'k', maxConcurrent: 4, leaseTtlMs: 3000 };
    expect(leasesCall({ ...settings, op: 'acquire', id: 'a:1', free: [] })).to.deep.equal({
      keys: ['k', 'k:q', 'k:qt', 'k:r'],
      args: ['acquire', '4', '3000', 'a:1'],
    });
    const place = { owner: 'a', waitedMs: 120, ttlMs: 550 };
    expect(
      leasesCall({ ...settings, op: 'acquire', id: 'a:3', free: ['a:1'], place }).args,
    ).to.deep.equal(['acquire+', '4', '3000', 'a:3', 'a:1', 'a', '120', '550']);
    expect(
      leasesCall({ ...settings, op: 'acquire', id: 'a:3', free: [], adopt: ['a:2'], place }).args,
    ).to.deep.equal(['adopt+', '4', '3000', 'a:3', '1', 'a:2', 'a', '120', '550']);
    expect(
      leasesCall({ ...settings, op: 'renew', ids: [], place: { ...place, waitedMs: -1 } }).args,
    ).to.deep.equal(['renew+', '4', '3000', 'a', '-1', '550']);
    expect(
      leasesCall({ ...settings, op: 'acquire', id: 'a:3', free: ['a:1', 'a:2'] }).args,
    ).to.deep.equal(['acquire', '4', '3000', 'a:3', 'a:1', 'a:2']);
    expect(leasesCall({ ...settings, op: 'release', ids: ['a:1', 'a:2'] }).args).to.deep.equal([
      'release',
      '4',
      '3000',
      'a:1',
      'a:2',
    ]);
    expect(leasesCall({ ...settings, op: 'retire', ids: ['a:1'] }).args).to.deep.equal([
      'retire',
      '4',
      '3000',
      'a:1',
    ]);
    expect(leasesCall({ ...settings, op: 'renew', ids: ['a:1', 'a:2'] }).args).to.deep.equal([
      'renew',
      '4',
      '3000',
      'a:1',
      'a:2',
    ]);
  });

  it('lay out the breaker arguments', function () {
    const settings: BreakerSettings = {
      stateKey: 'h',
      windowKey: 'h:w',
      failureThreshold: 5,
      recoveryTimeoutMs: 30000,
      recoveryBackoff: 1.5,
      maxRecoveryTimeoutMs: 120000,
      failureRateThreshold: undefined,
      slowCallRateThreshold: 0.5,
      timed: true,
      windowSize: 100,
      windowDurationMs: 60000,
      buckets: 60,
      minimumCalls: 10,
      halfOpenMaxCalls: 2,
      idleTtlMs: 3600000,
      probeLeaseMs: 30000,
    };
    expect(breakerCall({ ...settings, op: 'acquire' })).to.deep.equal({
      keys: ['h', 'h:w'],
      args: [
        'acquire',
        '5',
        '30000',
        '-1',
        '0.5',
        '1',
        '100',
        '60000',
        '60',
        '10',
        '2',
        '3600000',
        '30000',
        '0',
        '0',
        '1',
        '1.5',
        '120000',
      ],
    });
    const record = breakerCall({
      ...settings,
      op: 'record',
      failure: true,
      slow: true,
      probe: false,
    });
    expect(record.args.slice(13)).to.deep.equal(['1', '1', '0', '1.5', '120000']);
  });
});

describeRedis('Redis store scripts', function (env) {
  it('are named by the SHA1 the server gives them', async function () {
    const adapter = toRedisAdapter(env.admin.client);
    for (const script of Object.values(SCRIPTS)) {
      expect(await adapter.scriptLoad(script.source)).to.equal(script.sha1);
    }
  });

  it('are sent once by EVAL when the server lost them, then run by EVALSHA', async function () {
    const adapter = toRedisAdapter(env.admin.client);
    await env.admin.command('SCRIPT', 'FLUSH');
    const call = bucketCall({
      key: env.uniqueKey(),
      maxTokens: 5,
      refillRate: 1,
      permits: 2,
      op: 'reserve',
      maxWaitMs: 0,
    });
    const [result, tokens] = (await runScript(adapter, BUCKET, call)) as [string, string];
    expect(Number(result)).to.equal(0);
    expect(Number(tokens)).to.be.closeTo(3, 0.01);
    expect(await env.admin.command('SCRIPT', 'EXISTS', BUCKET.sha1)).to.deep.equal([1]);
  });

  it('free and record any number of leases in one release or retire (beyond what unpack takes)', async function () {
    this.timeout(20_000);
    const adapter = toRedisAdapter(env.admin.client);
    const key = `bulwark:bh:{${env.uniqueKey()}}`;
    const settings = { key, maxConcurrent: 100_000, leaseTtlMs: 60_000 };
    const ids = (from: number, n: number): string[] =>
      Array.from({ length: n }, (_, i) => `p:${from + i}`);
    // 9,000 leases, retaken whatever the limit (a renewal adds back those Redis lacks).
    await LEASES.run(adapter, { ...settings, op: 'renew', ids: ids(0, 9_000) });
    expect(Number(await env.admin.command('ZCARD', key))).to.equal(9_000);
    await LEASES.run(adapter, { ...settings, op: 'retire', ids: ids(0, 5_000) });
    expect(Number(await env.admin.command('ZCARD', key))).to.equal(4_000);
    expect(Number(await env.admin.command('ZCARD', `${key}:r`))).to.equal(5_000);
    await LEASES.run(adapter, { ...settings, op: 'release', ids: ids(5_000, 4_000) });
    expect(Number(await env.admin.command('ZCARD', key))).to.equal(0);
    // A retire with a shorter leaseTtl does not cut short the records of a longer one.
    await LEASES.run(adapter, { ...settings, leaseTtlMs: 1_000, op: 'retire', ids: ['q:1'] });
    expect(Number(await env.admin.command('PTTL', `${key}:r`))).to.be.above(50_000);
  });
});
