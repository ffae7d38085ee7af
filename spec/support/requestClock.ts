// A clock whose timers belong to the request that set them, as Cloudflare Workers' timers do: a
// timer set while a request runs (`run`) dies, never firing, once that request ends (`end`), and
// fires with that request running again, so the timers its callback sets are the request's too.
// Timers set outside any request (in promise reactions, which this clock cannot follow) live on.
import type { Clock } from '../../src/internal/clock.js';
import { ManualClock } from './clock.js';

export class RequestClock implements Clock {
  readonly manual = new ManualClock();
  /** The request running now, if any. */
  current: string | undefined = undefined;
  readonly #ended = new Set<string>();
  // The owner of each timer pending.
  readonly #pending = new Map<unknown, string | undefined>();

  now(): number {
    return this.manual.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const owner = this.current;
    const handle = this.manual.setTimeout(() => {
      this.#pending.delete(handle);
      if (owner !== undefined && this.#ended.has(owner)) return;
      this.run(owner, fn);
    }, ms);
    this.#pending.set(handle, owner);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle);
    this.manual.clearTimeout(handle);
  }

  /** How many timers `request` set that are still pending: a request with none, waiting only on another's, is cancelled as hung. */
  pendingOf(request: string): number {
    let n = 0;
    for (const owner of this.#pending.values()) if (owner === request) n++;
    return n;
  }

  /** Runs `fn` as request `request` (or outside any). */
  run<T>(request: string | undefined, fn: () => T): T {
    const was = this.current;
    this.current = request;
    try {
      return fn();
    } finally {
      this.current = was;
    }
  }

  /** The request's response is done (or it was cancelled): its timers never fire. */
  end(request: string): void {
    this.#ended.add(request);
    for (const [handle, owner] of this.#pending) {
      if (owner === request) this.clearTimeout(handle);
    }
  }

  advance(ms: number): Promise<void> {
    return this.manual.advance(ms);
  }
}
