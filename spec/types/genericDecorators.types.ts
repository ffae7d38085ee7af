// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Decorators on
// generic methods and on methods whose result names a type parameter of their (possibly
// abstract) class compile and keep the method's type; the refusals still hold.
import { fallback, retry, timeLimiter, usePolicy } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export function genericDecoratorSpecs(): void {
  class Cache<T> {
    readonly #load: (k: string) => Promise<T>;
    constructor(load: (k: string) => Promise<T>) {
      this.#load = load;
    }

    @retry({ maxAttempts: 3 })
    async get(k: string): Promise<T> {
      return this.#load(k);
    }

    @timeLimiter({ timeout: '1s' })
    @retry({ maxAttempts: 2 })
    async first<U>(xs: U[]): Promise<U | undefined> {
      return xs[0];
    }

    @fallback({ value: undefined })
    async maybe<U>(xs: U[]): Promise<U | undefined> {
      return xs[0];
    }

    @fallback({ value: 0 })
    async count(): Promise<number> {
      return 1;
    }

    // @ts-expect-error a decorated method must be async, generic or not
    @retry({ maxAttempts: 2 })
    syncFirst<U>(xs: U[]): U | undefined {
      return xs[0];
    }

    // @ts-expect-error a fallback value the method's result type cannot hold
    @fallback({ value: 'none' })
    async size(): Promise<number> {
      return 1;
    }
  }

  abstract class Repository<T> {
    protected abstract fetch(id: string): Promise<T>;

    @retry({ maxAttempts: 3 })
    @timeLimiter({ timeout: '2s' })
    async byId(id: string): Promise<T> {
      return this.fetch(id);
    }
  }

  class Numbers extends Repository<number> {
    protected async fetch(id: string): Promise<number> {
      return id.length;
    }
  }

  // A result that names the class's type parameter along with the substitute's type: the check
  // cannot be decided while the class is compiled, and assignability decides it.
  class Repo<T> {
    readonly #load: (id: string) => Promise<T | null>;
    constructor(load: (id: string) => Promise<T | null>) {
      this.#load = load;
    }

    @fallback({ value: null })
    async find(id: string): Promise<T | null> {
      return this.#load(id);
    }

    @fallback({ method: () => undefined })
    @retry({ maxAttempts: 2 })
    async peek(id: string): Promise<T | null | undefined> {
      return this.#load(id);
    }

    @fallback({ method: async () => null })
    async findAsync(id: string): Promise<T | null> {
      return this.#load(id);
    }

    // @ts-expect-error T may be anything: null cannot stand in for it
    @fallback({ value: null })
    async get(id: string): Promise<T> {
      return (await this.#load(id)) as T;
    }

    // @ts-expect-error a string is no T | null
    @fallback({ value: 'missing' })
    async name(id: string): Promise<T | null> {
      return this.#load(id);
    }
  }

  const repo = new Repo<{ id: string }>(async (id) => ({ id }));
  assertType<Equal<typeof repo.find, (id: string) => Promise<{ id: string } | null>>>();

  const cache = new Cache(async (k) => k.length);
  assertType<Equal<typeof cache.get, (k: string) => Promise<number>>>();
  assertType<Equal<typeof cache.first, <U>(xs: U[]) => Promise<U | undefined>>>();
  const n: Promise<number | undefined> = cache.first([1, 2]);
  void n;
  assertType<Equal<ReturnType<Numbers['byId']>, Promise<number>>>();

  // A typed policy cannot vouch for a result the class leaves open.
  const typed = Policy.builder<number>('numbers').build();
  class Open<T> {
    // @ts-expect-error the policy takes numbers; T may be anything
    @usePolicy(typed)
    async value(v: T): Promise<T> {
      return v;
    }

    @usePolicy(typed)
    async count(): Promise<number> {
      return 1;
    }
  }
  void Open;
}
