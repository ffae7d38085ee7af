import { kindOf, sha1Hex, type RedisClientAdapter } from './adapter.js';
import type { RedisCommand } from './link.js';

/** @internal The `KEYS` and `ARGV` of one script call. */
export interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly string[];
}

/**
 * @internal A Lua script (src/redis/scripts/*.lua, inlined by the build) with its argument
 * builder, which turns named fields into the script's positional `KEYS` and `ARGV`. Its SHA1 is
 * computed on first use, so defining a script costs nothing at load time.
 */
export class LuaScript<P> {
  readonly source: string;
  readonly #build: (params: P) => ScriptCall;
  #sha1: string | undefined = undefined;

  constructor(source: string, build: (params: P) => ScriptCall) {
    this.source = source;
    this.#build = build;
  }

  /** The SHA1 `EVALSHA` names the script by. */
  get sha1(): string {
    return (this.#sha1 ??= sha1Hex(this.source));
  }

  /** A command running the script with `params`, for {@link RedisLink.run}. */
  command(params: P): RedisCommand {
    const call = this.#build(params);
    return (adapter) => runScript(adapter, this, call);
  }

  /** Runs the script with `params` on `adapter` at once (for a command that changes per call). */
  run(adapter: RedisClientAdapter, params: P): Promise<unknown> {
    return runScript(adapter, this, this.#build(params));
  }
}

/**
 * @internal Runs `script` by `EVALSHA`, sending its source (`EVAL`, which also caches it) once
 * when the server answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
 */
export function runScript(
  adapter: RedisClientAdapter,
  script: { readonly source: string; readonly sha1: string },
  call: ScriptCall,
): Promise<unknown> {
  return adapter
    .evalsha(script.sha1, call.keys, call.args)
    .then(undefined, (error: unknown) =>
      kindOf(adapter, error) === 'noscript'
        ? adapter.eval(script.source, call.keys, call.args)
        : Promise.reject(error),
    );
}
