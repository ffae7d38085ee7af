import { noop } from '../internal/signals.js';
import { StoreUnavailableError, systemClock, type Clock } from '../index.js';
import {
  firstConnectionFailed,
  kindOf,
  whenFirstReady,
  type RedisClientAdapter,
} from './adapter.js';
import { assertUnconfigured, type ResolvedStoreOptions, type StoreErrorMode } from './options.js';

/**
 * @internal One request to Redis through the adapter (a script call: see `LuaScript.command`).
 * The link bounds it, counts its outcome, and never looks inside.
 */
export type RedisCommand = (adapter: RedisClientAdapter) => Promise<unknown>;

/**
 * @internal What a store has asked Redis for and not had answered yet: `amount` (tokens, slots,
 * leases) over `calls` commands. With none left out it is exactly 0, whatever fractions the
 * amounts summed to, so a count decided on never keeps a floating-point residue.
 */
export class Outstanding {
  amount = 0;
  calls = 0;

  /** A command asking for `amount` is out. */
  add(amount: number): void {
    this.amount += amount;
    this.calls++;
  }

  /** A command that asked for `amount` was answered, or failed. */
  done(amount: number): void {
    this.amount = --this.calls === 0 ? 0 : this.amount - amount;
  }
}

/**
 * @internal How a call decided on the count a store knows goes (see {@link RedisLink.gateKnown}):
 * `'take'` in Redis in the background, `'refuse'`, decide `'without'` Redis, or decide without
 * Redis while a `'probe'` reads the count in Redis in the background.
 */
export type KnownGate = 'take' | 'refuse' | 'without' | 'probe';

/** Why a store call gave up waiting: Redis was slower than `storeTimeout`. */
class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
}

/**
 * What the stores on one client have learned of the server's health. One store's failure to
 * reach the server (a timeout, a dropped connection) puts them all in the back-off at once, and
 * fails at once the calls they still wait on, so a call through several stores on one client
 * waits at most one `storeTimeout` in total. Error replies (a script error, `WRONGTYPE`) concern
 * one store's key, not the server: they back off that store alone.
 */
class ClientHealth {
  up = true;
  probing = false;
  retryAt = 0;
  lastError: unknown = undefined;
  // The clock of the store that saw the failure: `retryAt` is on it.
  clock: Clock = systemClock;
  // Calls to the server in flight, each failing its caller at once when the server is lost.
  readonly pending = new Set<(error: unknown) => void>();

  get bypassing(): boolean {
    return !this.up && (this.probing || this.clock.now() < this.retryAt);
  }

  failed(error: unknown, clock: Clock, retryMs: number): void {
    this.up = false;
    this.probing = false;
    this.lastError = error;
    this.clock = clock;
    this.retryAt = clock.now() + retryMs;
    for (const fail of [...this.pending]) fail(error);
  }
}

const HEALTH = new WeakMap<RedisClientAdapter, ClientHealth>();

function healthOf(adapter: RedisClientAdapter): ClientHealth {
  let health = HEALTH.get(adapter);
  if (health === undefined) {
    health = new ClientHealth();
    HEALTH.set(adapter, health);
  }
  return health;
}

/**
 * @internal One store's line to Redis: bounds every command by `storeTimeout`, and tracks
 * whether Redis is usable. What a command sends is the script runner's business (script.ts).
 *
 * After a failure the store stops asking Redis for a short back-off, deciding as
 * `onStoreError` says; then one call at a time (the probe) tries Redis again while the others
 * keep deciding without it, so an outage never piles up commands. The first answer brings the
 * store back to Redis. Stores on the same client share what they learn of the server's health
 * (see {@link ClientHealth}): one probe serves them all, except a store whose own call failed,
 * which stays on its own back-off and probe until one of its calls is answered (on a cluster
 * client, its key's node may be down while the others answer). What `up` reports is what calls
 * do: while it is false, they decide without Redis but for the probes.
 */
export class RedisLink {
  readonly adapter: RedisClientAdapter;
  readonly mode: StoreErrorMode;
  readonly timeoutMs: number;
  /** Longest a command waits for a client's first connection (see `connectTimeout`). */
  readonly connectMs: number;
  /** Time without Redis after a failure, before a call tries it again. */
  readonly retryMs: number;
  /** The store's main Redis key, for messages. */
  readonly label: string;
  readonly #health: ClientHealth;
  #clock: Clock = systemClock;
  #bound = false;
  // This store's own state: down after one of its calls failed (no answer, or an error reply
  // about its key), until one of its calls is answered. On a cluster client its key's node may be
  // down while the client's other calls reach theirs: it then keeps its own back-off and probe.
  #up = true;
  #probing = false;
  #retryAt = 0;
  #lastError: unknown = undefined;
  // The last failure of a command refused while the client made its first connection, which
  // the client's becoming ready ends; `waitingReady` once the link waits for that (once, however
  // many commands the client refuses: a client never opened refuses them for ever).
  #refusedConnecting: unknown = undefined;
  #waitingReady = false;

