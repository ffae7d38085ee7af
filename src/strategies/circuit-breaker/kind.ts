import { instanceOf, type KindDescriptor } from '../descriptor.js';
import { CIRCUIT_BREAKER_OPTIONS, CircuitBreaker } from './CircuitBreaker.js';
import { CircuitBreakerStage } from './stage.js';

/** The gauge value of each circuit state. */
const STATE_VALUES: ReadonlyMap<unknown, number> = /* @__PURE__ */ new Map<unknown, number>([
  ['closed', 0],
  ['half-open', 1],
  ['open', 2],
  ['isolated', 3],
]);

/** @internal The circuit breaker kind. */
export const CIRCUIT_BREAKER: KindDescriptor<CircuitBreaker> = {
  kind: 'circuit-breaker',
  label: 'CircuitBreaker',
  configKey: 'circuit-breaker',
  configOptions: CIRCUIT_BREAKER_OPTIONS,
  create: (options) => new CircuitBreaker(options),
  isInstance: /* @__PURE__ */ instanceOf(CircuitBreaker),
  step: (breaker, env, name) => new CircuitBreakerStage(CIRCUIT_BREAKER, breaker, env, name),
  describe: (breaker) => breaker.describe(),
  state: (breaker) => ({ ...breaker.metrics }),
  rejection: 'circuit-open',
  gauges: [
    {
      name: 'bulwark.circuit.state',
      unit: '1',
      description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated.',
      read: (state) => STATE_VALUES.get(state.state),
    },
  ],
};
