// The pricing API client and its fallback handler, shared by both examples.
import type { PriceBody } from './flakyServer.js';

/** A price as the catalogue shows it: live from the API, or a fallback. */
export interface Price {
  readonly productId: string;
  readonly price: number;
  readonly currency: string;
  readonly source: 'live' | 'fallback';
  /** Why the fallback was used (`name: message` of the error). */
  readonly reason?: string;
}

/** The pricing API answered with an HTTP error status. */
export class PricingApiError extends Error {
  override readonly name = 'PricingApiError';
  /** The HTTP status. */
  readonly status: number;

  constructor(status: number, statusText: string) {
    super(`pricing API answered ${status} ${statusText}`);
    this.status = status;
  }
}

/** A thin HTTP client for the pricing API. */
export class PricingApi {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** Checks that the API is up; throws when it is not. */
  async health(): Promise<void> {
    const response = await fetch(`${this.baseUrl}/health`);
    await response.body?.cancel();
    if (!response.ok) throw new PricingApiError(response.status, response.statusText);
  }

  /**
   * Fetches a live price. Pass a signal so that a timeout (or the caller) can cancel the request
   * itself, not only stop waiting for it.
   */
  async getPrice(productId: string, signal?: AbortSignal): Promise<Price> {
    const response = await fetch(`${this.baseUrl}/prices/${encodeURIComponent(productId)}`, {
      signal: signal ?? null,
    });
    if (!response.ok) {
      // Cancel the body: one left unread keeps its connection checked out.
      await response.body?.cancel();
      throw new PricingApiError(response.status, response.statusText);
    }
    const body = (await response.json()) as PriceBody;
    return { productId, price: body.price, currency: body.currency, source: 'live' };
  }
}

/** `Name: message` of an error, as the fallback records it. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * The fallback handler: a default price when the live API is unavailable. A real
 * application would look in a local cache first.
 */
export function pricingFallback(productId: string, error: unknown): Price {
  return { productId, price: 0, currency: 'USD', source: 'fallback', reason: reasonOf(error) };
}

/** One line of output: `live 42.17 USD` or `fallback (RateLimitExceededError: Rate limit exceeded)`. */
export function formatPrice(price: Price | null): string {
  if (price === null) return 'fallback (configured value null)';
  if (price.source === 'live') return `live ${price.price.toFixed(2)} ${price.currency}`;
  return `fallback (${price.reason ?? 'unknown reason'})`;
}
