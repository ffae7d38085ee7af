import {
  InMemoryCircuitBreakerStore,
  type CircuitAdmission,
  type CircuitBreakerMetrics,
  type CircuitBreakerStore,
  type CircuitBreakerStoreConfig,
  type CircuitOutcome,
  type CircuitState,
  type Clock,
} from '../index.js';
import { RedisLink, luaScript } from './link.js';
import { assertUnconfigured, resolveStoreOptions, type RedisStoreOptions } from './options.js';
import {
  ADMIT_CLOSED,
  ADMIT_PROBE,
  ADMIT_PROBE_RECLAIMED,
  REFUSE_HALF_OPEN,
  REFUSE_ISOLATED,
} from '../strategies/circuit-breaker/admissions.js';

/** Options of a {@link RedisCircuitBreakerStore}: the common {@link RedisStoreOptions}. */
export type RedisCircuitBreakerStoreOptions = RedisStoreOptions;

// The breaker's state machine, with the same rules as InMemoryCircuitBreakerStore, as one
// atomic script per operation on the server's clock.
// KEYS[1]: state hash (st state, oa opened at, cf consecutive failures, pr probes admitted,
//   pk probe successes, ps slow probes, pa last probe admitted at, n/f/s window totals,
//   nx next ring slot (count window), lt latest bucket index (time window)).
// KEYS[2]: the window: a string of one digit per outcome (count: bit 0 failure, bit 1 slow),
//   or a hash of bucket counts c<slot>, f<slot>, s<slot> (time).
// ARGV: op, failureThreshold, recoveryMs, failureRate (-1: consecutive mode), slowRate (-1: none),
//   timed (1/0), windowSize, windowMs, buckets, minimumCalls, halfOpenMaxCalls, idleTtlMs,
//   probeLeaseMs, failure (1/0), slow (1/0), probe (0: the outcome of a call known to hold no
//   probe slot of the current HALF_OPEN period, ignored there; 1: may be a probe).
const BREAKER = luaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local H = KEYS[1]
local W = KEYS[2]
local op = ARGV[1]
if op == 'reset' then
  redis.call('DEL', H, W)
  return 'closed'
end
local threshold = tonumber(ARGV[2])
local recovery = tonumber(ARGV[3])
local failRate = tonumber(ARGV[4])
local slowRate = tonumber(ARGV[5])
local timed = ARGV[6] == '1'
local size = tonumber(ARGV[7])
local buckets = tonumber(ARGV[9])
local width = tonumber(ARGV[8]) / buckets
local minCalls = tonumber(ARGV[10])
local maxProbes = tonumber(ARGV[11])
local ttl = ARGV[12]
local probeLease = tonumber(ARGV[13])
local failure = ARGV[14] == '1'
local slow = ARGV[15] == '1'
local probe = ARGV[16] ~= '0'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local v = redis.call('HMGET', H, 'st', 'oa', 'cf', 'pr', 'pk', 'ps', 'pa', 'n', 'f', 's', 'nx', 'lt')
local st = v[1] or 'closed'
local oa = tonumber(v[2]) or 0
local cf = tonumber(v[3]) or 0
local pr = tonumber(v[4]) or 0
local pk = tonumber(v[5]) or 0
local ps = tonumber(v[6]) or 0
local pa = tonumber(v[7]) or 0
local n = tonumber(v[8]) or 0
local f = tonumber(v[9]) or 0
local s = tonumber(v[10]) or 0
local nx = tonumber(v[11]) or 0
local lt = tonumber(v[12]) or -1
local dirty = false
if n > 0 and redis.call('EXISTS', W) == 0 then
  n = 0 f = 0 s = 0 nx = 0 lt = -1 dirty = true
end
local function fmt(x) return string.format('%.17g', x) end
local function clearProbes() pr = 0 pk = 0 ps = 0 end
local function open() st = 'open' oa = now cf = 0 clearProbes() dirty = true end
local function halfOpen() st = 'half-open' clearProbes() dirty = true end
local function close()
  st = 'closed' cf = 0 clearProbes()
  n = 0 f = 0 s = 0 nx = 0 lt = -1
  redis.call('DEL', W)
  dirty = true
