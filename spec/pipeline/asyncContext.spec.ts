// What a deadline or a hedge delay starts for a call runs in that call's async context: the
// timer they share runs in the context of whichever call armed it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runWithGc } from '../support/gcChild.js';
import { Hedge, Policy } from '../../src/index.js';
import { ManualClock } from '../support/clock.js';
import { never } from '../support/promises.js';

const TENANTS = ['A', 'B', 'C'] as const;

const fixture = fileURLToPath(new URL('../fixtures/callContext.js', import.meta.url));

function runChild(): Promise<string> {
  return runWithGc(fixture);
}

describe('async context across a shared timer', () => {
  const tenant = new AsyncLocalStorage<string>();
  const seen = (): string => tenant.getStore() ?? 'none';

  /** Runs `call` for each tenant at once, each in its own store, while time moves by `ms`. */
  async function concurrently<T>(
    clock: ManualClock,
    ms: number,
    call: () => Promise<T>,
  ): Promise<T[]> {
    const calls = TENANTS.map((t) => tenant.run(t, call));
    await clock.advance(ms);
    return Promise.all(calls);
  }

  it("runs a fallback's method after a timeout in its own caller's context", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('fb')
      .clock(clock)
      .fallback({ method: () => seen() })
      .timeout({ timeout: 20, clock })
      .build();
    expect(await concurrently(clock, 20, () => policy.execute(() => never()))).to.deep.equal([
      'A',
      'B',
      'C',
    ]);
  });

  for (const delay of [0, 5]) {
    it(`runs a retry's next attempt after a per-attempt timeout in its caller's context (delay ${delay})`, async () => {
      const clock = new ManualClock(1_000);
      const policy = Policy.builder('rt')
        .clock(clock)
        .retry({ maxAttempts: 2, delay, clock })
        .timeout({ timeout: 20, clock })
        .build();
      const attempts: string[] = [];
      const answers = await concurrently(clock, 50, () =>
        policy.execute((ctx) => {
          attempts.push(`${ctx.attempt}${seen()}`);
          return ctx.attempt === 1 ? never() : seen();
        }),
      );
      expect(answers).to.deep.equal(['A', 'B', 'C']);
      expect(attempts.sort()).to.deep.equal(['1A', '1B', '1C', '2A', '2B', '2C']);
    });
  }

  it("tells an `attempt` listener of an attempt a deadline ended in its own caller's context", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('at').clock(clock).timeout({ timeout: 20, clock }).build();
    const heard: string[] = [];
    policy.on('attempt', () => heard.push(seen()));
    const calls = TENANTS.map((t) =>
      tenant.run(t, () => policy.execute(() => never()).catch(() => undefined)),
    );
    await clock.advance(20);
    await Promise.all(calls);
    expect(heard.sort()).to.deep.equal(['A', 'B', 'C']);
  });

  it("starts each hedged attempt in its own caller's context", async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('hg').clock(clock).hedge({ delay: 10, clock }).build();
    const attempts: string[] = [];
    const answers = await concurrently(clock, 10, () =>
      policy.execute((ctx) => {
        attempts.push(`${ctx.attempt}${seen()}`);
        return ctx.attempt === 1 ? never() : seen();
      }),
    );
    expect(answers).to.deep.equal(['A', 'B', 'C']);
    expect(attempts.sort()).to.deep.equal(['1A', '1B', '1C', '2A', '2B', '2C']);
  });

  it("starts each attempt of a standalone Hedge in its own caller's context", async () => {
    const clock = new ManualClock(1_000);
    const hedge = new Hedge({ delay: 10, clock });
    const attempts: string[] = [];
    const answers = await concurrently(clock, 10, () =>
      hedge.execute((_signal, attempt) => {
        attempts.push(`${attempt}${seen()}`);
        return attempt === 1 ? never() : seen();
      }),
    );
    expect(answers).to.deep.equal(['A', 'B', 'C']);
    expect(attempts.sort()).to.deep.equal(['1A', '1B', '1C', '2A', '2B', '2C']);
  });

  for (const listened of [false, true]) {
    it(`takes the way out of a cooperative timeout in its caller's context (${listened ? 'with' : 'without'} a \`timeout\` listener)`, async () => {
      const clock = new ManualClock(1_000);
      const policy = Policy.builder('coop')
        .clock(clock)
        .fallback({ method: () => `fb ${seen()}` })
        .retry({ maxAttempts: 2, clock })
        .timeout({ timeout: 20, mode: 'cooperative', clock })
        .build();
      const events: string[] = [];
      if (listened) policy.on('timeout', () => events.push(`timeout ${seen()}`));
      policy.on('retry', () => events.push(`retry ${seen()}`));
      // The work ends only when its signal aborts, from the shared timer.
      const work = (ctx: { readonly signal: AbortSignal; readonly attempt: number }) => {
        events.push(`attempt${ctx.attempt} ${seen()}`);
        return new Promise<string>((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        });
      };
      const answers = await concurrently(clock, 50, () => policy.execute(work));
      expect(answers).to.deep.equal(['fb A', 'fb B', 'fb C']);
      const expected = TENANTS.flatMap((t) =>
        ['attempt1', 'attempt2', 'retry', ...(listened ? ['timeout', 'timeout'] : [])].map(
          (e) => `${e} ${t}`,
        ),
      );
      expect(events.sort()).to.deep.equal(expected.sort());
    });
  }

  it('reports the `timeout`, `retry`, `fallback` and `hedge` events in the context of the call they are about', async () => {
    const clock = new ManualClock(1_000);
    const policy = Policy.builder('ev')
      .clock(clock)
      .fallback({ value: 'fb' })
      .retry({ maxAttempts: 2, clock })
      .timeout({ timeout: 20, clock })
      .build();
    const events: string[] = [];
    for (const event of ['timeout', 'retry', 'fallback', 'failure', 'success'] as const) {
      policy.on(event, () => events.push(`${event} ${seen()}`));
    }
    const hedged = Policy.builder('hev').clock(clock).hedge({ delay: 10, clock }).build();
    hedged.on('hedge', () => events.push(`hedge ${seen()}`));
    const answers = await concurrently(clock, 50, () =>
      Promise.all([
        policy.execute(() => never()),
        hedged.execute((ctx) => (ctx.attempt === 1 ? never() : ctx.attempt)),
      ]),
    );
    expect(answers).to.deep.equal([
      ['fb', 2],
      ['fb', 2],
      ['fb', 2],
    ]);
    const expected = TENANTS.flatMap((t) =>
      ['timeout', 'timeout', 'retry', 'fallback', 'success', 'hedge'].map((e) => `${e} ${t}`),
    );
    expect(events.sort()).to.deep.equal(expected.sort());
  });

  it("lets go of a call's store once the call ended (the captured context is not kept)", async function () {
    this.timeout(60_000);
    const lines = (await runChild()).trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1] as string)).to.deep.equal({
      capture: true,
      call: true,
      limiter: true,
    });
  });
});
