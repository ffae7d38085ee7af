// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. The default
// clock's functions use no `this`, and say so (`this: void`): a linter's `unbound-method` then
// accepts `const { now } = systemClock`. A Clock of one's own keeps its plain methods, so a class
// whose methods read `this`, or an object literal, is still one.
import { CircuitBreaker, systemClock, type Clock } from 'bulwark';

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export function systemClockSpecs(): void {
  assertType<Equal<ThisParameterType<typeof systemClock.now>, void>>();
  assertType<Equal<ThisParameterType<typeof systemClock.setTimeout>, void>>();
  assertType<Equal<ThisParameterType<typeof systemClock.clearTimeout>, void>>();
  const { now, setTimeout, clearTimeout } = systemClock;
  const started: number = now();
  clearTimeout(setTimeout(() => {}, 10));
  // Still a Clock, wherever one is taken.
  const clock: Clock = systemClock;
  new CircuitBreaker({ clock: systemClock });
  void [started, clock];
}

class ManualClock {
  #now = 0;
  readonly #timers = new Map<number, () => void>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, _ms: number): unknown {
    this.#timers.set(this.#timers.size, fn);
    return this.#timers.size - 1;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
}

export function ownClockSpecs(t: number): void {
  const fromClass: Clock = new ManualClock();
  const fromLiteral: Clock = {
    now: () => t,
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (handle) => globalThis.clearTimeout(handle as NodeJS.Timeout),
  };
  const withMethods: Clock = {
    now() {
      return t;
    },
    setTimeout(fn, ms) {
      return globalThis.setTimeout(fn, ms);
    },
    clearTimeout(handle) {
      globalThis.clearTimeout(handle as NodeJS.Timeout);
    },
  };
  new CircuitBreaker({ clock: fromClass });
  void [fromLiteral, withMethods];
}
