import { expect } from 'chai';
import sinon from 'sinon';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  retry,
  timeLimiter,
  usePolicy,
} from '../../src/decorators/index.js';
import { CircuitOpenError, OperationTimeoutError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { CircuitBreaker } from '../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { settle } from '../support/promises.js';

type Decorator = (...args: unknown[]) => unknown;
type Define = (d: object, api: Api) => Service;

/** What a compiled class calls: `this` and the arguments of each call, and how it ends. */
interface Api {
  call(self: unknown, id: string): Promise<string>;
}

interface Service {
  new (): { base: number; getPrice(id: string): Promise<string> };
  load(key: string): Promise<string>;
}

/**
 * Compiles `source` as TypeScript 5 does for a project with `experimentalDecorators` and
 * `emitDecoratorMetadata` on, as NestJS projects compile (legacy decorators: `__decorate` calls
 * each with `(target, key, descriptor)`, metadata included), and returns its `define`.
 */
async function compileLegacy(source: string): Promise<Define> {
  const ts = (await import('typescript5')).default;
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      useDefineForClassFields: false,
    },
  });
  expect(outputText).to.include('__decorate(');
  const url = `data:text/javascript,${encodeURIComponent(outputText)}`;
  return ((await import(url)) as { define: Define }).define;
}

/**
 * A NestJS-style service: a fallback over a bulkhead over a time limiter over a retry, and a
 * retried static method. `api.call` does the work, told `this` and the id.
 */
const SERVICE = `
  export function define(d: any, api: any) {
    class PricingService {
      base = 100;

      @d.fallback
      @d.bulkhead
      @d.timeLimiter
      @d.retry
      async getPrice(id: string): Promise<string> {
        return api.call(this, id);
      }

      @d.retry
      static async load(key: string): Promise<string> {
        return api.call(this, key);
      }
    }
    return PricingService;
  }`;

// A retry's next attempt waits for a real macrotask (never faked): time advances in steps with
// one between them.
const realTurn = setImmediate;

