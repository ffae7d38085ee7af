// The floor: a plain `await fn()` on the async no-op, with nothing around it.
import { noop, type Suite } from './types.js';

const bareCall = () => ({ call: noop });

export const suite: Suite = {
  library: 'bare',
  subjects: { bare: bareCall, 'bare-x1000': bareCall },
};