end
local function advance()
  local index = math.floor(now / width)
  if index > lt then
    if index - lt >= buckets then
      redis.call('DEL', W)
      n = 0 f = 0 s = 0
    else
      for i = lt + 1, index do
        local slot = i % buckets
        local b = redis.call('HMGET', W, 'c' .. slot, 'f' .. slot, 's' .. slot)
        if b[1] then
          n = n - tonumber(b[1])
          f = f - (tonumber(b[2]) or 0)
          s = s - (tonumber(b[3]) or 0)
          redis.call('HDEL', W, 'c' .. slot, 'f' .. slot, 's' .. slot)
        end
      end
    end
    lt = index
    dirty = true
  end
  return lt % buckets
end
local function recordClosed()
  if timed then
    local slot = advance()
    redis.call('HINCRBY', W, 'c' .. slot, 1)
    if failure then redis.call('HINCRBY', W, 'f' .. slot, 1) end
    if slow then redis.call('HINCRBY', W, 's' .. slot, 1) end
    n = n + 1
  else
    if n >= size then
      local old = (string.byte(redis.call('GETRANGE', W, nx, nx)) or 48) - 48
      if old == 1 or old == 3 then f = f - 1 end
      if old == 2 or old == 3 then s = s - 1 end
      n = size
    else
      n = n + 1
    end
    redis.call('SETRANGE', W, nx, string.char(48 + (failure and 1 or 0) + (slow and 2 or 0)))
    nx = nx + 1
    if nx >= size then nx = 0 end
  end
  if failure then f = f + 1 end
  if slow then s = s + 1 end
  dirty = true
  local trip = false
  if failure then
    cf = cf + 1
    if failRate < 0 then
      trip = cf >= threshold
    else
      trip = n >= minCalls and f / n >= failRate
    end
  else
    cf = 0
  end
  if not trip and slow and slowRate >= 0 then
    trip = n >= minCalls and s / n >= slowRate
  end
  if trip then open() end
end
local function recordProbe()
  if failure then
    open()
    return
  end
  pk = pk + 1
  if slow then ps = ps + 1 end
  dirty = true
  if slowRate >= 0 and ps / maxProbes >= slowRate then
    open()
  elseif pk >= maxProbes then
    close()
  end
end
local function admitProbe()
  local kind = 1
  if pr >= maxProbes then
    if now - pa < probeLease then return { 0, 'half-open', 0, '0' } end
    -- Probes admitted that long ago and never reported are taken as lost (their holder died).
    pr = pk
    kind = 2
  end
  pr = pr + 1
  pa = now
  dirty = true
  return { 1, 'half-open', kind, '0' }
end
local result
if op == 'acquire' then
  if st == 'closed' then
    result = { 1, 'closed', 0, '0' }
  elseif st == 'open' then
    local left = oa + recovery - now
    if left > 0 then
      result = { 0, 'open', 0, fmt(left) }
    else
      halfOpen()
      result = admitProbe()
    end
  elseif st == 'half-open' then
    result = admitProbe()
  else
    result = { 0, st, 0, '0' }
  end
elseif op == 'record' then
  if st == 'closed' then
    recordClosed()
  elseif st == 'half-open' and probe then
    recordProbe()
  end
  result = st
elseif op == 'release' then
  if st == 'half-open' and pr > 0 then
    pr = pr - 1
    dirty = true
  end
  result = st
elseif op == 'isolate' then
  st = 'isolated'
  clearProbes()
  dirty = true
  result = st
else
  if st == 'open' and now - oa >= recovery then halfOpen() end
  if op == 'snapshot' then
    if timed then advance() end
    result = { st, n, f, s }
  else
    result = st
  end
end
if dirty then
  redis.call('HSET', H, 'st', st, 'oa', fmt(oa), 'cf', cf, 'pr', pr, 'pk', pk, 'ps', ps,
    'pa', fmt(pa), 'n', n, 'f', f, 's', s, 'nx', nx, 'lt', fmt(lt))
  if st == 'isolated' then
    redis.call('PERSIST', H)
  else
    redis.call('PEXPIRE', H, ttl)
  end
  redis.call('PEXPIRE', W, ttl)
