// Stand-in Redis clients for the specs that need no server: an adapter whose every call waits
// until the spec answers it (or is answered at once by a subclass), a client that never answers,
// and `flush()`, which lets pending promise callbacks run (fake timers leave microtasks alone).
import type { RedisClientAdapter, RedisErrorKind } from '../../src/redis/adapter.js';

/** One call a store made, waiting for the spec's answer. */
export interface ScriptedCall {
  readonly command: 'evalsha' | 'eval';
  readonly keys: readonly string[];
  readonly args: readonly string[];
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/** Classifies as a client does: `NOSCRIPT ...` and `ERR ...` replies, anything else a lost connection. */
function classifyByMessage(error: unknown): RedisErrorKind {
  const message = String((error as Error | undefined)?.message);
  if (message.startsWith('NOSCRIPT')) return 'noscript';
  if (message.startsWith('ERR ')) return 'reply';
  return 'connection';
}

/**
 * An adapter whose every script call (evalsha or eval) waits in `calls` until the spec answers
 * it; a subclass may answer some or all at once by overriding `respond()`.
 */
export class ScriptedAdapter implements RedisClientAdapter {
  readonly name = 'scripted';
  /** The calls not answered yet, oldest first. */
  readonly calls: ScriptedCall[] = [];

  evalsha(_sha1: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#call('evalsha', keys, args);
  }

  eval(_script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#call('eval', keys, args);
  }

  scriptLoad(): Promise<string> {
    return Promise.resolve('');
  }

  time(): Promise<number> {
    return Promise.resolve(0);
  }

  classifyError(error: unknown): RedisErrorKind {
    return classifyByMessage(error);
  }

  /** The oldest unanswered call, taken off the list. */
  next(): ScriptedCall {
    const call = this.calls.shift();
    if (call === undefined) throw new Error('no call');
    return call;
  }

  /** The newest unanswered call, left on the list. */
  last(): ScriptedCall {
    const call = this.calls[this.calls.length - 1];
    if (call === undefined) throw new Error('no call');
    return call;
  }

  /** Answers the oldest unanswered call with `reply`; its arguments. */
  answer(reply: unknown): readonly string[] {
    const call = this.next();
    call.resolve(reply);
    return call.args;
  }

  /** The answer to a call made now, or undefined to leave it in `calls` for the spec. */
  protected respond(
    _command: 'evalsha' | 'eval',
    _keys: readonly string[],
    _args: readonly string[],
  ): Promise<unknown> | undefined {
    return undefined;
  }

  #call(command: 'evalsha' | 'eval', keys: readonly string[], args: readonly string[]) {
    return (
      this.respond(command, keys, args) ??
      new Promise((resolve, reject) => this.calls.push({ command, keys, args, resolve, reject }))
    );
  }
}

const never = (): Promise<never> => new Promise(() => {});

/** A client whose commands never answer. */
export const silentClient: RedisClientAdapter = {
  name: 'silent',
  evalsha: never,
  eval: never,
  scriptLoad: never,
  time: never,
  classifyError: () => 'connection',
};

/** Lets pending promise callbacks run (fake timers do not touch the microtask queue). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
