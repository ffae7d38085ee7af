import { OptionTypeError } from '../index.js';

/**
 * How a Redis failure is classified by {@link RedisClientAdapter.classifyError}:
 *
 * - `'noscript'`: the server does not have the script (after a restart or `SCRIPT FLUSH`); the
 *   store sends the script's source once and goes on;
 * - `'reply'`: the server answered with another error (a script error, `WRONGTYPE`, `OOM`, ...);
 * - `'connection'`: no answer came (offline, closed, refused, ...).
 */
export type RedisErrorKind = 'noscript' | 'reply' | 'connection';

/**
 * The few Redis operations the stores need. `toRedisAdapter` makes one from an `ioredis` or
 * `redis` (node-redis) client; pass your own object of this shape as `client` to use another
 * client, a cluster, or to add tracing. Every method answers with a promise; the stores bound
 * each call by their `storeTimeout`, so an adapter need not time out by itself.
 *
 * Script replies are passed through as the client gives them: integers as numbers, bulk
 * strings as strings, arrays as arrays (RESP2 or RESP3 alike).
 *
 * @example
 * ```ts
 * const adapter: RedisClientAdapter = {
 *   name: 'my-client',
 *   evalsha: (sha1, keys, args) => my.command('EVALSHA', sha1, keys.length, ...keys, ...args),
 *   eval: (script, keys, args) => my.command('EVAL', script, keys.length, ...keys, ...args),
 *   time: () => my.command('TIME').then(([s, us]) => Number(s) * 1000 + Number(us) / 1000),
 *   classifyError: (e) => (String(e).includes('NOSCRIPT') ? 'noscript' : 'connection'),
 * };
 * const store = new RedisRateLimiterStore({ client: adapter, key: 'payment-api' });
 * ```
 */