end
return result
`);

/** An idle breaker's keys are kept at least this long (a count window has no time of its own). */
const MIN_IDLE_TTL_MS = 3_600_000;
/** A HALF_OPEN probe that reports nothing is taken as lost after at least this long. */
const MIN_PROBE_LEASE_MS = 10_000;

const STATES: readonly CircuitState[] = Object.freeze(['closed', 'open', 'half-open', 'isolated']);

/**
 * A circuit breaker's state machine in Redis, shared by every {@link CircuitBreaker} (in any
 * process) whose store has the same `prefix` and `key`: when the shared window trips, every
 * instance refuses calls until `recoveryTimeout` has passed; the HALF_OPEN probe budget
 * (`halfOpenMaxCalls`) holds across instances; `isolate()` holds everywhere until `reset()`.
 *
 * Each operation is one atomic Lua script (`EVALSHA`) on the Redis server's clock, applying the
 * same rules as {@link InMemoryCircuitBreakerStore}: consecutive mode, failure-rate and
 * slow-call-rate tripping over a COUNT window (the last `windowSize` outcomes) or a TIME window
 * (`windowDuration` in 10 to 60 buckets), `minimumCalls`, slow HALF_OPEN probes, only probes
 * deciding HALF_OPEN, and a probe that has not reported after `max(recoveryTimeout, 10 s)` taken
 * as lost (a hung call, or its process died), its slot going to the next caller.
 *
 * A call through `execute` costs two round trips (admission, then the outcome). The keys expire
 * after an hour idle (or twice `recoveryTimeout`, or `windowDuration`, when longer), except
 * while isolated: isolation lasts until `reset()`. `isolate()` and `reset()` always try Redis,
 * even in a back-off.
 *
 * When Redis cannot answer within `storeTimeout`, the call is decided as `onStoreError` says
 * (`'local'`: an in-process breaker with the same settings; `'fail-open'`: admitted, the circuit
 * reads closed; `'fail-closed'`: rejected with `StoreUnavailableError`), and calls skip Redis
 * for a short back-off before one call tries it again.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { CircuitBreaker } from 'bulwark';
 * import { RedisCircuitBreakerStore } from 'bulwark/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const breaker = new CircuitBreaker({
 *   failureRateThreshold: 0.5,
 *   windowSize: 20,
 *   store: new RedisCircuitBreakerStore({ client, key: 'inventory' }),
 * });
 * const stock = await breaker.execute(() => inventory.count(sku));
 * ```
 */
export class RedisCircuitBreakerStore implements CircuitBreakerStore {
  /** The Redis key of the state hash (`<prefix>cb:{<key>}`); the window is `<that>:w`. */
  readonly redisKey: string;
  readonly #link: RedisLink;
  readonly #keys: readonly string[];
  #clock: Clock | undefined;
  #local: InMemoryCircuitBreakerStore | undefined;
  // Whether the local breaker decided anything since Redis last answered.
  #usedLocal = false;
  #args: Readonly<Record<string, readonly string[]>> = {};
  // Record arguments by outcome: (failure ? 1 : 0) + (slow ? 2 : 0) + (probe === false ? 4 : 0).
  #recordArgs: readonly (readonly string[])[] = [];

  /**
   * @throws TypeError for a missing `client` or `key`, an unknown option or a value of the wrong type
   * @throws RangeError for a value out of range
   */
  constructor(options: RedisCircuitBreakerStoreOptions) {
    const { common } = resolveStoreOptions(options, 'RedisCircuitBreakerStore');
    this.redisKey = `${common.prefix}cb:{${common.key}}`;
    this.#keys = Object.freeze([this.redisKey, `${this.redisKey}:w`]);
    this.#link = new RedisLink(common, this.redisKey);
  }

  /** False from a failed Redis call until a call to Redis succeeds again. */
  get redisAvailable(): boolean {
    return this.#link.up;
  }

