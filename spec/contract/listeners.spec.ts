// The listener safety rules of docs/CONTRACT.md (R-LIFE-3, R-LIFE-4, R-LIFE-5): a listener cannot
// break a call, state listeners hear every transition in order, and unsubscribing removes one
// listener only.
import { ManualClock } from '../support/clock.js';
import { expect } from 'chai';
import { CircuitBreaker, Policy, type CircuitStateChange } from 'bulwark';

import { flush, rejectionOf } from './support.js';

class Boom extends Error {}

/** Runs `fn` and returns the unhandled rejections reported meanwhile. */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (reason: unknown): void => {
    seen.push(reason);
  };
  // Only this spec's handler while it runs, so a stray rejection is counted, not thrown.
  const others = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', record);
  try {
    await fn();
    await flush();
    await flush();
  } finally {
    process.off('unhandledRejection', record);
    for (const listener of others) process.on('unhandledRejection', listener);
  }
  return seen;
}

describe('contract: listeners', () => {
  it('R-LIFE-3: a policy event listener that returns a rejecting promise breaks no call and leaves no unhandled rejection', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('p')
      .clock(clock)
      // `maxRetryAfter: 0`: no wait for the open breaker's retryAfterMs.
      .retry({ maxAttempts: 2, maxRetryAfter: 0, clock })
      .circuitBreaker({ failureThreshold: 2, clock })
      .build();
    const events = ['success', 'failure', 'attempt', 'retry', 'rejected', 'circuit-state'] as const;
    const heard = new Set<string>();
    for (const event of events) {
      policy.on(event, (() => {
        heard.add(event);
        return Promise.reject(new Boom(`listener of ${event}`));
      }) as never);
    }
    const unhandled = await unhandledDuring(async () => {
      expect(await policy.execute(() => 'ok')).to.equal('ok');
      const error = new Boom('work');
      expect(await rejectionOf(policy.execute(() => Promise.reject(error)))).to.equal(error);
      const refused = await rejectionOf(policy.execute(() => 'not run'));
      expect(refused).to.include({ code: 'CIRCUIT_OPEN' });
    });
    expect([...heard].sort()).to.deep.equal([...events].sort());
    expect(unhandled).to.deep.equal([]);
  });

  it('R-LIFE-3: an `onStateChange` listener that throws or rejects breaks no call and leaves no unhandled rejection', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock(1_000) });
    const heard: CircuitStateChange[] = [];
    breaker.onStateChange(() => {
      throw new Boom('sync');
    });
    breaker.onStateChange((() => Promise.reject(new Boom('async'))) as never);
    breaker.onStateChange((change) => heard.push(change));
    const error = new Boom('work');
    const unhandled = await unhandledDuring(async () => {
      expect(await rejectionOf(breaker.execute(() => Promise.reject(error)))).to.equal(error);
    });
    expect(breaker.state).to.equal('open');
    expect(heard).to.deep.equal([{ from: 'closed', to: 'open' }]);
    expect(unhandled).to.deep.equal([]);
  });

  it('R-LIFE-4: state listeners receive every transition, in order, even when a listener changes the state', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock(1_000) });
    const first: CircuitStateChange[] = [];
    const second: CircuitStateChange[] = [];
    breaker.onStateChange((change) => {
      first.push(change);
      if (change.to === 'open') breaker.reset();
    });
    breaker.onStateChange((change) => second.push(change));
    breaker.beforeCall();
    breaker.onFailure(new Boom());
    const expected = [
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'closed' },
    ];
    expect(first).to.deep.equal(expected);
    expect(second).to.deep.equal(expected);
    expect(breaker.state).to.equal('closed');
  });

  it('R-LIFE-5: the function `onStateChange` returns removes its own listener and no other, however often it is called', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock: new ManualClock(1_000) });
    const heard: string[] = [];
    breaker.onStateChange(() => heard.push('a'));
    const offB = breaker.onStateChange(() => heard.push('b'));
    breaker.onStateChange(() => heard.push('c'));
    offB();
    offB();
    breaker.isolate();
    expect(heard).to.deep.equal(['a', 'c']);
  });

  it('R-LIFE-5: the function `policy.on` returns removes its own listener and no other, however often it is called', async () => {
    const policy = Policy.builder('p').build();
    const heard: string[] = [];
    policy.on('success', () => heard.push('a'));
    const offB = policy.on('success', () => heard.push('b'));
    policy.on('success', () => heard.push('c'));
    offB();
    offB();
    await policy.execute(() => 1);
    expect(heard).to.deep.equal(['a', 'c']);
  });
});
