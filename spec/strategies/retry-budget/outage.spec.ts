// The retry storm, measured: during a full outage every call fails, and a retry of maxAttempts
// sends maxAttempts requests per call to the dependency that is down. With a budget the
// dependency sees at most (1 + ratio) x calls + minPerSecond x seconds. Time is the manual clock;
// the "server" counts the requests it is sent and fails every one.
import { expect } from 'chai';
import { Policy } from '../../../src/pipeline/Policy.js';
import { RetryBudget } from '../../../src/strategies/retry-budget/RetryBudget.js';
import { ManualClock } from '../../support/clock.js';

const RATE = 100; // calls per second
const SECONDS = 60;
const MAX_ATTEMPTS = 3;
const RATIO = 0.2;
const MIN_PER_SECOND = 10;

interface Run {
  readonly calls: number;
  readonly requests: number;
  /** From the first request to the last, in whole seconds (rounded up). */
  readonly seconds: number;
}

async function outage(budget: (clock: ManualClock) => RetryBudget | undefined): Promise<Run> {
  const clock = new ManualClock(0);
  const b = budget(clock);
  const policy = Policy.builder('downstream')
    .retry({
      maxAttempts: MAX_ATTEMPTS,
      delay: '100ms',
      backoff: 2,
      clock,
      ...(b === undefined ? {} : { budget: b }),
    })
    .build();
  let requests = 0;
  let last = 0;
  const server = (): Promise<never> => {
    requests++;
    last = clock.now();
    return Promise.reject(new Error('503 Service Unavailable'));
  };
  const calls: Array<Promise<unknown>> = [];
  for (let t = 0; t < SECONDS * 1000; t += 1000 / RATE) {
    calls.push(policy.execute(server).catch(() => undefined));
    await clock.advance(1000 / RATE);
  }
  await clock.advance(10_000);
  await Promise.all(calls);
  return { calls: calls.length, requests, seconds: Math.ceil(last / 1000) };
}

describe('a retry budget during a full outage', function () {
  this.timeout(20_000);

  it(`keeps requests within (1 + ratio) x calls + minPerSecond x seconds, against maxAttempts x calls without it`, async () => {
    const without = await outage(() => undefined);
    const withBudget = await outage(
      (clock) =>
        new RetryBudget({ ratio: RATIO, minPerSecond: MIN_PER_SECOND, window: '10s', clock }),
    );
    // 6,000 calls over 60 s: 18,000 requests without a budget.
    expect(without).to.deep.equal({
      calls: RATE * SECONDS,
      requests: MAX_ATTEMPTS * RATE * SECONDS,
      seconds: SECONDS + 1,
    });
    const bound = (1 + RATIO) * withBudget.calls + MIN_PER_SECOND * withBudget.seconds;
    // 6,000 calls: at most 7,200 + 10 x 61 = 7,810 requests; the run sends 7,802 (1.3 per call,
    // against 3 without the budget: 57% fewer requests to the dependency that is down).
    expect(withBudget.calls).to.equal(RATE * SECONDS);
    expect(withBudget.requests).to.be.at.most(bound);
    expect(withBudget.requests).to.be.at.least(withBudget.calls * (1 + RATIO));
    expect(withBudget.requests / without.requests).to.be.below(0.45);
  });
});
