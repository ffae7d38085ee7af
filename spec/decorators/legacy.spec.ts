import { expect } from 'chai';
import { transform } from 'esbuild';
import { fallback, retry, usePolicy } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

type Decorator = (...args: unknown[]) => unknown;

/**
 * Compiles `source` as a project with `experimentalDecorators` on would (TypeScript's legacy
 * decorators: `decorator(target, key, descriptor)`), and returns its module.
 */
async function compileLegacy(source: string): Promise<{ define(d: Decorator): unknown }> {
  const { code } = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'es2022',
    tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
  });
  return (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as {
    define(d: Decorator): unknown;
  };
}

const STANDARD =
  /^fallback: bulwark's decorators are standard \(TC39\) decorators, but `get` was decorated as a legacy one: turn `experimentalDecorators` off/;

describe('decorators under experimentalDecorators (legacy decorators)', () => {
  it('refuses a legacy-decorated method with a TypeError that says what to change', async function () {
    this.timeout(20_000);
    const m = await compileLegacy(`
      export function define(d: any) {
        class S {
          @d async get(): Promise<string> { throw new Error('down'); }
        }
        return S;
      }`);
    const decorator = fallback({ value: 'fb' }) as unknown as Decorator;
    expect(() => m.define(decorator)).to.throw(TypeError, STANDARD);
  });

  it('refuses the legacy shape for a static method, a field and a symbol key too', () => {
    class Target {
      static run(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Target, 'run');
    const decorate = retry() as unknown as Decorator;
    expect(() => decorate(Target, 'run', descriptor)).to.throw(
      TypeError,
      "retry: bulwark's decorators are standard (TC39) decorators, but `run` was decorated as a legacy one",
    );
    // A field: TypeScript's legacy call passes no descriptor.
    expect(() => decorate(Target.prototype, 'count')).to.throw(TypeError, /`count` was decorated/);
    const key = Symbol('load');
    const viaPolicy = usePolicy(Policy.builder('p').build()) as unknown as Decorator;
    expect(() => viaPolicy(Target.prototype, key, { value: () => 1 })).to.throw(
      TypeError,
      /usePolicy: .*`Symbol\(load\)` was decorated as a legacy one/,
    );
  });

  it('refuses a legacy-decorated class when it is defined, not swapping it for a function', async function () {
    this.timeout(20_000);
    const m = await compileLegacy(`
      export function define(d: any) {
        @d class Service {}
        return Service;
      }`);
    const decorator = retry() as unknown as Decorator;
    expect(() => m.define(decorator)).to.throw(
      TypeError,
      /^retry: bulwark's decorators are standard \(TC39\) decorators, but `Service` was decorated as a legacy one: turn `experimentalDecorators` off/,
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

  it('still wraps functions and decorates standard methods', async () => {
    const decorator = fallback({ value: 'fb' });
    const wrapped = decorator(async (): Promise<string> => {
      throw new Error('down');
    });
    expect(await wrapped()).to.equal('fb');
    class Service {
      @fallback({ value: 'fb' })
      async get(): Promise<string> {
        throw new Error('down');
      }
    }
    expect(await new Service().get()).to.equal('fb');
  });
});
