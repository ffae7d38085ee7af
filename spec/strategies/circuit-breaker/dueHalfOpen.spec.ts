// CircuitBreaker, white-box. The lazy OPEN -> HALF_OPEN move is made by whatever comes first once
// the open time has passed: a change that leaves OPEN then (reset(), isolate(), an outcome
// reported by hand) starts from HALF_OPEN, so what the listeners see does not depend on whether
// anything read `state` before.
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { ManualClock } from '../../support/clock.js';
import { breakerClock } from './support.js';

describe('CircuitBreaker: the due move to HALF_OPEN before another change', () => {
  let clock: ManualClock;

  beforeEach(() => {
    clock = breakerClock();
  });

  /** The changes the listeners see when `change` comes `after` ms past the trip, read first or not. */
  function seen(change: (breaker: CircuitBreaker) => void, read: boolean, after = 150): string[] {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
    const changes: string[] = [];
    breaker.onStateChange(({ from, to }) => changes.push(`${from}>${to}`));
    breaker.onFailure(new Error('trips'));
    clock.tick(after);
    if (read) expect(breaker.state).to.be.a('string');
    change(breaker);
    return changes;
  }

  const cases: Array<[string, (breaker: CircuitBreaker) => void, string[]]> = [
    ['reset()', (b) => b.reset(), ['closed>open', 'open>half-open', 'half-open>closed']],
    ['isolate()', (b) => b.isolate(), ['closed>open', 'open>half-open', 'half-open>isolated']],
    ['onSuccess()', (b) => b.onSuccess(), ['closed>open', 'open>half-open', 'half-open>closed']],
    [
      'onFailure()',
      (b) => b.onFailure(new Error('again')),
      ['closed>open', 'open>half-open', 'half-open>open'],
    ],
  ];

  for (const [what, change, expected] of cases) {
    it(`${what} after the open time starts from HALF_OPEN, whether or not state was read`, () => {
      expect(seen(change, false), 'not read').to.deep.equal(expected);
      clock = breakerClock();
      expect(seen(change, true), 'read').to.deep.equal(expected);
    });
  }

  it('moves nothing first while the open time lasts', () => {
    expect(seen((b) => b.reset(), false, 99)).to.deep.equal(['closed>open', 'open>closed']);
    clock = breakerClock();
    expect(seen((b) => b.isolate(), false, 99)).to.deep.equal(['closed>open', 'open>isolated']);
  });

  it('reset() and isolate() from a listener told of the due move are delivered in order', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 100, clock });
    const changes: string[] = [];
    breaker.onStateChange(({ to }) => {
      if (to === 'half-open') breaker.isolate();
    });
    breaker.onStateChange(({ from, to }) => changes.push(`${from}>${to}`));
    breaker.onFailure(new Error('trips'));
    clock.tick(100);
    breaker.reset();
    expect(changes).to.deep.equal([
      'closed>open',
      'open>half-open',
      'half-open>isolated',
      'isolated>closed',
    ]);
    expect(breaker.state).to.equal('closed');
  });
});
