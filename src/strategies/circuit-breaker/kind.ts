import { handOver } from '../../internal/snapshot.js';
import { kindOf, type KindDescriptor, type StageDescriptor } from '../descriptor.js';
import { CIRCUIT_BREAKER_OPTIONS, CircuitBreaker } from './CircuitBreaker.js';
import { CircuitBreakerStage } from './stage.js';
import type { CircuitWindowSnapshot } from './store.js';

/** The gauge value of each circuit state. */
const STATE_VALUES: ReadonlyMap<unknown, number> = /* @__PURE__ */ new Map<unknown, number>([
  ['closed', 0],
  ['half-open', 1],
  ['open', 2],
  ['isolated', 3],
]);

/** What tells one window's shape from another's. */
interface Shape {
  readonly size?: number;
  readonly durationMs?: number;
}

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
    exclusive: [
      // A run of failures, or a failure rate (beside which `failureThreshold` is ignored).
      [{ option: 'failureThreshold' }, { option: 'failureRateThreshold' }],
      // A count window's size, a time window's duration (each ignored by the other window).
      [{ option: 'windowType', only: ['time'] }, { option: 'windowSize' }],
      [{ option: 'windowType', only: ['count'] }, { option: 'windowDuration' }],
    ],
    // Handed over in this process: no time has passed, and the window comes along only when
    // its shape is unchanged; otherwise the new breaker starts with an empty window of its own
    // shape (that of a breaker made from the same options).
    carry: (old, options) => {
      const snapshot = handOver(old.toJSON());
      let fresh: CircuitWindowSnapshot;
      try {
        // A breaker of the new options, without the store or the state it would take over.
        const bare = { ...options, store: undefined, initialState: undefined };
        fresh = new CircuitBreaker(bare as never).toJSON().window;
      } catch {
        // Options the new breaker refuses: its constructor reports them first.
        return snapshot;
      }
      // The same shape: the same size of a count window or length of a time window (a window of
      // the other type has neither).
      const w: Shape = snapshot.window;
      const f: Shape = fresh;
      return w.size === f.size && w.durationMs === f.durationMs
        ? snapshot
        : { ...snapshot, window: fresh };
    },
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
