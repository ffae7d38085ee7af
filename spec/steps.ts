// Loaded (with --require, after setup.js) to run the policy specs with every policy on the step
// engine: a policy the fused executor would run (fallbacks, rate limiters, a bulkhead, a retry and
// a circuit breaker over in-memory stores) runs through its steps instead. See `npm run spec:steps`.
import { setFusing } from '../src/pipeline/fused.js';

setFusing(false);