  /** @throws Error when the store already serves another breaker */
  configure(config: CircuitBreakerStoreConfig): void {
    assertUnconfigured(this.#clock, 'RedisCircuitBreakerStore', 'CircuitBreaker');
    this.#clock = config.clock;
    this.#link.bind(config.clock);
    const timed = config.windowType === 'time';
    const idleTtl = Math.ceil(
      Math.max(
        MIN_IDLE_TTL_MS,
        2 * config.recoveryTimeoutMs,
        timed ? 2 * config.windowDurationMs : 0,
      ),
    );
    const settings = [
      String(config.failureThreshold),
      String(config.recoveryTimeoutMs),
      String(config.failureRateThreshold ?? -1),
      String(config.slowCallRateThreshold ?? -1),
      timed ? '1' : '0',
      String(config.windowSize),
      String(config.windowDurationMs),
      String(bucketsFor(config.windowDurationMs)),
      String(config.minimumCalls),
      String(config.halfOpenMaxCalls),
      String(idleTtl),
      String(Math.max(MIN_PROBE_LEASE_MS, config.recoveryTimeoutMs)),
    ];
    const args = (op: string, failure = false, slow = false, probe = true): readonly string[] =>
      Object.freeze([op, ...settings, failure ? '1' : '0', slow ? '1' : '0', probe ? '1' : '0']);
    this.#args = Object.freeze({
      acquire: args('acquire'),
      release: args('release'),
      state: args('state'),
      snapshot: args('snapshot'),
      isolate: args('isolate'),
      reset: args('reset'),
    });
    this.#recordArgs = Object.freeze([
      args('record', false, false),
      args('record', true, false),
      args('record', false, true),
      args('record', true, true),
      args('record', false, false, false),
      args('record', true, false, false),
      args('record', false, true, false),
      args('record', true, true, false),
    ]);
    if (this.#link.mode === 'local') {
      const local = new InMemoryCircuitBreakerStore();
      local.configure(config);
      this.#local = local;
    }
  }

  acquire(): CircuitAdmission | Promise<CircuitAdmission> {
    const link = this.#link;
    if (!link.shouldTry()) return this.#acquireWithout();
    return link
      .run(BREAKER, this.#keys, this.#op('acquire'), (late) => {
        // A probe slot taken for a caller that was already answered otherwise goes back.
        if (toAdmission(late).probe) link.send(BREAKER, this.#keys, this.#op('release'));
      })
      .then(
        (reply) => {
          this.#backOnRedis();
          return toAdmission(reply);
        },
        () => this.#acquireWithout(),
      );
  }

  record(outcome: CircuitOutcome): CircuitState | Promise<CircuitState> {
    const link = this.#link;
    if (!link.shouldTry()) return this.#recordWithout(outcome);
    const index =
      (outcome.failure ? 1 : 0) + (outcome.slow ? 2 : 0) + (outcome.probe === false ? 4 : 0);
    return link.run(BREAKER, this.#keys, this.#recordArgs[index] as readonly string[]).then(
      (reply) => {
        this.#backOnRedis();
        return toState(reply);
      },
      () => this.#recordWithout(outcome),
    );
  }

  release(): void | Promise<void> {
    const link = this.#link;
    if (!link.shouldTry()) {
      this.#local?.release();
      return;
    }
    return link.run(BREAKER, this.#keys, this.#op('release')).then(
      () => this.#backOnRedis(),
      () => this.#local?.release(),
    );
  }

  state(): CircuitState | Promise<CircuitState> {
    const link = this.#link;
    if (!link.shouldTry()) return this.#stateWithout();
    return link.run(BREAKER, this.#keys, this.#op('state')).then(
      (reply) => {
        this.#backOnRedis();
        return toState(reply);
      },
      () => this.#stateWithout(),
    );
  }

  snapshot(): CircuitBreakerMetrics | Promise<CircuitBreakerMetrics> {
    const link = this.#link;
    if (!link.shouldTry()) return this.#snapshotWithout();
    return link.run(BREAKER, this.#keys, this.#op('snapshot')).then(
      (reply) => {
        this.#backOnRedis();
        const [state, calls, failures, slow] = reply as [unknown, unknown, unknown, unknown];
        const n = Number(calls);
        const f = Number(failures);
        const s = Number(slow);
        return {
          state: toState(state),
          failureRate: n === 0 ? 0 : f / n,
          slowCallRate: n === 0 ? 0 : s / n,
          bufferedCalls: n,
          failedCalls: f,
          slowCalls: s,
        };
      },
      () => this.#snapshotWithout(),
    );
  }

  /**
   * Isolates the shared circuit (until `reset()`, with no expiry), and with `'local'` the
   * fallback breaker too. Tries Redis even during a back-off.
   */
  isolate(): Promise<void> {
    this.#local?.isolate();
    return this.#administer('isolate');
  }

  /**
   * Closes the shared circuit and clears its window (deleting its keys), and with `'local'` the
   * fallback breaker too. Tries Redis even during a back-off.
   */
  reset(): Promise<void> {
    this.#local?.reset();
    return this.#administer('reset');
  }

  #administer(op: 'isolate' | 'reset'): Promise<void> {
    return this.#link.run(BREAKER, this.#keys, this.#op(op)).then(
      () => undefined,
      () =>
        this.#link.mode === 'fail-closed' ? Promise.reject(this.#link.unavailable()) : undefined,
    );
  }

  #op(op: string): readonly string[] {
    const args = this.#args[op];
    if (args === undefined) throw new Error('RedisCircuitBreakerStore used before configure()');
    return args;
  }

  #backOnRedis(): void {
    // The next outage starts from a clean local breaker, not from one that stopped long ago.
    if (this.#usedLocal) {
      this.#usedLocal = false;
      this.#local?.reset();
    }
  }

  #acquireWithout(): CircuitAdmission | Promise<CircuitAdmission> {
    const local = this.#local;
    if (local !== undefined) {
      this.#usedLocal = true;
      return local.acquire();
    }
    if (this.#link.mode === 'fail-open') return ADMIT_CLOSED;
    return Promise.reject(this.#link.unavailable());
  }

  #recordWithout(outcome: CircuitOutcome): CircuitState | Promise<CircuitState> {
    const local = this.#local;
    if (local !== undefined) {
      this.#usedLocal = true;
      return local.record(outcome);
    }
    if (this.#link.mode === 'fail-open') return 'closed';
    return Promise.reject(this.#link.unavailable());
  }

  #stateWithout(): CircuitState | Promise<CircuitState> {
    const local = this.#local;
    if (local !== undefined) return local.state();
    if (this.#link.mode === 'fail-open') return 'closed';
    return Promise.reject(this.#link.unavailable());
  }

  #snapshotWithout(): CircuitBreakerMetrics | Promise<CircuitBreakerMetrics> {
    const local = this.#local;
    if (local !== undefined) return local.snapshot();
    if (this.#link.mode === 'fail-open') {
      return {
        state: 'closed',
        failureRate: 0,
        slowCallRate: 0,
        bufferedCalls: 0,
        failedCalls: 0,
        slowCalls: 0,
      };
    }
    return Promise.reject(this.#link.unavailable());
  }
}

function toState(reply: unknown): CircuitState {
  const state = String(reply) as CircuitState;
  if (!STATES.includes(state)) throw new TypeError(`Unexpected circuit state from Redis: ${state}`);
  return state;
}

function toAdmission(reply: unknown): CircuitAdmission {
  const [admitted, state, probe, retryAfter] = reply as [unknown, unknown, unknown, unknown];
  const s = toState(state);
  if (Number(admitted) === 1) {
    // probe: 0 none, 1 a probe, 2 a probe that took back the slots of lost ones.
    const kind = Number(probe);
    return kind === 1 ? ADMIT_PROBE : kind === 2 ? ADMIT_PROBE_RECLAIMED : ADMIT_CLOSED;
  }
  if (s === 'half-open') return REFUSE_HALF_OPEN;
  if (s === 'isolated') return REFUSE_ISOLATED;
  return { admitted: false, state: s, probe: false, retryAfterMs: Number(retryAfter) };
}

// The same bucket count as the in-memory TIME window: one per second, between 10 and 60.
function bucketsFor(durationMs: number): number {
  return Math.min(60, Math.max(10, Math.ceil(durationMs / 1000)));
}
