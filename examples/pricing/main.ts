// The PyFly resilience guide's complete example in TypeScript: a product catalogue fetches
// prices from an external pricing API, protected by four layers (outermost first):
//
//   fallback      catches every failure of the layers inside, so the caller always gets a price
//   rate limiter  rejects excess traffic before it takes a bulkhead slot
//   bulkhead      limits how many calls reach the API at once
//   time limiter  answers a call that takes too long (its bulkhead slot comes back when the
//                 request ends, so the request is given a signal that ends it then)
//
// The same protection is shown twice, sharing one rate limiter and one bulkhead (one budget for
// the one API): as a Policy built with Policy.builder(), and as decorators on a class method.
// The "external API" is a local flaky server started here; it answers quickly, slowly, with a
// 503, or never, depending on the product.
import {
  Bulkhead,
  Policy,
  RateLimiter,
  bulkhead,
  fallback,
  rateLimiter,
  timeLimiter,
  type ExecutionContext,
} from 'bulwark';
import { startFlakyServer } from './flakyServer.js';
import { PricingApi, formatPrice, pricingFallback, type Price } from './pricingApi.js';

// --- Resilience infrastructure ---
// The guide uses 100 tokens refilled at 50/s, 10 concurrent calls and a 3 s timeout; these are
// scaled down so that a burst of ten requests shows every layer at work within a second.

/** Burst up to 6 requests, 10 requests/second sustained. */
const pricingLimiter = new RateLimiter({ maxTokens: 6, refillRate: 10 });

/** At most 3 concurrent calls to the pricing API. */
const pricingBulkhead = new Bulkhead({ maxConcurrent: 3 });

const TIMEOUT_MS = 200;
const TIMEOUT = `${TIMEOUT_MS}ms`;

// --- Form 1: a policy, built once ---

const pricingPolicy = Policy.builder<Price>('pricing')
  .fallback({
    method: function defaultPrice(error: unknown, ctx: ExecutionContext) {
      return pricingFallback(ctx.data.get('productId') as string, error);
    },
  })
  .rateLimiter(pricingLimiter)
  .bulkhead(pricingBulkhead)
  .timeout(TIMEOUT)
  .build();

/** A live price through the policy; ctx.signal lets the timeout cancel the HTTP request itself. */
function getPrice(api: PricingApi, productId: string): Promise<Price> {
  return pricingPolicy.execute((ctx) => api.getPrice(productId, ctx.signal), {
    data: { productId },
  });
}

// --- Form 2: the same layers as decorators on a service method ---

class PricingService {
  readonly #api: PricingApi;

  constructor(api: PricingApi) {
    this.#api = api;
  }

  // Decorators apply bottom-up and run top-down: fallback is the outermost layer.
  // timeLimiter hands the method no signal, and the bulkhead holds its slot until the request
  // itself ends (as in a policy), so the method ends its request just after the deadline; a Policy
  // (form 1) hands the work its ctx.signal instead.
  @fallback({ method: (error: unknown, productId: string) => pricingFallback(productId, error) })
  @rateLimiter(pricingLimiter)
  @bulkhead(pricingBulkhead)
  @timeLimiter({ timeout: TIMEOUT })
  async getPrice(productId: string): Promise<Price> {
    return this.#api.getPrice(productId, AbortSignal.timeout(TIMEOUT_MS + 20));
  }
}

// --- Monitoring resilience state (a health check) ---

function printResilienceState(indent = '  '): void {
  const tokens = pricingLimiter.availableTokens;
  const slots = pricingBulkhead.availableSlots;
  const maxSlots = pricingBulkhead.maxConcurrent;
  const utilisation = 1 - slots / maxSlots;
  console.log(`${indent}Available tokens: ${tokens.toFixed(1)}`);
  console.log(`${indent}Bulkhead utilisation: ${Math.round(utilisation * 100)}%`);
  console.log(`${indent}Available slots: ${slots}/${maxSlots}`);
}

// --- The scenario ---

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function printResult(productId: string, price: Price): void {
  console.log(`  ${productId.padEnd(8)} ${formatPrice(price)}`);
}

/** Starts every call at once, shows the state while they run, then prints what each got. */
async function burst(productIds: readonly string[], call: (id: string) => Promise<Price>) {
  const results = productIds.map(call);
  console.log('  (while the burst is in flight)');
  printResilienceState('    ');
  const prices = await Promise.all(results);
  productIds.forEach((id, i) => printResult(id, prices[i] as Price));
}

const server = await startFlakyServer({ seed: 7 });
try {
  const api = new PricingApi(server.url);
  const service = new PricingService(api);
  // A health check first, as a service would at start-up (it also loads fetch, which takes a
  // moment the first time, before any timing matters).
  await api.health();
  console.log(`Pricing API (flaky) is up at ${server.url}`);
  console.log(`\nPolicy "${pricingPolicy.name}", outermost stage first:`);
  console.log(pricingPolicy.describe().replace(/^/gm, '  '));

  console.log('\nA catalogue page asks for 10 prices at once (policy form):');
  const page = Array.from({ length: 10 }, (_, i) => `sku-${101 + i}`);
  await burst(page, (id) => getPrice(api, id));

  console.log('\nSteady traffic, one request every 150 ms (policy form):');
  for (const id of ['sku-201', 'sku-203', 'sku-202', 'sku-204', 'sku-213', 'sku-205']) {
    await sleep(150);
    printResult(id, await getPrice(api, id));
  }

  await sleep(300);
  console.log('\nAnother page of 5 prices (decorator form, sharing the limiter and bulkhead):');
  await burst(['sku-303', 'sku-304', 'sku-305', 'sku-306', 'sku-307'], (id) =>
    service.getPrice(id),
  );

  // A request answered at its deadline ends a moment later, and gives its slot back then.
  await sleep(100);
  console.log('\nMonitoring resilience state:');
  printResilienceState();
  const m = pricingPolicy.metrics();
  console.log(
    `Policy "${pricingPolicy.name}": ${m.calls} calls, ${m.successes} successes, ` +
      `${m.failures} failures; rejections: rate-limit ${m.rejections.rateLimit}, ` +
      `bulkhead ${m.rejections.bulkhead}, circuit-open ${m.rejections.circuitOpen}; ` +
      `timeouts ${m.timeouts}, fallbacks ${m.fallbacks}`,
  );
  const s = server.served;
  console.log(
    `Pricing API saw ${s.fast + s.slow + s.error + s.hang} requests: ${s.fast} fast, ` +
      `${s.slow} slow, ${s.error} failed, ${s.hang} never answered`,
  );
} finally {
  await server.close();
}