describe('decorators under experimentalDecorators (legacy decorators)', () => {
  let clock: sinon.SinonFakeTimers;
  let define: Define;
  before(async function () {
    this.timeout(20_000);
    define = await compileLegacy(SERVICE);
    // What a NestJS project emits: the decorators' calls and the parameters' metadata.
    expect(define.toString()).to.include('__metadata("design:paramtypes", [String])');
  });
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  async function advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 10) {
      await clock.tickAsync(10);
      await new Promise((resolve) => realTurn(resolve));
    }
  }

  /** A fresh set of the stacked decorators, with the bulkhead they share. */
  function decorators() {
    const pool = new Bulkhead({ maxConcurrent: 1 });
    const d = {
      fallback: fallback({
        method: (error: unknown, id: string) => `fallback:${id}:${(error as Error).name}`,
      }),
      bulkhead: bulkhead(pool),
      timeLimiter: timeLimiter({ timeout: '300ms' }),
      retry: retry({ maxAttempts: 3, delay: 0 }),
    };
    return { d, pool };
  }

  /**
   * The work: fails `failures` times, then answers with `this.base` and the id, or, for an id
   * starting with `hang`, never settles until `end()`. Records each call's `this`.
   */
  function work(failures: number) {
    const selves: unknown[] = [];
    const pending: Array<() => void> = [];
    let left = failures;
    const api: Api = {
      call(self, id) {
        selves.push(self);
        if (id.startsWith('hang')) {
          return new Promise((resolve) => pending.push(() => resolve('late')));
        }
        if (left-- > 0) return Promise.reject(new Error('down'));
        return Promise.resolve(`${(self as { base?: number }).base ?? 'static'}:${id}`);
      },
    };
    const end = (): void => {
      for (const resolve of pending.splice(0)) resolve();
    };
    return { api, selves, end };
  }

  /**
   * Runs the same calls through a service class and reports what a caller and the bulkhead see:
   * a retried call, a call past its deadline, and one that finds the slot still held by it.
   */
  async function scenario(make: (d: ReturnType<typeof decorators>['d'], api: Api) => Service) {
    const { d, pool } = decorators();
    const w = work(2);
    const svc = new (make(d, w.api))();
    const retried = settle(svc.getPrice('a'));
    await advance(50);
    const calls = w.selves.length;
    const late = settle(svc.getPrice('hang'));
    await advance(300);
    const held = [pool.availableSlots, pool.orphaned];
    const refused = await svc.getPrice('b');
    w.end();
    await clock.tickAsync(0);
    return {
      retried: retried.value,
      calls,
      self: w.selves.every((s) => s === svc),
      late: late.value,
      held,
      refused,
      after: [pool.availableSlots, pool.orphaned],
    };
  }

  it('wraps a method as the standard decorators do: same stacking order, `this` and outcomes', async () => {
    const legacy = await scenario(define);
    expect(legacy).to.deep.equal({
      // Retried twice beneath the time limiter, with the instance as `this`.
      retried: '100:a',
      calls: 3,
      self: true,
      // The time limiter answers at its deadline, beneath the fallback, and is not retried ...
      late: 'fallback:hang:OperationTimeoutError',
      // ... while the bulkhead over it keeps the slot until the work settles, as an orphan.
      held: [0, 1],
      refused: 'fallback:b:BulkheadFullError',
      after: [1, 0],
    });
    // The same class written with standard decorators behaves the same.
    const standard = await scenario((d, api) => {
      class PricingService {
        base = 100;

        @d.fallback
        @d.bulkhead
        @d.timeLimiter
        @d.retry
        async getPrice(id: string): Promise<string> {
          return api.call(this, id);
        }

        static load(): Promise<string> {
          return Promise.resolve('');
        }
      }
      return PricingService;
    });
    expect(standard).to.deep.equal(legacy);
  });

  it('decorates a static method, called with the class as `this`', async () => {
    const w = work(1);
    const Svc = define({ ...decorators().d, retry: retry({ maxAttempts: 2, delay: 0 }) }, w.api);
    const loaded = settle(Svc.load('k'));
    await advance(50);
    expect(loaded.value).to.equal('static:k');
    expect(w.selves).to.deep.equal([Svc, Svc]);
  });

  it('replaces the method once on the prototype: every instance shares the wrapper and its policies', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    const w = work(Infinity);
    const d = { ...decorators().d, fallback: circuitBreaker(breaker) };
    const Svc = define(d, w.api);
    const [a, b] = [new Svc(), new Svc()];
    expect(a.getPrice).to.equal(b.getPrice);
    const own = Object.getOwnPropertyDescriptor(Svc.prototype, 'getPrice');
    expect(own).to.include({ enumerable: false, configurable: true, writable: true });
    expect(own?.value).to.have.property('name', 'getPrice');
    expect(own?.value).to.have.property('length', 1);
    // One breaker behind both instances: two failures, one through each, open it.
    for (const svc of [a, b]) {
      const failed = settle(svc.getPrice('x'));
      await advance(50);
      expect(failed.reason).to.have.property('message', 'down');
    }
    const open = settle(b.getPrice('x'));
    await clock.tickAsync(0);
    expect(open.reason).to.be.instanceOf(CircuitOpenError);
  });

  it('names the method in a time limiter message, and in a static one', async () => {
    const w = work(0);
    const d = { ...decorators().d, fallback: timeLimiter({ timeout: '1s' }) };
    const Svc = define({ ...d, retry: timeLimiter({ timeout: '2s' }) }, w.api);
    const instance = settle(new Svc().getPrice('hang'));
    const statik = settle(Svc.load('hang'));
    await clock.tickAsync(2_000);
    expect(instance.reason).to.be.instanceOf(OperationTimeoutError);
    expect((instance.reason as Error).message).to.match(/^getPrice exceeded timeout/);
    expect((statik.reason as Error).message).to.match(/^load exceeded timeout/);
    w.end();
  });

  it('takes a symbol-keyed method, named as the function is', async () => {
    const key = Symbol('load');
    const descriptor = {
      value: async function (this: { n: number }) {
        return this.n;
      },
      writable: true,
      enumerable: false,
      configurable: true,
    };
    Object.defineProperty(descriptor.value, 'name', { value: '[load]' });
    const decorate = usePolicy(Policy.builder('p').build()) as unknown as Decorator;
    const out = decorate({}, key, descriptor) as PropertyDescriptor;
    // A new descriptor: the one given is left as it was.
    expect(out).to.not.equal(descriptor);
    expect(out.value).to.not.equal(descriptor.value);
    expect(out.value).to.have.property('name', '[load]');
    expect(await (out.value as () => Promise<number>).call({ n: 7 })).to.equal(7);
  });

  it('refuses a getter, a setter, an accessor, a field and a class, naming each', async function () {
    this.timeout(20_000);
    const decorate = retry() as unknown as Decorator;
    const get = (): number => 1;
    const set = (_v: number): void => {};
    const refused = (descriptor: PropertyDescriptor | undefined) => () =>
      decorate({}, 'total', descriptor);
    expect(refused({ get })).to.throw(
      TypeError,
      /^retry decorates methods only, got a getter `total`$/,
    );
    expect(refused({ set })).to.throw(TypeError, /got a setter `total`$/);
    expect(refused({ get, set })).to.throw(TypeError, /got an accessor `total`$/);
    // TypeScript's call for a field passes no descriptor; Babel's passes an `initializer`.
    expect(refused(undefined)).to.throw(TypeError, /got a field `total`$/);
    expect(refused({ initializer: () => 1 } as PropertyDescriptor)).to.throw(TypeError, /a field/);
    const key = Symbol('count');
    expect(() => decorate({}, key)).to.throw(TypeError, /got a field `Symbol\(count\)`$/);
    // Compiled: a decorated class and field are refused when the class is defined.
    const klass = await compileLegacy(`
      export function define(d: any) {
        @d.retry class Service { m(x: string) { return x; } }
        return Service;
      }`);
    expect(() => klass({ retry: decorate }, work(0).api)).to.throw(
      TypeError,
      /^retry decorates methods only, got the class `Service`$/,
    );
    const field = await compileLegacy(`
      export function define(d: any) {
        class Service { @d.retry count: number = 0; m(x: string) { return x; } }
        return Service;
      }`);
    expect(() => field({ retry: decorate }, work(0).api)).to.throw(
      TypeError,
      /^retry decorates methods only, got a field `count`$/,
    );
  });

  it('wraps a function whose source begins with "class" that is no class', async () => {
    const svc = {
      classify(x: string) {
        return `${x}!`;
      },
    };
    // `(classes) => ...` prints without its parentheses once compiled: `classes => ...`.
    const count = new Function('return classes => classes.length')() as (c: string[]) => number;
    expect(await retry({ maxAttempts: 1 })(svc.classify)('a')).to.equal('a!');
    expect(await usePolicy(Policy.builder('p').build())(count)(['a', 'b'])).to.equal(2);
  });
});
