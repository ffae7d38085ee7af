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
  /** Timers set by each request, fired or not. */
  readonly set = new Map<string | undefined, number>();

  now(): number {
    return this.manual.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const owner = this.current;
    this.set.set(owner, (this.set.get(owner) ?? 0) + 1);
    return this.manual.setTimeout(() => {
      if (owner !== undefined && this.#ended.has(owner)) return;
      this.run(owner, fn);
    }, ms);
  }

  clearTimeout(handle: unknown): void {
    this.manual.clearTimeout(handle);
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

  /** The request's response is done: its timers never fire. */
  end(request: string): void {
    this.#ended.add(request);
  }

  advance(ms: number): Promise<void> {
    return this.manual.advance(ms);
  }
}
