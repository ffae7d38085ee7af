import { handOver } from '../../internal/snapshot.js';
import { kindOf, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
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
export const CIRCUIT_BREAKER_STAGE: StageDescriptor<CircuitBreaker> = {
  kind: 'circuit-breaker',
  label: 'CircuitBreaker',
  Primitive: CircuitBreaker,
  step: (breaker, env, name) => new CircuitBreakerStage(CIRCUIT_BREAKER_STAGE, breaker, env, name),
  describe: (breaker) => breaker.describe(),
  state: (breaker) => ({ ...breaker.metrics }),
  rejection: 'circuit-open',
  keyable: true,
  refusing: (breaker) => {
    const state = breaker.state;
    return state === 'open' || state === 'isolated';
  },
};

/** @internal The whole circuit breaker kind: the stage part, its configuration and gauges. */
export const CIRCUIT_BREAKER: KindDescriptor<CircuitBreaker> = /* @__PURE__ */ kindOf(
  CIRCUIT_BREAKER_STAGE,
  {
    configKey: 'circuit-breaker',
    configOptions: CIRCUIT_BREAKER_OPTIONS,
    // Handed over in this process: no time has passed, and the window comes along only when
    // its shape is unchanged.
    carry: (old) => handOver(old.toJSON()),
    gauges: [
      {
        name: 'bulwark.circuit.state',
        unit: '1',
        description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated.',
        read: (state) => STATE_VALUES.get(state.state),
      },
    ],
  },
);
