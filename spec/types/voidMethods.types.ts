// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. A method
// whose result is `Promise<void>` discards its value, so a fallback may answer anything for it and
// its callers still see `void`; a method with a real result (`undefined` and `never` included)
// still refuses a substitute it cannot hold.
import { fallback, usePolicy } from '../../src/decorators/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

interface Price {
  readonly productId: string;
  readonly price: number;
}

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

const untyped = Policy.builder().fallback({ value: 0 }).build();
const typed = Policy.builder<Price>().fallback({ value: null }).build();

export class Audit {
  @fallback({ method: (_error, id: string) => ({ id, logged: false }) })
  async log(id: string): Promise<void> {
    void id;
  }

  @fallback({ value: 0 })
  async flush(): Promise<void> {}

  @usePolicy(untyped)
  async send(): Promise<void> {}

  // @ts-expect-error a fallback value a `Promise<number>` method cannot hold
  @fallback({ value: 'none' })
  async count(): Promise<number> {
    return 1;
  }

  // @ts-expect-error `undefined` is a value callers read: a number is not one
  @fallback({ value: 0 })
  async nothing(): Promise<undefined> {
    return undefined;
  }

  // @ts-expect-error a method that never resolves holds no substitute
  @fallback({ value: 0 })
  async never(): Promise<never> {
    throw new Error('never');
  }

  // @ts-expect-error a typed policy still checks what the method resolves to
  @usePolicy(typed)
  async price(): Promise<void> {}
}

export function voidMethodTypeSpecs(audit: Audit): void {
  // Callers see the method as declared.
  assertType<Equal<ReturnType<Audit['log']>, Promise<void>>>();
  assertType<Equal<ReturnType<Audit['flush']>, Promise<void>>>();
  void audit.log('a');
}
