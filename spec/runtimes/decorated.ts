// The decorator part of the runtime exercise: a class written with TC39 (standard) decorators,
// compiled by esbuild into plain JS that applies them as the standard specifies, so it runs in
// runtimes without native decorator syntax. Type-checked with the specs.
import {
  Bulkhead,
  CircuitBreaker,
  Policy,
  RateLimiter,
  bulkhead,
  circuitBreaker,
  fallback,
  rateLimiter,
  retry,
  timeLimiter,
  usePolicy,
} from 'bulwark';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const policy = Policy.builder<string>('decorated').retry({ maxAttempts: 2 }).timeout('2s').build();

class Service {
  attempts = 0;
  policyCalls = 0;
  private release: (() => void) | undefined;
  private readonly price: number;

  constructor(price: number) {
    this.price = price;
  }

  // Runs top-down: the fallback would catch what the retry finally throws.
  @fallback({ value: 'unreachable' })
  @retry({ maxAttempts: 3, delay: 1 })
  async getPrice(sku: string): Promise<string> {
    this.attempts += 1;
    if (this.attempts < 2) throw new Error('transient');
    return `${sku}: ${this.price}`;
  }

  @fallback({ method: (_error: unknown, sku: string) => `no stock for ${sku}` })
  @timeLimiter({ timeout: 20 })
  async getStock(sku: string): Promise<string> {
    await sleep(200);
    return `${sku}: in stock`;
  }

  @usePolicy(policy)
  async viaPolicy(): Promise<string> {
    this.policyCalls += 1;
    if (this.policyCalls === 1) throw new Error('transient');
    return 'policy ok';
  }

  @rateLimiter(new RateLimiter({ maxTokens: 1, refillRate: 0.1 }))
  async limited(): Promise<number> {
    return 1;
  }

  @bulkhead(new Bulkhead({ maxConcurrent: 1 }))
  async pooled(): Promise<void> {
    await new Promise<void>((resolve) => (this.release = resolve));
  }

  finishPooled(): void {
    this.release?.();
  }

  @circuitBreaker(new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: '1m' }))
  async breaking(): Promise<never> {
    throw new Error('down');
  }
}

/** A fresh service (the decorated primitives are per class, so call this once per run). */
export function decoratedService(): Service {
  return new Service(10);
}
