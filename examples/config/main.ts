// The pricing protection loaded from configuration: resilience.yaml (the PyFly resilience
// guide's format, under a `resilience:` key) is parsed with the `yaml` package and handed to
// PolicyRegistry.fromConfig, which validates every value and builds the shared primitives and the
// named policies up front.
// Two policies share one rate limiter, `pricing-api`: one budget for the one API.
import { readFileSync } from 'node:fs';
import { PolicyRegistry, type Policy, type PolicyMetrics } from 'bulwark';
import { parse } from 'yaml';
import { startFlakyServer } from '../pricing/flakyServer.js';
import { PricingApi, formatPrice, reasonOf, type Price } from '../pricing/pricingApi.js';

const text = readFileSync(new URL('./resilience.yaml', import.meta.url), 'utf8');
const doc = parse(text) as { resilience?: Record<string, unknown> };
const registry = PolicyRegistry.fromConfig(doc.resilience);

// The configured fallback is a value (`null`): configuration holds data, not code.
const pricing: Policy<Price, null> = registry.policy('pricing');
const checkout: Policy<Price, never> = registry.policy('checkout');

// Events tell why a fallback was used, which a fixed fallback value cannot.
const fallbackReasons: string[] = [];
pricing.on('fallback', ({ error }) => fallbackReasons.push(reasonOf(error)));

function summary(m: PolicyMetrics): string {
  return (
    `${m.calls} calls, ${m.successes} successes, ${m.failures} failures; ` +
    `rejections: rate-limit ${m.rejections.rateLimit}, bulkhead ${m.rejections.bulkhead}, ` +
    `circuit-open ${m.rejections.circuitOpen}; retries ${m.retries}, timeouts ${m.timeouts}, ` +
    `fallbacks ${m.fallbacks}`
  );
}

const server = await startFlakyServer({ seed: 7 });
try {
  const api = new PricingApi(server.url);
  await api.health();
  console.log(`Loaded examples/config/resilience.yaml; policies: ${registry.names().join(', ')}`);
  for (const name of registry.names()) {
    console.log(`\nPolicy "${name}":`);
    console.log(registry.policy(name).describe().replace(/^/gm, '  '));
  }

  console.log('\n"pricing": 5 prices at once (bucket of 4 tokens, 2 concurrent calls):');
  const ids = ['sku-101', 'sku-102', 'sku-103', 'sku-104', 'sku-105'];
  const prices = await Promise.all(
    ids.map((id) => pricing.execute((ctx) => api.getPrice(id, ctx.signal))),
  );
  ids.forEach((id, i) => console.log(`  ${id.padEnd(8)} ${formatPrice(prices[i] ?? null)}`));
  console.log('  why, from the policy\'s "fallback" events:');
  for (const reason of fallbackReasons) console.log(`    ${reason}`);

  // Let the shared bucket refill before the next policy draws on it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log('\n"checkout": one at a time, no fallback (errors reach the caller):');
  for (const id of ['sku-201', 'sku-202', 'sku-213']) {
    try {
      const price = await checkout.execute((ctx) => api.getPrice(id, ctx.signal));
      console.log(`  ${id.padEnd(8)} ${formatPrice(price)}`);
    } catch (error) {
      console.log(`  ${id.padEnd(8)} error (${reasonOf(error)})`);
    }
  }

  console.log('\nMetrics:');
  for (const name of registry.names()) {
    console.log(`Policy "${name}": ${summary(registry.policy(name).metrics())}`);
  }
  const limiter = registry.rateLimiter('pricing-api');
  const bulkhead = registry.bulkhead('pricing-api');
  console.log(
    `Shared "pricing-api": ${limiter.availableTokens.toFixed(1)}/${limiter.maxTokens} tokens, ` +
      `${bulkhead.availableSlots}/${bulkhead.maxConcurrent} bulkhead slots free`,
  );
} finally {
  await server.close();
}
