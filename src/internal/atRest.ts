/**
 * @internal The key of the method by which a circuit breaker, rate limiter or bulkhead tells a
 * `Keyed` holder whether it is at rest (dropping it and making a new one would change nothing a
 * caller could see). A registered symbol: an instance of another copy of the package answers
 * too, and no method of a user's own class can answer by accident.
 */
export const AT_REST: unique symbol = Symbol.for('bulwark.atRest');
