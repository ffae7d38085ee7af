// The shape of `circuit-state` events (R-EVT-8): `{ policy, stage, from, to }`, and `key` too
// from a keyed breaker stage, naming the key whose breaker changed state.
import { expect } from 'chai';
import { Policy } from '../../src/pipeline/Policy.js';
import type { PolicyEventMap } from '../../src/pipeline/events.js';
import { ManualClock } from '../support/clock.js';
import { rejectionOf } from '../support/promises.js';

describe('circuit-state events', () => {
  it('R-EVT-8: carry policy, stage, from and to, and `key` only from a keyed stage', async () => {
    const clock = new ManualClock();
    const plain = Policy.builder('plain')
      .clock(clock)
      .circuitBreaker({ failureThreshold: 1, clock })
      .build();
    const keyed = Policy.builder('keyed')
      .clock(clock)
      .circuitBreaker({
        failureThreshold: 1,
        clock,
        key: (ctx) => ctx.data.get('host') as string,
      })
      .build();
    const seen: PolicyEventMap['circuit-state'][] = [];
    plain.on('circuit-state', (e) => seen.push(e));
    keyed.on('circuit-state', (e) => seen.push(e));
    await rejectionOf(plain.execute(() => Promise.reject(new Error('down'))));
    await rejectionOf(
      keyed.execute(() => Promise.reject(new Error('down')), { data: { host: 'a.example' } }),
    );
    expect(seen).to.deep.equal([
      { policy: 'plain', stage: 'circuit-breaker', from: 'closed', to: 'open' },
      { policy: 'keyed', stage: 'circuit-breaker', from: 'closed', to: 'open', key: 'a.example' },
    ]);
    expect(Object.keys(seen[0] ?? {})).to.deep.equal(['policy', 'stage', 'from', 'to']);
  });
});
