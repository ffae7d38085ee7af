// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. What a
// consumer of chaos meets: `execute` typed by the work alone unless results are injected (in a
// policy too), and `fault.error`'s function form typed by the call it receives.
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Chaos, type ChaosCall, type ChaosOptions } from '../../src/strategies/chaos/Chaos.js';

interface Price {
  readonly amount: number;
}
declare function fetchPrice(id: string): Promise<Price>;
declare function injectsPrices(): Chaos<Price>;

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export async function chaosTypeSpecs(): Promise<void> {
  // Without `result`, a call answers with the work's type: not `unknown`, not `any`.
  const chaos = new Chaos({ fault: { rate: 0.3 }, latency: { rate: 0.1, delay: '1s' }, seed: 42 });
  const price: Price = await chaos.execute(() => fetchPrice('p1'));
  // @ts-expect-error a Price is not a string
  const notString: string = await chaos.execute(() => fetchPrice('p1'));

  // With `result`, a call may answer with the injected value instead.
  const stale = new Chaos({ result: { rate: 0.1, value: { amount: 0, stale: true } } });
  const either: Price | { amount: number; stale: boolean } = await stale.execute(() =>
    fetchPrice('p2'),
  );
  // @ts-expect-error the injected value may answer, and it is not a Price
  const onlyPrice: Price & { stale: undefined } = await stale.execute(() => fetchPrice('p2'));

  // `fault.error` as a function receives the call (no implicit any under noImplicitAny).
  new Chaos({ fault: { rate: 1, error: (call) => new Error(`attempt ${call.attempt}`) } });
  new Chaos({ fault: { rate: 1, error: (call: ChaosCall) => call.policyName } });
  new Chaos({ fault: { rate: 1, error: 'injected' } });
  new Chaos({ fault: { rate: 1, error: new RangeError('injected') } });
  // @ts-expect-error the call has no `signal`
  new Chaos({ fault: { rate: 1, error: (call) => call.signal } });
  // @ts-expect-error what a fault fails with is an Error, a string or a function
  new Chaos({ fault: { rate: 1, error: 42 } });

  // Inside a policy of Prices: the same function form, and a Chaos that injects nothing or Prices.
  const drill = Policy.builder<Price>('drill')
    .chaos({ fault: { rate: 1, error: (call) => new Error(`attempt ${call.attempt}`) } })
    .build();
  const drilled: Price = await drill.execute(() => fetchPrice('p3'));
  Policy.builder<Price>('shared')
    .chaos(chaos)
    .chaos(new Chaos({ result: { rate: 1, value: price } }));
  // @ts-expect-error options that inject strings cannot serve a policy of Prices
  Policy.builder<Price>('wrong').chaos({ result: { rate: 1, value: 'cheap' } });
  const cheap = new Chaos({ result: { rate: 1, value: 'cheap' } });
  // @ts-expect-error nor can a Chaos that injects strings
  Policy.builder<Price>('wrong').chaos(cheap);
  // An untyped builder takes either.
  Policy.builder('any')
    .chaos(cheap)
    .chaos({ result: { rate: 1, value: 0 } });
  // An injected value written like a T keeps T's literal property types.
  interface Reply {
    readonly status: 'ok' | 'unavailable';
  }
  Policy.builder<Reply>('r').chaos({ result: { rate: 0.5, value: { status: 'unavailable' } } });
  stages.chaos(stale);
  stages.chaos({ fault: { rate: 1, error: (call) => new Error(call.policyName) } });
  // Through `use`, the same: a stage injecting nothing or Prices, not strings.
  Policy.builder<Price>('used')
    .use(stages.chaos({ fault: { rate: 1 } }))
    .use(stages.chaos(chaos))
    .use(stages.chaos({ result: { rate: 1, value: price } }));
  // @ts-expect-error a chaos stage that injects strings cannot serve a policy of Prices
  Policy.builder<Price>('wrong').use(stages.chaos(cheap));
  // @ts-expect-error so does one made from options
  Policy.builder<Price>('wrong').use(stages.chaos({ result: { rate: 1, value: 'cheap' } }));

  // An injected result joins the policy's result type: a call may resolve to it whatever its work
  // resolves to.
  const five = Policy.builder<number>('five')
    .chaos({ result: { rate: 1, value: 5 } })
    .build();
  const one = five.execute(async () => 1 as const);
  assertType<Equal<typeof one, Promise<1 | 5>>>();
  // @ts-expect-error the injected 5 may answer instead of the work's 1
  const onlyOne: Promise<1> = one;
  const injecting = Policy.builder<string>('s')
    .chaos({ result: { rate: 1, value: 'injected' } })
    .build();
  // @ts-expect-error as above, for strings
  const onlyReal: Promise<'real'> = injecting.execute(async () => 'real' as const);
  // So through `use`, and from a `Chaos` given; a chaos injecting no result adds nothing.
  const viaUse = Policy.builder<number>('used')
    .use(stages.chaos({ result: { rate: 1, value: 5 } }))
    .build();
  // @ts-expect-error the injected number may answer instead of the work's 1
  const onlyOneUsed: Promise<1> = viaUse.execute(async () => 1 as const);
  const given = Policy.builder<Price>('given').chaos(injectsPrices()).build();
  const offer = given.execute(async () => ({ amount: 1, discounted: true }));
  assertType<Equal<typeof offer, Promise<Price | { amount: number; discounted: boolean }>>>();
  const quiet = Policy.builder<number>('quiet')
    .chaos({ fault: { rate: 1 }, latency: { rate: 1, delay: 1 } })
    .use(stages.chaos({ fault: { rate: 1 } }))
    .chaos(new Chaos({ fault: { rate: 1 } }))
    .build();
  const exact = quiet.execute(async () => 1 as const);
  assertType<Equal<typeof exact, Promise<1>>>();
  void [onlyOne, onlyReal, onlyOneUsed];

  // Options kept in a variable typed `ChaosOptions` (no type argument: its results are `any`)
  // add nothing to a policy's results, given as options, as a `Chaos` or through `use`: the
  // calls keep the work's type rather than turning to `any`.
  const kept: ChaosOptions = { fault: { rate: 1 } };
  const keptOptions = Policy.builder<number>('kept').chaos(kept).build();
  const keptInstance = Policy.builder<number>('kept').chaos(new Chaos(kept)).build();
  const keptUsed = Policy.builder<number>('kept').use(stages.chaos(kept)).build();
  const keptUntyped = Policy.builder('kept').chaos(kept).use(stages.chaos(kept)).build();
  assertType<Equal<ReturnType<typeof keptOptions.execute<1>>, Promise<1>>>();
  assertType<Equal<ReturnType<typeof keptInstance.execute<1>>, Promise<1>>>();
  assertType<Equal<ReturnType<typeof keptUsed.execute<1>>, Promise<1>>>();
  assertType<Equal<ReturnType<typeof keptUntyped.execute<1>>, Promise<1>>>();
  // @ts-expect-error a number is not a string
  const keptString: Promise<string> = keptOptions.execute(async () => 1);
  // @ts-expect-error nor from a Chaos made of those options
  const keptInstanceString: Promise<string> = keptInstance.execute(async () => 1);
  // @ts-expect-error nor through `use`
  const keptUsedString: Promise<string> = keptUsed.execute(async () => 1);
  // Standalone, the same: the work's type.
  const keptAlone = await new Chaos(kept).execute(() => fetchPrice('p5'));
  assertType<Equal<typeof keptAlone, Price>>();
  void [keptString, keptInstanceString, keptUsedString];

  // A configured chaos may inject a result of any type: its calls answer with `unknown`.
  const configured = new PolicyRegistry({ chaos: true }).chaos('drill');
  // @ts-expect-error a configured result is of no known type
  const fromConfig: Price = await configured.execute(() => fetchPrice('p4'));
  // So a typed builder takes it only as stated by its caller; an untyped one takes it as it is.
  // @ts-expect-error a configured chaos may inject a result that is not a Price
  Policy.builder<Price>('configured').chaos(configured);
  Policy.builder<Price>('configured').chaos(configured as Chaos<Price>);
  // An untyped builder takes it, and its calls may resolve to anything the configuration injects.
  const untyped = Policy.builder('configured').chaos(configured).build();
  assertType<Equal<ReturnType<typeof untyped.execute<1>>, Promise<unknown>>>();
  void [notString, either, onlyPrice, drilled, fromConfig];
}
