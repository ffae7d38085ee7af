// The adaptive limit's acceptance: a simulated server whose latency grows past a knee in
// concurrency, driven by a closed loop of clients through a bulkhead, on the manual clock.
//
// The server answers in 20 ms while at most 40 calls run on it (the knee); past it, contention
// makes every call slower by the square of the overload (80 calls: 80 ms each), so its
// throughput falls: 2,000 calls/s at the knee, 400/s at 200 calls. 200 clients call in a loop
// (each calls again as soon as its call ends); the bulkhead queues the rest. Windows are 100 ms.
import { expect } from 'chai';
import {
  AdaptiveLimit,
  type AdaptiveAlgorithm,
} from '../../../src/strategies/bulkhead/AdaptiveLimit.js';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { ManualClock } from '../../support/clock.js';

const BASE_MS = 20;
const KNEE = 40;
const CLIENTS = 200;
const WINDOW_MS = 100;
const SECONDS = 12;

const latency = (running: number, knee: number): number =>
  running <= knee ? BASE_MS : BASE_MS * (running / knee) ** 2;

interface Run {
  /** Calls served per second over the run. */
  readonly goodput: number;
  /** The limit at the end of each window. */
  readonly limits: number[];
}

/** Runs the loop; with `degradeAt`, the knee falls from 40 to 20 at that second. */
async function simulate(limit: number | AdaptiveLimit, degradeAt = Infinity): Promise<Run> {
  const clock = new ManualClock(0);
  const bulkhead = new Bulkhead({ limit, maxQueue: CLIENTS, clock });
  let running = 0;
  let served = 0;
  let stop = false;
  const server = (): Promise<void> =>
    new Promise((resolve) => {
      running++;
      clock.setTimeout(
        () => {
          running--;
          served++;
          resolve();
        },
        latency(running, clock.now() < degradeAt * 1000 ? KNEE : KNEE / 2),
      );
    });
  const client = async (): Promise<void> => {
    while (!stop) await bulkhead.execute(server);
  };
  const clients = Array.from({ length: CLIENTS }, client);
  const limits: number[] = [];
  for (let t = 0; t < SECONDS * 1000; t += WINDOW_MS) {
    await clock.advance(WINDOW_MS);
    limits.push(bulkhead.maxConcurrent);
  }
  const goodput = served / SECONDS;
  stop = true;
  await clock.advance(10_000);
  await Promise.all(clients);
  return { goodput, limits };
}

// The first window from which the limit stays within [lo, hi] to the end, or -1.
function settledFrom(limits: readonly number[], lo: number, hi: number): number {
  let from = -1;
  limits.forEach((l, i) => {
    if (l < lo || l > hi) from = -1;
    else if (from === -1) from = i;
  });
  return from;
}

describe('an adaptive limit against a server with a knee at 40 concurrent calls', function () {
  this.timeout(60_000);
  const fixed = new Map<number, number>();

  before(async () => {
    for (const n of [10, 200]) fixed.set(n, (await simulate(n)).goodput);
  });

  it('a fixed limit set too low (10) serves 500 calls/s, one set too high (200) 400/s', () => {
    expect(fixed.get(10)).to.be.closeTo(500, 10);
    expect(fixed.get(200)).to.be.closeTo(400, 20);
  });

  for (const [algorithm, within, band] of [
    // Measured: gradient2 is in the band from window 20 on and holds 51 (1,570 calls/s); aimd from
    // window 16, sawing between 45 and 50 (1,660 calls/s).
    ['gradient2', 25, [KNEE, 54]],
    ['aimd', 20, [KNEE, 56]],
  ] as Array<[AdaptiveAlgorithm, number, [number, number]]>) {
    it(`${algorithm}: settles from 20 within ${within} windows to [${band[0]}, ${band[1]}] and beats both fixed limits`, async () => {
      const run = await simulate(new AdaptiveLimit({ algorithm, initial: 20, window: WINDOW_MS }));
      const from = settledFrom(run.limits, band[0], band[1]);
      expect(from, run.limits.join(' ')).to.be.within(0, within);
      // Well past the 500 and 400 calls/s of the fixed limits (the knee itself gives 2,000).
      expect(run.goodput).to.be.above(3 * (fixed.get(10) as number));
      expect(run.goodput).to.be.above(3 * (fixed.get(200) as number));
    });

    it(`${algorithm}: follows the knee down (40 to 20) within 5 windows`, async () => {
      const run = await simulate(
        new AdaptiveLimit({ algorithm, initial: 20, window: WINDOW_MS }),
        6,
      );
      // Measured: gradient2 holds 26-27 from the 4th window after the change, aimd 22-25 from the 2nd.
      const after = run.limits.slice(60);
      const from = settledFrom(after, KNEE / 2, band[1] / 2);
      expect(from, after.join(' ')).to.be.within(0, 5);
    });
  }
});