  constructor(options: ResolvedStoreOptions, label: string) {
    this.adapter = options.adapter;
    this.mode = options.onStoreError;
    this.timeoutMs = options.storeTimeoutMs;
    this.connectMs = options.connectTimeoutMs;
    this.retryMs = Math.min(1000, Math.max(100, 4 * options.storeTimeoutMs));
    this.label = label;
    this.#health = healthOf(options.adapter);
  }

  /**
   * Uses the primitive's clock for timeouts and back-off, once: a store serves one primitive.
   * @throws Error when the store already serves a `primitive`
   */
  bind(clock: Clock, store: string, primitive: string): void {
    assertUnconfigured(this.#bound ? this.#clock : undefined, store, primitive);
    this.#bound = true;
    this.#clock = clock;
  }

  /** The primitive's clock, once bound. */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * False from a failed call of this store until one of its calls succeeds again, and while
   * the client is down (another store's call failed, and no call succeeded since). While false,
   * calls decide without Redis but for one probe after each back-off (see `shouldTry`).
   */
  get up(): boolean {
    return this.#up && this.#health.up;
  }

  /** True while calls are decided without Redis (in the back-off, or while a probe is out). */
  get bypassing(): boolean {
    return (
      this.#health.bypassing || (!this.#up && (this.#probing || this.#clock.now() < this.#retryAt))
    );
  }

  /**
   * Whether this call should go to Redis. While Redis is down, at most one call (the probe) is
   * let through after each back-off; a `true` then obliges the caller to `run`.
   */
  shouldTry(): boolean {
    const health = this.#health;
    if (health.up && this.#up) return true;
    if (health.bypassing) return false;
    if (!this.#up && (this.#probing || this.#clock.now() < this.#retryAt)) return false;
    if (!health.up) health.probing = true;
    if (!this.#up) this.#probing = true;
    return true;
  }

  /**
   * The gate of a call a store decides on the count it knows, without waiting for Redis (a
   * limiter's or bulkhead's `tryAcquire`), `covered` when that count admits it. While Redis is
   * up: `'take'` (the store takes it in Redis in the background) when covered, else
   * `'refuse'`. While Redis is away: `'without'`, to decide as `onStoreError` says; once the
   * back-off is over, one call is the probe, whose answer brings the store back to Redis: a
   * covered one is `'take'`, any other `'probe'`, decided as `onStoreError` says while the
   * store reads its count in Redis in the background. Both oblige the caller to `run` a command.
   */
  gateKnown(covered: boolean): KnownGate {
    if (this.up) return covered ? 'take' : 'refuse';
    if (!this.shouldTry()) return 'without';
    return covered ? 'take' : 'probe';
  }

  /**
   * Asks Redis unless calls are decided without it for now: `onReply` makes the answer from
   * Redis's reply; `without` answers instead while Redis is skipped, or when the command fails
   * (see {@link RedisLink.run}, which receives `onLate`).
   */
  attempt<T>(
    command: RedisCommand,
    onReply: (reply: unknown) => T | Promise<T>,
    without: () => T | Promise<T>,
    onLate?: (reply: unknown) => void,
  ): T | Promise<T> {
    if (!this.shouldTry()) return without();
    return this.run(command, onLate).then(onReply, without);
  }

  /**
   * Runs `command`, rejecting after `storeTimeout` at the latest, or at once when another store
   * on the same client finds the server unreachable. A failure (or the timeout) starts a
   * back-off. `onLate` receives an answer that arrives after the call gave up, so the store can
   * give back what Redis granted to a caller that was already answered otherwise.
   *
   * While the client makes its first connection (the adapter's `connecting`), the command waits
   * in the client's queue for it, not for a server that is away: `storeTimeout` runs again
   * while the client still connects, up to `connectTimeout` in all, and once more when it has
   * connected since the last look (not when its attempt failed: the server is away); then a
   * timeout is an outage like any other.
   * A command that gave up because the client had not connected in time, and is answered once
   * it has, ends that outage.
   */
  run(command: RedisCommand, onLate?: (reply: unknown) => void): Promise<unknown> {
    const health = this.#health;
    // Read only for a client still connecting: no clock read on the common path.
    const since = this.#connecting() ? this.#clock.now() : undefined;
    // Sent while connecting: past its first `storeTimeout`, a connection made since (however
    // soon) gives it one more.
    let waited = since !== undefined;
    const pending = this.#exec(command);
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      // The outage this command's timeout declared when the client had not connected in time
      // (still connecting, or its first attempt refused): its late answer means the client is
      // connected now, and ends that outage.
      let unconnected: StoreTimeoutError | undefined;
      const fail = (error: unknown): void => {
        settled = true;
        this.#clock.clearTimeout(timer);
        health.pending.delete(fail);
        // A probe failed by another store's loss of the server ends too: the next back-off
        // lets another one through.
        this.#probing = false;
        reject(error);
      };
      const expire = (): void => {
        if (settled) return;
        let message = `Redis did not answer within ${this.timeoutMs} ms`;
        if (since !== undefined) {
          if (this.#connecting()) {
            const left = since + this.connectMs - this.#clock.now();
            if (left > 0) {
              waited = true;
              timer = this.#clock.setTimeout(expire, Math.min(this.timeoutMs, left));
              return;
            }
            message = `the client did not connect within ${this.connectMs} ms`;
            unconnected = new StoreTimeoutError(message);
          } else if (firstConnectionFailed(this.adapter)) {
            // The first connection failed (refused, or the client's own connect timeout): the
            // server cannot be reached, and one `storeTimeout` was all the command gets.
            message = `the client could not connect (Redis did not answer within ${this.timeoutMs} ms)`;
            unconnected = new StoreTimeoutError(message);
          } else if (waited) {
            // The client connected since the last look: the command has had less than
            // `storeTimeout` since then, and gets one more.
            waited = false;
            timer = this.#clock.setTimeout(expire, this.timeoutMs);
            return;
          }
        }
        const error = unconnected ?? new StoreTimeoutError(message);
        fail(error);
        this.#down(error);
        health.failed(error, this.#clock, this.retryMs);
      };
      let timer = this.#clock.setTimeout(expire, this.timeoutMs);
      health.pending.add(fail);
      pending.then(
        (reply) => {
          if (settled) {
            if (unconnected !== undefined) this.#connected(unconnected);
            if (onLate !== undefined) {
              try {
                onLate(reply);
              } catch {
                // A clean-up that cannot read the late answer leaves it to the key's expiry.
              }
            }
            return;
          }
          settled = true;
          this.#clock.clearTimeout(timer);
          health.pending.delete(fail);
          this.#up = true;
          this.#probing = false;
          health.up = true;
          health.probing = false;
          resolve(reply);
        },
        (error: unknown) => {
          if (settled) {
            // An error reply is an answer too: the client is connected.
            if (unconnected !== undefined && kindOf(this.adapter, error) === 'reply') {
              this.#connected(unconnected);
            }
            return;
          }
          fail(error);
          this.#down(error);
          if (kindOf(this.adapter, error) === 'reply') {
            // The server answered: it is reachable; only this store's key is in trouble.
            health.up = true;
            health.probing = false;
          } else {
            health.failed(error, this.#clock, this.retryMs);
            // Refused at once while the client makes its first connection (its offline queue
            // turned off): the outage lasts until the client is ready, not a whole back-off.
            if (since !== undefined) this.#untilReady(error);
          }
        },
      );
    });
  }

  /**
   * Runs `command` without waiting for it or counting its outcome (a best-effort clean-up);
   * `onReply` receives its reply, if one comes.
   */
  send(command: RedisCommand, onReply: (reply: unknown) => void = noop): void {
    this.#exec(command).then(onReply, noop);
  }

  /** The error a `'fail-closed'` store rejects with, naming the last failure. */
  unavailable(): StoreUnavailableError {
    const error = this.#health.up ? this.#lastError : this.#health.lastError;
    let reason: string;
    if (error instanceof StoreTimeoutError) {
      reason = error.message;
    } else {
      const message = error instanceof Error ? error.message : String(error);
      reason =
        kindOf(this.adapter, error) === 'reply'
          ? `Redis answered with an error: ${message}`
          : `Redis is unreachable: ${message}`;
    }
    return new StoreUnavailableError(
      `Shared state store is unavailable: ${reason} (key "${this.label}", ${this.adapter.name})`,
      { cause: error },
    );
  }

  // Whether the client is making its first connection, as the adapter says (false when it throws).
  #connecting(): boolean {
    const adapter = this.adapter;
    if (adapter.connecting === undefined) return false;
    try {
      return adapter.connecting() === true;
    } catch {
      return false;
    }
  }

  // A command that gave up waiting for the client's first connection was answered, or the client
  // that refused a command while connecting is ready: the client has connected, so the outage
  // that failure declared is over (unless a later failure followed it), and calls go back to
  // Redis without waiting out the back-off.
  #connected(error: unknown): void {
    const health = this.#health;
    if (!health.up && health.lastError === error) {
      health.up = true;
      health.probing = false;
    }
    if (!this.#up && this.#lastError === error) {
      this.#up = true;
      this.#probing = false;
    }
  }

  // A command refused while the client makes its first connection: the outage it declared ends
  // when the client is ready (see `#connected`).
  #untilReady(error: unknown): void {
    this.#refusedConnecting = error;
    if (this.#waitingReady) return;
    this.#waitingReady = true;
    whenFirstReady(this.adapter, () => this.#connected(this.#refusedConnecting));
  }

  // This store's own back-off after one of its calls failed.
  #down(error: unknown): void {
    this.#up = false;
    this.#probing = false;
    this.#lastError = error;
    this.#retryAt = this.#clock.now() + this.retryMs;
  }

  #exec(command: RedisCommand): Promise<unknown> {
    try {
      return command(this.adapter);
    } catch (error) {
      // An adapter that throws instead of rejecting still fails like a rejected call.
      return Promise.reject(error);
    }
  }
}