export interface RedisClientAdapter {
  /** Names the client in error messages (`'ioredis'`, `'node-redis'`, or yours). */
  readonly name: string;
  /** `EVALSHA sha1 numkeys key... arg...` */
  evalsha(sha1: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** `EVAL script numkeys key... arg...` (also caches the script on the server). */
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /**
   * `SCRIPT LOAD script`, answering the script's SHA1 digest. Optional: the stores never call it
   * (a node without a script gets its source once by `EVAL`), so an adapter of your own may leave
   * it out. The adapter {@link toRedisAdapter} makes for an ioredis or node-redis client has it,
   * for code of yours that preloads scripts; on a cluster client it goes where the client sends
   * `SCRIPT LOAD`.
   */
  scriptLoad?(script: string): Promise<string>;
  /** The server's clock (`TIME`), in milliseconds since the epoch. */
  time(): Promise<number>;
  /**
   * Optional: true while the client is making its first connection (it has never been ready,
   * and no attempt to connect has failed yet), when commands wait in the client's queue for the
   * connection rather than for a server that is away. A store's call then waits for the
   * connection, up to the store's `connectTimeout`, instead of taking `storeTimeout` as an outage.
   * The adapter {@link toRedisAdapter} makes for an ioredis or node-redis client (a cluster
   * client too) has it; without it, every call is bounded by `storeTimeout` alone.
   */
  connecting?(): boolean;
  /**
   * Tells what kind of failure an error from the other methods is. Should it throw, the stores
   * take the failure as `'connection'`.
   */
  classifyError(error: unknown): RedisErrorKind;
}

/**
 * What the `client` option accepts: an `ioredis` client (`Redis` or `Cluster`), a connected
 * `redis` (node-redis) client (`createClient` or `createCluster`), or a
 * {@link RedisClientAdapter}. The stores only use the methods the adapter lists, so the clients
 * are not imported by `bulwark/redis` (they are optional peer dependencies). A cluster client
 * sends each script to the node that owns its keys' hash slot, which every store's keys share.
 */
export type RedisClient =
  | RedisClientAdapter
  | { readonly evalsha: unknown; readonly script: unknown }
  | { readonly evalSha: unknown; readonly scriptLoad: unknown };

interface IoredisLike extends Emitter {
  evalsha(sha1: string, numkeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown>;
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
  time(): Promise<unknown>;
  /** ioredis `Cluster` only (its node clients): tells a cluster client by its name. */
  nodes?: unknown;
  /** `'wait'`, `'connecting'`, `'connect'`, `'ready'`, `'close'`, `'reconnecting'`, `'end'`. */
  readonly status?: unknown;
}

interface NodeRedisEvalOptions {
  keys: string[];
  arguments: string[];
}

interface NodeRedisLike extends Emitter {
  /** node-redis cluster only (`createCluster`): its master nodes. */
  readonly masters?: unknown;
  evalSha(sha1: string, options: NodeRedisEvalOptions): Promise<unknown>;
  eval(script: string, options: NodeRedisEvalOptions): Promise<unknown>;
  scriptLoad(script: string): Promise<unknown>;
  time(): Promise<unknown>;
  /** Set once the client is connected and ready for commands. */
  readonly isReady?: unknown;
}

/** The EventEmitter side of a client, when it has one. */
interface Emitter {
  on?: unknown;
  removeListener?: unknown;
}

const ADAPTERS = new WeakMap<object, RedisClientAdapter>();

/** An ioredis or node-redis client (a cluster client of either too). */
type LibraryClient = Exclude<RedisClient, RedisClientAdapter>;

/**
 * The {@link RedisClientAdapter} for `client`: the object itself when it already is one (with or
 * without `scriptLoad`), otherwise a wrapper detected from the client's methods (`ioredis`:
 * `evalsha` and `script`; node-redis: `evalSha` and `scriptLoad`; a cluster client of either as
 * well), which has `scriptLoad`. One adapter is made per client and reused.
 *
 * @throws OptionTypeError (from `bulwark`, an `instanceof TypeError`) when `client` is none of
 *   these
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const adapter = toRedisAdapter(new Redis());
 * const serverNow = await adapter.time();
 * ```
 */
export function toRedisAdapter(client: LibraryClient): Required<RedisClientAdapter>;
export function toRedisAdapter(client: RedisClient): RedisClientAdapter;
export function toRedisAdapter(client: RedisClient): RedisClientAdapter {
  const c = client as unknown as Record<string, unknown> | null;
  if (c !== null && (typeof c === 'object' || typeof c === 'function')) {
    const cached = ADAPTERS.get(c);
    if (cached !== undefined) return cached;
    let adapter: RedisClientAdapter | undefined;
    if (
      typeof c.evalsha === 'function' &&
      typeof c.eval === 'function' &&
      typeof c.time === 'function' &&
      typeof c.classifyError === 'function' &&
      // Never called by the stores: optional, but not something else.
      (c.scriptLoad === undefined || typeof c.scriptLoad === 'function')
    ) {
      adapter = c as unknown as RedisClientAdapter;
    } else if (typeof c.evalSha === 'function' && typeof c.scriptLoad === 'function') {
      adapter = nodeRedisAdapter(c as unknown as NodeRedisLike);
    } else if (typeof c.evalsha === 'function' && typeof c.script === 'function') {
      adapter = ioredisAdapter(c as unknown as IoredisLike);
    }
    if (adapter !== undefined) {
      ADAPTERS.set(c, adapter);
      return adapter;
    }
  }
  throw new OptionTypeError(
    'client',
    'an ioredis client, a node-redis client or a RedisClientAdapter (evalsha, eval, time, classifyError; scriptLoad optional)',
    client,
  );
}

function ioredisAdapter(c: IoredisLike): RedisClientAdapter {
  const cluster = typeof c.nodes === 'function';
  // 'wait' (lazyConnect, or a Cluster not yet started), then 'connecting' and 'connect' until
  // 'ready'; a failed attempt goes through 'close' (and 'reconnecting'), a drop too.
  const first = firstConnection(
    c,
    () => c.status === 'wait' || c.status === 'connecting' || c.status === 'connect',
    ['close', 'end'],
  );
  return withFirstConnection(first, {
    name: cluster ? 'ioredis Cluster' : 'ioredis',
    evalsha: (sha1: string, keys: readonly string[], args: readonly string[]) =>
      c.evalsha(sha1, keys.length, ...keys, ...args),
    eval: (script: string, keys: readonly string[], args: readonly string[]) =>
      c.eval(script, keys.length, ...keys, ...args),
    scriptLoad: (script: string) => c.script('LOAD', script).then(String),
    time: () => c.time().then(timeToMs),
    classifyError,
    connecting: first.connecting,
  });
}

function nodeRedisAdapter(c: NodeRedisLike): RedisClientAdapter {
  // Open and not ready: connecting (and queueing commands), or reconnecting after a failed
  // attempt or a drop, which 'reconnecting' and 'end' tell apart. A cluster client is ready
  // once it knows the slots, and stays so while open (its nodes reconnect by themselves).
  const first = firstConnection(c, () => c.isReady === false, ['reconnecting', 'end']);
  return withFirstConnection(first, {
    name: c.masters === undefined ? 'node-redis' : 'node-redis cluster',
    evalsha: (sha1: string, keys: readonly string[], args: readonly string[]) =>
      c.evalSha(sha1, { keys: keys as string[], arguments: args as string[] }),
    eval: (script: string, keys: readonly string[], args: readonly string[]) =>
      c.eval(script, { keys: keys as string[], arguments: args as string[] }),
    scriptLoad: (script: string) => c.scriptLoad(script).then(String),
    time: () => c.time().then(timeToMs),
    classifyError,
    connecting: first.connecting,
  });
}

/** How a client's first connection is going, as {@link firstConnection} follows it. */
interface FirstConnection {
  /** True while the client makes its first connection (see `RedisClientAdapter.connecting`). */
  readonly connecting: () => boolean;
  /** True once the first connection ended otherwise than by the client becoming ready. */
  readonly failed: () => boolean;
  /** Calls `then` once the first connection, still being made, becomes ready (never if not). */
  readonly whenReady: (then: () => void) => void;
}

/**
 * Follows a client's first connection: `connecting` is true while `pending()` says it is
 * connecting and no event has ended it since the adapter was made: `'ready'`, or one of
 * `failures` (an attempt failed, or the client ended), which `failed` then reports. The
 * listeners go at the first of these events; a client already past its first connection gets
 * none.
 */
function firstConnection(
  client: Emitter,
  pending: () => boolean,
  failures: readonly string[],
): FirstConnection {
  const on = client.on;
  const off = client.removeListener;
  if (!pending() || typeof on !== 'function' || typeof off !== 'function') {
    return { connecting: () => false, failed: () => false, whenReady: () => {} };
  }
  let first = true;
  let failed = false;
  let waiting: (() => void)[] = [];
  const end = (ready: boolean): void => {
    if (!first) return;
    first = false;
    failed = !ready;
    for (const [event, listener] of listeners) off.call(client, event, listener);
    const then = waiting;
    waiting = [];
    if (ready) for (const call of then) call();
  };
  const listeners = ['ready', ...failures].map(
    (event) => [event, () => end(event === 'ready')] as const,
  );
  for (const [event, listener] of listeners) on.call(client, event, listener);
  return {
    connecting: () => first && pending(),
    failed: () => failed,
    whenReady: (then) => {
      if (first) waiting.push(then);
    },
  };
}

// The adapters `toRedisAdapter` made, and how their client's first connection went.
const FIRST = new WeakMap<RedisClientAdapter, FirstConnection>();

function withFirstConnection(
  first: FirstConnection,
  adapter: Required<RedisClientAdapter>,
): RedisClientAdapter {
  const frozen = Object.freeze(adapter);
  FIRST.set(frozen, first);
  return frozen;
}

/**
 * @internal True when the client's first connection ended by a failed attempt (refused, or the
 * client's own connect timeout) or by the client ending, not by its becoming ready. Known only
 * for the adapters {@link toRedisAdapter} makes; false for an adapter of one's own.
 */
export function firstConnectionFailed(adapter: RedisClientAdapter): boolean {
  const first = FIRST.get(adapter);
  return first !== undefined && first.failed();
}

/**
 * @internal Calls `then` once the client's first connection, still being made, becomes ready;
 * never when it fails or was already over. Known only for the adapters {@link toRedisAdapter}
 * makes.
 */
export function whenFirstReady(adapter: RedisClientAdapter, then: () => void): void {
  FIRST.get(adapter)?.whenReady(then);
}

function timeToMs(reply: unknown): number {
  const [seconds, micros] = reply as [unknown, unknown];
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

// Server error replies start with an upper-case code ("NOSCRIPT No matching script", "ERR ...",
// "WRONGTYPE ..."); ioredis and node-redis both pass them on with the code first. Client-side
// failures ("The client is offline", "Connection is closed.") do not.
const REPLY = /^[A-Z][A-Z0-9_-]+ /;

/**
 * Classifies an error from `ioredis` or node-redis (see {@link RedisErrorKind}).
 * @internal
 */
export function classifyError(error: unknown): RedisErrorKind {
  const message =
    typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : error;
  if (typeof message !== 'string') return 'connection';
  if (message.startsWith('NOSCRIPT')) return 'noscript';
  return REPLY.test(message) ? 'reply' : 'connection';
}

/**
 * @internal What kind of failure `error` is, as the adapter says; `'connection'` when its
 * `classifyError` throws (an adapter of one's own), so a failure is never lost to it.
 */
export function kindOf(adapter: RedisClientAdapter, error: unknown): RedisErrorKind {
  try {
    return adapter.classifyError(error);
  } catch {
    return 'connection';
  }
}

/**
 * @internal The SHA1 digest of `text` (UTF-8) in lower-case hex, as `EVALSHA` names scripts.
 * Computed here, once per script, so the first call needs no `SCRIPT LOAD` round trip.
 */
export function sha1Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const bitLength = bytes.length * 8;
  const total = (((bytes.length + 8) >> 6) + 1) << 6;
  const data = new Uint8Array(total);
  data.set(bytes);
  data[bytes.length] = 0x80;
  const view = new DataView(data.buffer);
  view.setUint32(total - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(total - 4, bitLength >>> 0);
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = new Uint32Array(80);
  for (let offset = 0; offset < total; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
    for (let i = 16; i < 80; i++) {
      const x =
        (w[i - 3] as number) ^ (w[i - 8] as number) ^ (w[i - 14] as number) ^ (w[i - 16] as number);
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + (w[i] as number)) >>> 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    h0 = (h0 + a) >>> 0;
    h1 = (h1 + b) >>> 0;
    h2 = (h2 + c) >>> 0;
    h3 = (h3 + d) >>> 0;
    h4 = (h4 + e) >>> 0;
  }
  return [h0, h1, h2, h3, h4].map((h) => h.toString(16).padStart(8, '0')).join('');
}
