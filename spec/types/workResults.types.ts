// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
// What a call resolves to, as application code writes its work: a function answering from a
// synchronous cache or asynchronously (`Promise<string> | number`), work resolving to `any`
// (`response.json()`), a result type given as a type argument, a union of policies.
import { circuitBreaker, fallback, retry, usePolicy } from '../../src/decorators/index.js';
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { Chaos } from '../../src/strategies/chaos/Chaos.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { Hedge } from '../../src/strategies/hedge/Hedge.js';
import { RateLimiter } from '../../src/strategies/rate-limiter/RateLimiter.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

interface Price {
  readonly id: string;
  readonly amount: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

declare const cache: Map<string, number>;
declare function fetchName(id: string): Promise<string>;
/** Answers from a synchronous cache, else asynchronously. */
const load = (id: string): Promise<string> | number => cache.get(id) ?? fetchName(id);
declare const response: Response;
declare const price: Price;

export function unionResultSpecs(): void {
  // Every member of the work's result is kept: a number is a result too.
  const untyped = Policy.builder('p').retry({ maxAttempts: 2 }).build();
  const a = untyped.execute(() => load('a'));
  assertType<Equal<typeof a, Promise<string | number>>>();
  // @ts-expect-error the call may resolve to a number
  const notString: Promise<string> = untyped.execute(() => load('a'));
  const typed = Policy.builder<string | number>('p').build();
  const b = typed.execute(() => load('a'));
  assertType<Equal<typeof b, Promise<string | number>>>();
  const strings = Policy.builder<string>('p').build();
  // @ts-expect-error a policy of strings refuses work that may answer a number
  void strings.execute(() => load('a'));
  const withFallback = Policy.builder('p').fallback({ value: null }).build();
  const c = withFallback.execute(() => load('a'));
  assertType<Equal<typeof c, Promise<string | number | null>>>();

  // Wrappers take such a function as they take any other.
  const wrapped = untyped.wrap(load);
  assertType<Equal<typeof wrapped, (id: string) => Promise<string | number>>>();
  const retried = retry({ maxAttempts: 2 })(load);
  assertType<Equal<typeof retried, (id: string) => Promise<string | number>>>();
  const guarded = fallback({ value: null })(load);
  assertType<Equal<typeof guarded, (id: string) => Promise<string | number | null>>>();
  // @ts-expect-error a typed policy's wrapper refuses it too
  Policy.builder<string>('p').build().wrap(load);

  // So do the primitives.
  const r = new Retry().execute(() => load('a'));
  assertType<Equal<typeof r, Promise<string | number>>>();
  const cb = new CircuitBreaker().execute(() => load('a'));
  assertType<Equal<typeof cb, Promise<string | number>>>();
  const fb = new Fallback({ value: null }).execute(() => load('a'));
  assertType<Equal<typeof fb, Promise<string | number | null>>>();
  const h = new Hedge().execute(() => load('a'));
  assertType<Equal<typeof h, Promise<string | number>>>();
  const bh = new Bulkhead({ maxConcurrent: 1 }).execute(() => load('a'));
  assertType<Equal<typeof bh, Promise<string | number>>>();
  const rl = new RateLimiter({ maxTokens: 1, refillRate: 1 }).execute(() => load('a'));
  assertType<Equal<typeof rl, Promise<string | number>>>();
  const tl = new TimeLimiter({ timeout: '1s' }).execute(() => load('a'));
  assertType<Equal<typeof tl, Promise<string | number>>>();
  const ch = new Chaos({ fault: { rate: 0.1 } }).execute(() => load('a'));
  assertType<Equal<typeof ch, Promise<string | number>>>();
  // @ts-expect-error a retry judging strings refuses work that may answer a number
  void new Retry({ retryOnResult: (s: string) => s === '' }).execute(() => load('a'));
}

export function anyResultSpecs(): void {
  // Work resolving to `any` on a typed policy resolves to the policy's type (and its fallback's).
  const pricing = Policy.builder<Price>('pricing').fallback({ value: null }).retry().build();
  const p = pricing.execute(async (ctx) => (await fetch('https://x', ctx)).json());
  assertType<Equal<typeof p, Promise<Price | null>>>();
  const q = pricing.execute(() => response.json());
  assertType<Equal<typeof q, Promise<Price | null>>>();
  const getPrice = pricing.wrap(async (id: string) => (await fetch(id)).json());
  assertType<Equal<typeof getPrice, (id: string) => Promise<Price | null>>>();
  const registered = PolicyRegistry.fromConfig({ policies: { p: [{ retry: {} }] } })
    .policy<Price>('p')
    .execute(() => response.json());
  assertType<Equal<typeof registered, Promise<Price>>>();
  // So do a typed wrapper and a primitive judging results.
  const judged = retry({ retryOnResult: (r: Price) => r.amount < 0 })(() => response.json());
  assertType<Equal<typeof judged, () => Promise<Price>>>();
  const policyWrapped = usePolicy(pricing)(() => response.json());
  assertType<Equal<typeof policyWrapped, () => Promise<Price | null>>>();
  const retryJudging = new Retry({ retryOnResult: (r: Price) => r.amount < 0 });
  const rj = retryJudging.execute(() => response.json());
  assertType<Equal<typeof rj, Promise<Price>>>();
  const breaker = new CircuitBreaker({ recordOnResult: (r: Price) => r.amount < 0 });
  const bj = breaker.execute(() => response.json());
  assertType<Equal<typeof bj, Promise<Price>>>();
  const onResult = new Fallback({ value: null, onResult: (r: Price) => r.amount < 0 });
  const fj = onResult.execute(() => response.json());
  assertType<Equal<typeof fj, Promise<Price | null>>>();
  const hedged = new Hedge<Price>().execute(() => response.json());
  assertType<Equal<typeof hedged, Promise<Price>>>();
  const wrappedBreaker = circuitBreaker(breaker)(() => response.json());
  assertType<Equal<typeof wrappedBreaker, () => Promise<Price>>>();
  // Where nothing expects a type, `any` stays `any`, as it is written.
  /* eslint-disable @typescript-eslint/no-explicit-any -- the result asserted is `any` */
  const untyped = Policy.builder('p')
    .build()
    .execute(() => response.json());
  assertType<Equal<typeof untyped, Promise<any>>>();
  const loose = new Retry().execute(() => response.json());
  assertType<Equal<typeof loose, Promise<any>>>();
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

export function keptSpecs(): void {
  // A thunk whose result takes its type from context is typed by the policy's.
  const numbers = Policy.builder<number>('n').build();
  const fromContext = numbers.execute(() => new Promise((resolve) => resolve(42)));
  assertType<Equal<typeof fromContext, Promise<number>>>();
  const judging = new Retry({ retryOnResult: (n: number) => n < 0 });
  const primitiveContext = judging.execute(() => new Promise((resolve) => resolve(42)));
  assertType<Equal<typeof primitiveContext, Promise<number>>>();
  // @ts-expect-error resolved with a string: refused
  void judging.execute(() => new Promise((resolve) => resolve('x')));
  const pricing = Policy.builder<Price>('pricing').fallback({ value: null }).build();
  const kept = pricing.execute(async () => price);
  assertType<Equal<typeof kept, Promise<Price | null>>>();
  // A result type given as a type argument.
  const given = Policy.builder('p')
    .build()
    .execute<string>(() => Promise.resolve('x'));
  assertType<Equal<typeof given, Promise<string>>>();
  const anything = Policy.builder('p').build();
  // @ts-expect-error work of another type than the one given
  void anything.execute<string>(async () => 1);
  const givenRetry = new Retry().execute<string>(() => Promise.resolve('x'));
  assertType<Equal<typeof givenRetry, Promise<string>>>();
  const givenBulkhead = new Bulkhead({ maxConcurrent: 1 }).execute<string>(async () => 'x');
  assertType<Equal<typeof givenBulkhead, Promise<string>>>();
  assertType<Equal<ReturnType<typeof pricing.execute<Price>>, Promise<Price | null>>>();
  // A union of policies can be called; each member's substitute is kept.
  const either = [pricing, Policy.builder<Price>('plain').build()] as const;
  const one = either[Math.random() < 0.5 ? 0 : 1];
  const fromEither = one.execute(async () => price);
  assertType<Equal<Awaited<typeof fromEither>, Price | null>>();
  // Generic code over a policy keeps its type parameter.
  async function through<T>(policy: Policy<T>, work: () => Promise<T>): Promise<T> {
    const direct: T = await policy.execute(work);
    const viaArrow: T = await policy.execute(() => work());
    return viaArrow ?? direct;
  }
  void through;
  // A policy with a substitute is no policy without one: its calls may resolve to the substitute.
  // @ts-expect-error `null` is no Price
  const plain: Policy<Price> = pricing;
  void plain;
}

export function genericSpecs(): void {
  // Work resolving to a type parameter narrower than the policy's type keeps it.
  const numbers = Policy.builder<number>('n').retry().build();
  class Ids<T extends number> {
    private readonly id: T;
    constructor(id: T) {
      this.id = id;
    }
    async wrapped(): Promise<T> {
      return numbers.wrap(async () => this.id)();
    }
    async retried(): Promise<T> {
      const value = await retry({ retryOnResult: (n: number) => n < 0 })(async () => this.id)();
      return value;
    }
    async returned(): Promise<T> {
      return numbers.execute(async () => this.id);
    }
    // Held in a variable first, the call names it: work resolving to `any` would take the
    // policy's type, which TypeScript cannot rule out for a type parameter.
    async named(): Promise<T> {
      const value = await numbers.execute<T>(async () => this.id);
      return value;
    }
  }
  void Ids;
}

export function dataOptionSpecs(request: Request): void {
  const policy = Policy.builder('p').build();
  // A class instance (or an interface) with a \`call\` member is data like any other object.
  class Job {
    readonly id = 'a';
    call(): string {
      return this.id;
    }
  }
  interface Invocation {
    readonly id: string;
    call(): void;
  }
  const invocation: Invocation = { id: 'a', call: () => undefined };
  void policy.execute(() => 1, { data: new Job() });
  void policy.execute(() => 1, { data: invocation });
  void resilientFetch(policy)('https://example.test', { data: new Job() });
  void policy.execute(() => 1, { data: { id: 'a' } });
  void policy.execute(() => 1, { data: new Map([['id', 'a']]) });
  void policy.execute(() => 1, { data: request });
  void policy.execute(() => 1, { data: undefined });
}

export function overloadSpecs(): void {
  // Of an overloaded function, the overload wanted is named with its result as it is.
  interface User {
    readonly id: string;
  }
  const policy = Policy.builder('p').build();
  const named = policy.wrap<[id: string], Promise<User>>(getUser);
  assertType<Equal<typeof named, (id: string) => Promise<User>>>();
  const retried = retry()<[id: string], Promise<User>>(getUser);
  assertType<Equal<typeof retried, (id: string) => Promise<User>>>();
  function getUser(id: string): Promise<User>;
  function getUser(id: number): Promise<User>;
  async function getUser(id: string | number): Promise<User> {
    return { id: String(id) };
  }
}
