// A bounded open-loop load generator: requests arrive at a fixed rate whatever the service's
// answers (a closed loop would slow down with the service and hide an overload), over keep-alive
// connections to 127.0.0.1. Bounded in time (the phase), in count (rate x time) and in requests
// in flight; each request gives up after `timeoutMs`.
import { Agent, request } from 'node:http';
import { now } from './clock.js';

export interface Sample {
  /** When the request was sent, epoch ms. */
  readonly at: number;
  readonly latencyMs: number;
  /** downstream: the service's answer came from the downstream; fallback: from its fallback. */
  readonly outcome: 'downstream' | 'fallback' | 'error' | 'timeout' | 'shed';
}

export interface LoadOptions {
  readonly url: string;
  readonly ratePerSec: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  /** Requests in flight above this are not sent and count as `shed` (a bound, not a policy). */
  readonly maxInFlight: number;
}

export async function drive(agent: Agent, o: LoadOptions): Promise<Sample[]> {
  const samples: Sample[] = [];
  const total = Math.round((o.ratePerSec * o.durationMs) / 1000);
  const start = now();
  let sent = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];

  const one = (at: number) =>
    new Promise<void>((resolve) => {
      let done = false;
      const finish = (outcome: Sample['outcome']) => {
        if (done) return;
        done = true;
        inFlight--;
        samples.push({ at, latencyMs: now() - at, outcome });
        resolve();
      };
      const req = request(o.url, { agent, timeout: o.timeoutMs }, (res) => {
        const source = res.headers['x-source'];
        res.resume();
        res.on('end', () =>
          finish(
            res.statusCode !== 200 ? 'error' : source === 'fallback' ? 'fallback' : 'downstream',
          ),
        );
        res.on('error', () => finish('error'));
      });
      req.on('timeout', () => {
        req.destroy();
        finish('timeout');
      });
      req.on('error', () => finish('error'));
      req.end();
    });

  // Every tick sends the requests that fell due since the last one, each stamped with its due
  // time, so a late tick does not lower the offered rate.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - start) * o.ratePerSec) / 1000));
      while (sent < due) {
        const at = start + (sent * 1000) / o.ratePerSec;
        sent++;
        if (inFlight >= o.maxInFlight) {
          samples.push({ at, latencyMs: 0, outcome: 'shed' });
          continue;
        }
        inFlight++;
        pending.push(one(at));
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 5);
  });
  await Promise.all(pending);
  return samples;
}
