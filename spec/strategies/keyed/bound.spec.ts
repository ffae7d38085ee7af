// `maxKeys` bounds a keyed stage whatever its keys hold: keys that come from requests (a host, a
// tenant), each failing once or draining its bucket a little, leave at most `maxKeys` primitives,
// or, when those in use (a call in flight, an ISOLATED circuit) fill it, those and the new one:
// they are never dropped.
import { expect } from 'chai';
import { CircuitOpenError } from '../../../src/errors.js';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { stages } from '../../../src/pipeline/stages.js';
import { ManualClock } from '../../support/clock.js';
import { deferred, flush, rejectionOf } from '../../support/promises.js';

const host = (ctx: ExecutionContext) => ctx.data.get('host') as string;
const on = (h: string) => ({ data: { host: h } });
const boom = () => Promise.reject(new Error('dead host'));
const KEYS = 100_000;
const MAX_KEYS = 100;

describe('Keyed stages: maxKeys bounds what piles up', () => {
  it('holds at most maxKeys breakers over 100,000 failing hosts, keeping those of calls in flight', async function () {
    this.timeout(60_000);
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({
      key: host,
      maxKeys: MAX_KEYS,
      failureThreshold: 1,
      recoveryTimeout: '30s',
      clock,
    });
    const policy = Policy.builder('outbound').use(stage).build();
    // Calls in flight on 20 hosts all along: their breakers are never dropped.
    const work = deferred<string>();
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      policy.execute(() => work.promise, on(`slow-${i}`)),
    );
    const slow = stage.primitive.keys().map((key) => stage.primitive.get(key));
    expect(slow).to.have.length(20);
    let most = 0;
    for (let i = 0; i < KEYS; i++) {
      await rejectionOf(policy.execute(boom, on(`h-${i}.example`)));
      if (i % 1000 === 0) most = Math.max(most, stage.primitive.size);
    }
    most = Math.max(most, stage.primitive.size);
    expect(most, 'breakers held at most').to.equal(MAX_KEYS);
    const [state] = policy.metrics().stages;
    expect(state).to.include({ keys: MAX_KEYS, maxKeys: MAX_KEYS });
    // Every breaker dropped was OPEN, the least recently used first: those of every host but the
    // last 80, which are kept with the 20 in flight (moved to the recent end as in use).
    expect((state as unknown as { droppedBusy: number }).droppedBusy).to.equal(KEYS - 80);
    const kept = Array.from({ length: 80 }, (_, i) => `h-${KEYS - 80 + i}.example`);
    expect(stage.primitive.keys().filter((key) => key.startsWith('h-'))).to.deep.equal(kept);
    expect(stage.primitive.keys().filter((key) => key.startsWith('slow-'))).to.have.length(20);
    // The last hosts are still refused (their circuits OPEN), the calls in flight end on the
    // breakers they started on.
    const last = await rejectionOf(policy.execute(() => 'x', on(`h-${KEYS - 1}.example`)));
    expect(last).to.be.instanceOf(CircuitOpenError);
    expect(slow.map((breaker, i) => stage.primitive.get(`slow-${i}`) === breaker)).to.not.include(
      false,
    );
    work.resolve('done');
    expect(await Promise.all(inFlight)).to.have.length(20);
    // Out of flight, the slow hosts' breakers go like any other.
    for (let i = 0; i < MAX_KEYS; i++) await policy.execute(() => i, on(`fresh-${i}`));
    expect(stage.primitive.keys().filter((key) => key.startsWith('slow-'))).to.deep.equal([]);
  });

  it('holds at most maxKeys buckets over 30,000 users each taking a token', async function () {
    this.timeout(60_000);
    const clock = new ManualClock();
    const stage = stages.rateLimiter({
      key: host,
      maxKeys: MAX_KEYS,
      maxTokens: 5,
      // A token a minute, and a call each 10 ms: a bucket refills after 6000 more users.
      refillRate: 1 / 60,
      clock,
    });
    const policy = Policy.builder('users').use(stage).build();
    let most = 0;
    const users = 30_000;
    for (let i = 0; i < users; i++) {
      await policy.execute(() => i, on(`user-${i}`));
      clock.tick(10);
      if (i % 1000 === 0) most = Math.max(most, stage.primitive.size);
    }
    expect(Math.max(most, stage.primitive.size)).to.equal(MAX_KEYS);
    expect(stage.primitive.get(`user-${users - 1}`).availableTokens).to.be.below(5);
  });

  it('never drops an ISOLATED circuit nor the breaker of a call in flight, however many keys come', async () => {
    const clock = new ManualClock();
    const stage = stages.circuitBreaker({ key: host, maxKeys: 2, failureThreshold: 1, clock });
    const policy = Policy.builder('outbound').use(stage).build();
    stage.primitive.get('quarantined').isolate();
    const work = deferred<number>();
    const running = policy.execute(() => work.promise, on('busy'));
    await flush();
    const busy = stage.primitive.get('busy');
    for (let i = 0; i < 500; i++) await rejectionOf(policy.execute(boom, on(`down-${i}`)));
    expect(stage.primitive.keys()).to.have.members(['quarantined', 'busy', 'down-499']);
    expect(await rejectionOf(policy.execute(() => 1, on('quarantined'))))
      .to.be.instanceOf(CircuitOpenError)
      .with.property('state', 'isolated');
    expect(stage.primitive.get('busy')).to.equal(busy);
    work.resolve(7);
    expect(await running).to.equal(7);
  });
});
