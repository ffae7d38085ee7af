/** The states of a circuit breaker, as values. */
export const CircuitState = Object.freeze({
  Closed: 'closed',
  Open: 'open',
  HalfOpen: 'half-open',
  Isolated: 'isolated',
} as const);

/** A circuit breaker's state: `'closed' | 'open' | 'half-open' | 'isolated'`. */
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];
