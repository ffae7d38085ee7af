/** The configuration example of the API contract, as YAML, exactly. */
export const CONFIG_YAML = `
resilience:
  rate-limiter:
    default:     { max-tokens: 100, refill-rate: 50.0 }
    payment-api: { max-tokens: 10,  refill-rate: 2.0 }
  bulkhead:
    default: { max-concurrent: 20 }
  time-limiter:
    default: { timeout: 5s }
  circuit-breaker:
    inventory: { failure-threshold: 3, recovery-timeout: 20s }
  retry:
    default: { max-attempts: 3, delay: 200ms, backoff: 2 }
  policies:
    pricing:                       # stages outermost first
      - fallback: { value: null }
      - rate-limiter: payment-api  # a name refers to the shared instance above
      - bulkhead: { max-concurrent: 10 }
      - time-limiter: 3s
`;
