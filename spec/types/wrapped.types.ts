// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
// A registry's policy typed by its caller, and the signal a wrapper picks from its arguments.
import { usePolicy } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export async function wrappedTypeSpecs(registry: PolicyRegistry): Promise<void> {
  // The caller's result type is also what the policy's fallbacks produce, unless stated apart.
  const typed = registry.policy<string>('downstream');
  const r: string = await typed.execute(() => 'x');
  assertType<Equal<ReturnType<typeof typed.execute<string>>, Promise<string>>>();
  // @ts-expect-error a result of the stated type is not a number
  const wrong: number = await typed.execute(() => 'x');
  // @ts-expect-error a thunk of another result type
  void typed.execute(() => 1);
  const orNull = registry.policy<string, null>('downstream').execute(() => 'x');
  assertType<Equal<typeof orNull, Promise<string | null>>>();
  // Without type arguments a call resolves to its thunk's type, as `policy<string>` to a string.
  const untyped = registry.policy('downstream').execute(() => 'x');
  assertType<Equal<typeof untyped, Promise<string>>>();
  const counted = registry.policy('downstream').execute(async () => 5);
  assertType<Equal<typeof counted, Promise<number>>>();
  // A configured fallback of another type is declared with both.
  const declared = registry.policy<number, number | null>('downstream').execute(async () => 5);
  assertType<Equal<typeof declared, Promise<number | null>>>();

  class Service {
    @usePolicy(registry.policy<string>('downstream'))
    async m(_s: AbortSignal): Promise<string> {
      return 'x';
    }

    // @ts-expect-error a policy typed for strings on a method of numbers
    @usePolicy(registry.policy<string>('downstream'))
    async n(): Promise<number> {
      return 1;
    }
  }
  void [r, wrong, Service];
}

interface Req {
  readonly signal: AbortSignal;
  readonly id: string;
}

export function signalOptionTypeSpecs(policy: Policy<string>): void {
  // The picker takes the wrapped function's parameters, typed from it.
  const get = policy.wrap(async (req: Req, n: number): Promise<string> => req.id + String(n), {
    signal: (req, n) => (n > 0 ? req.signal : undefined),
  });
  assertType<Equal<typeof get, (req: Req, n: number) => Promise<string>>>();
  // A picker may declare fewer parameters.
  policy.wrap(async (req: Req, _n: number) => req.id, { signal: (req: Req) => req.signal });
  // @ts-expect-error a picker whose parameters do not fit the function's
  policy.wrap(async (req: Req) => req.id, { signal: (n: number) => AbortSignal.timeout(n) });
  // @ts-expect-error a picker that returns no signal
  policy.wrap(async (req: Req) => req.id, { signal: (req) => req.id });

  class Handler {
    @usePolicy(policy, { signal: (req: Req) => req.signal })
    async get(req: Req, _extra?: number): Promise<string> {
      return req.id;
    }

    // @ts-expect-error a picker of other parameters than the method's
    @usePolicy(policy, { signal: (req: Req) => req.signal })
    async other(n: number): Promise<string> {
      return String(n);
    }

    // A method picker reads the call's `this`, as it is called with it.
    readonly gone = new AbortController().signal;
    @usePolicy(policy, {
      signal: function () {
        return this.gone;
      },
    })
    async own(id: string): Promise<string> {
      return id;
    }
  }
  void Handler;

  class Client {
    readonly signal = new AbortController().signal;
  }
  // `this` of the picker is the wrapped function's.
  policy.wrap(
    async function (this: Client, id: string) {
      return id;
    },
    {
      signal() {
        return this.signal;
      },
    },
  );
  policy.wrap(
    async function (this: Client, id: string) {
      return id;
    },
    {
      signal() {
        // @ts-expect-error a Client has no `gone`
        return this.gone;
      },
    },
  );
}
