import { noop } from '../internal/signals.js';
import { StoreUnavailableError, systemClock, type Clock } from '../index.js';
import { sha1Hex, type RedisClientAdapter } from './adapter.js';
import type { ResolvedStoreOptions, StoreErrorMode } from './options.js';

/** @internal A Lua script and its SHA1, computed once. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

/** @internal */
export function luaScript(source: string): LuaScript {
  return Object.freeze({ source, sha1: sha1Hex(source) });
}

/** Why a store call gave up waiting: Redis was slower than `storeTimeout`. */
class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
}

/**
 * @internal One store's line to Redis: runs its script by `EVALSHA` (sending the source once on
 * `NOSCRIPT`), bounds every call by `storeTimeout`, and tracks whether Redis is usable.
 *
 * After a failure the store stops asking Redis for a short back-off, deciding as
 * `onStoreError` says; then one call at a time (the probe) tries Redis again while the others
 * keep deciding without it, so an outage never piles up commands. The first answer brings the
 * store back to Redis.
 */
export class RedisLink {
  readonly adapter: RedisClientAdapter;
  readonly mode: StoreErrorMode;
  readonly timeoutMs: number;
  /** Time without Redis after a failure, before a call tries it again. */
  readonly retryMs: number;
  /** The store's main Redis key, for messages. */
  readonly label: string;
  #clock: Clock = systemClock;
  #up = true;
  #probing = false;
  #retryAt = 0;
  #lastError: unknown = undefined;

  constructor(options: ResolvedStoreOptions, label: string) {
    this.adapter = options.adapter;
    this.mode = options.onStoreError;
    this.timeoutMs = options.storeTimeoutMs;
    this.retryMs = Math.min(1000, Math.max(100, 4 * options.storeTimeoutMs));
    this.label = label;
  }

  /** Uses the primitive's clock for timeouts and back-off. */
  bind(clock: Clock): void {
    this.#clock = clock;
  }

  /** False from a failed call until a call to Redis succeeds again. */
  get up(): boolean {
    return this.#up;
  }

  /** True while calls are decided without Redis (in the back-off, or while a probe is out). */
  get bypassing(): boolean {
    return !this.#up && (this.#probing || this.#clock.now() < this.#retryAt);
  }

  /**
   * Whether this call should go to Redis. While Redis is down, at most one call (the probe) is
   * let through after each back-off; a `true` then obliges the caller to `run`.
   */
  shouldTry(): boolean {
    if (this.#up) return true;
    if (this.#probing || this.#clock.now() < this.#retryAt) return false;
    this.#probing = true;
    return true;
  }

  /**
   * Runs `script`, rejecting after `storeTimeout` at the latest. A failure (or the timeout)
   * starts a back-off. `onLate` receives an answer that arrives after the timeout, so the store
   * can give back what Redis granted to a caller that was already answered otherwise.
   */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    onLate?: (reply: unknown) => void,
  ): Promise<unknown> {
    const pending = this.#exec(script, keys, args);
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const timer = this.#clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        const error = new StoreTimeoutError(`Redis did not answer within ${this.timeoutMs} ms`);
        this.#failed(error);
        reject(error);
      }, this.timeoutMs);
      pending.then(
        (reply) => {
          if (settled) {
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
          this.#up = true;
          this.#probing = false;
          resolve(reply);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          this.#clock.clearTimeout(timer);
          this.#failed(error);
          reject(error);
        },
      );
    });
  }

  /** Runs `script` without waiting for it or counting its outcome (a best-effort clean-up). */
  send(script: LuaScript, keys: readonly string[], args: readonly string[]): void {
    this.#exec(script, keys, args).then(noop, noop);
  }

  /** The error a `'fail-closed'` store rejects with, naming the last failure. */
  unavailable(): StoreUnavailableError {
    const error = this.#lastError;
    let reason: string;
    if (error instanceof StoreTimeoutError) {
      reason = error.message;
    } else {
      const message = error instanceof Error ? error.message : String(error);
      reason =
        this.adapter.classifyError(error) === 'reply'
          ? `Redis answered with an error: ${message}`
          : `Redis is unreachable: ${message}`;
    }
    return new StoreUnavailableError(
      `Shared state store is unavailable: ${reason} (key "${this.label}", ${this.adapter.name})`,
      { cause: error },
    );
  }

  #exec(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const adapter = this.adapter;
    try {
      return adapter
        .evalsha(script.sha1, keys, args)
        .then(undefined, (error: unknown) =>
          adapter.classifyError(error) === 'noscript'
            ? adapter.eval(script.source, keys, args)
            : Promise.reject(error),
        );
    } catch (error) {
      // An adapter that throws instead of rejecting still fails like a rejected call.
      return Promise.reject(error);
    }
  }

  #failed(error: unknown): void {
    this.#up = false;
    this.#probing = false;
    this.#lastError = error;
    this.#retryAt = this.#clock.now() + this.retryMs;
  }
}
