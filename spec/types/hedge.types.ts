// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. A hedge's
// `on` judges outcomes of the results it serves: in a policy, the builder's result type.
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import { Hedge, type HedgeOutcome } from '../../src/strategies/hedge/Hedge.js';

interface Price {
  readonly amount: number;
}
declare function fetchPrice(id: string, signal: AbortSignal): Promise<Price>;

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

export async function hedgeTypeSpecs(): Promise<void> {
  // Options take `on` typed by the builder's result type, from context.
  Policy.builder<Price>('quotes')
    .hedge({ maxHedges: 2, delay: '100ms', on: (o) => !o.ok || o.result.amount <= 0 })
    .build();
  Policy.builder<Price>('quotes').hedge().hedge({ delay: 'on-failure' });
  // @ts-expect-error an outcome's result is a Price: it has no toUpperCase
  Policy.builder<Price>('quotes').hedge({ on: (o) => o.ok && o.result.toUpperCase() === '' });
  Policy.builder<Price>('quotes').hedge({
    // @ts-expect-error `on` judges strings, the policy answers with Prices
    on: (o: HedgeOutcome<string>) => o.ok && o.result === '',
  });

  // A Hedge given must judge the policy's results (or none).
  const forPrices = new Hedge({ on: (o: HedgeOutcome<Price>) => o.ok && o.result.amount <= 0 });
  assertType<Equal<typeof forPrices, Hedge<Price>>>();
  const forStrings = new Hedge({ on: (o: HedgeOutcome<string>) => o.ok && o.result === '' });
  Policy.builder<Price>('quotes')
    .hedge(forPrices)
    .hedge(new Hedge({ maxHedges: 1 }));
  // @ts-expect-error a hedge judging strings cannot serve a policy of Prices
  Policy.builder<Price>('quotes').hedge(forStrings);
  // Through `use` too.
  Policy.builder<Price>('quotes')
    .use(stages.hedge(forPrices))
    .use(stages.hedge({ delay: 0 }));
  Policy.builder<Price>('quotes').use(stages.hedge({ on: (o: HedgeOutcome<Price>) => !o.ok }));
  // @ts-expect-error a hedge stage judging strings cannot serve a policy of Prices
  Policy.builder<Price>('quotes').use(stages.hedge(forStrings));
  // @ts-expect-error so does one made from options
  Policy.builder<Price>('quotes').use(stages.hedge({ on: (o: HedgeOutcome<string>) => !o.ok }));

  // An untyped builder takes a predicate written for the results it expects, as a retry's.
  Policy.builder('any').hedge({ on: (o: HedgeOutcome<Response>) => o.ok && !o.result.ok });
  Policy.builder('any').hedge(forStrings).hedge(forPrices);

  // Standalone, the type parameter is the predicate's (or given), and bounds the work.
  const typed = new Hedge<Price>({ on: (o) => o.ok && o.result.amount <= 0 });
  const price = await typed.execute((signal) => fetchPrice('p1', signal));
  assertType<Equal<typeof price, Price>>();
  // @ts-expect-error the work answers with strings, the hedge judges Prices
  void forPrices.execute(async () => 'cheap');
  // Without `on`, any work.
  const anyWork = new Hedge({ maxHedges: 1 });
  const text = await anyWork.execute(async () => 'text');
  assertType<Equal<typeof text, string>>();
  // @ts-expect-error a Price has no `currency`
  new Hedge<Price>({ on: (o) => o.ok && o.result.currency === 'EUR' });
}
