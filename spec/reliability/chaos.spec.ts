// Chaos, end to end and in real time: a real HTTP server on 127.0.0.1 that injects errors,
// latency spikes, hung requests and a full outage, and about a thousand calls through a full
// policy using fetch with ctx.signal. The server records what it saw; the specs hold the policy
// to its promises as the server experienced them. One of the few real-time specs: about 3 s.
import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isCircuitOpenError, isRateLimitExceededError } from '../../src/errors.js';
import { Policy } from '../../src/pipeline/Policy.js';

const BULKHEAD = 8;
const WINDOW_SIZE = 20;
const MAX_TOKENS = 20;
const REFILL_PER_S = 300;
const TIMEOUT_MS = 100;
const CALLS = 1000;
const OUTAGE_FROM_MS = 900;
const OUTAGE_TO_MS = 1600;

type Fault = 'ok' | 'error' | 'spike' | 'hang' | 'outage-503' | 'outage-reset';

interface Seen {
  readonly id: string;
  readonly fault: Fault;
  readonly arrivedAt: number;
  finishedAt: number;
  closedAt: number;
}

/** A small seeded generator (mulberry32), so every run injects the same faults. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countByType(list: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of list) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

function leftOver(baseline: readonly string[]): string[] {
  const base = countByType(baseline);
  const extra: string[] = [];
  for (const [type, n] of countByType(process.getActiveResourcesInfo())) {
    if (n > (base.get(type) ?? 0)) extra.push(`${type} x${n - (base.get(type) ?? 0)}`);
  }
  return extra;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Most requests that overlap, given each one's [start, end]. */
function maxOverlap(intervals: ReadonlyArray<readonly [number, number]>): number {
  const events: Array<readonly [number, number]> = [];
  for (const [from, to] of intervals) events.push([from, 1], [to, -1]);
  // Ends before starts at the same instant: a slot given back can be taken at once.
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) {
    now += d;
    if (now > max) max = now;
  }
  return max;
}

/** Most events in any window of `ms`, given sorted times. */
function maxInWindow(times: readonly number[], ms: number): number {
  let max = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while ((times[to] as number) - (times[from] as number) > ms) from++;
    max = Math.max(max, to - from + 1);
  }
  return max;
}

/** Checks "at most maxTokens + refill * t in any window of length t" for every window. */
function worstExcess(times: readonly number[], slackMs: number): number {
  let worst = -Infinity;
  for (let i = 0; i < times.length; i++) {
    for (let j = i; j < times.length; j++) {
      const t = (times[j] as number) - (times[i] as number);
      const bound = MAX_TOKENS + (REFILL_PER_S * (t + slackMs)) / 1000;
      worst = Math.max(worst, j - i + 1 - bound);
    }
  }
  return worst;
}

describe('Chaos: a full policy against a misbehaving HTTP server', () => {
  // Runs even when an assertion fails midway, so a failure never leaves the server open (which
  // would keep mocha, and so `npm test`, from exiting).
  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    cleanup = undefined;
  });

  it('keeps every promise the policy makes, as seen by the server, and leaves nothing open', async function () {
    // About 3 s alone; a busy machine stretches the 500 paced bursts far beyond.
    this.timeout(90_000);
    // After a turn of the event loop, so mocha's own timer for this test is in the baseline.
    await sleep(1);
    const baseline = process.getActiveResourcesInfo();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);

    // How late this process ran its timers: on a busy machine a timeout fires, and the server
    // notices its socket close, that much after the due time.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const random = seeded(20240601);
    const seen: Seen[] = [];
    const pendingTimers = new Set<ReturnType<typeof setTimeout>>();
    let t0 = 0;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const now = performance.now();
      const since = now - t0;
      let fault: Fault;
      if (since >= OUTAGE_FROM_MS && since < OUTAGE_TO_MS) {
        fault = random() < 0.5 ? 'outage-503' : 'outage-reset';
      } else {
        const r = random();
        fault = r < 0.08 ? 'error' : r < 0.13 ? 'hang' : r < 0.2 ? 'spike' : 'ok';
      }
      const record: Seen = {
        id: String(req.headers['x-id']),
        fault,
        arrivedAt: now,
        finishedAt: NaN,
        closedAt: NaN,
      };
      seen.push(record);
      res.on('finish', () => (record.finishedAt = performance.now()));
      res.on('close', () => (record.closedAt = performance.now()));
      const reply = (status: number, body: string, delay: number) => {
        const timer = setTimeout(() => {
          pendingTimers.delete(timer);
          if (!res.destroyed) res.writeHead(status).end(body);
        }, delay);
        pendingTimers.add(timer);
        // The client gave up: stop the work, as a real server should.
        res.on('close', () => {
          clearTimeout(timer);
          pendingTimers.delete(timer);
        });
      };
      switch (fault) {
        case 'ok':
          return reply(200, 'ok', 1 + Math.floor(random() * 8));
        case 'error':
          return reply(500, 'error', 1 + Math.floor(random() * 5));
        case 'spike':
          return reply(200, 'ok', random() < 0.5 ? 40 : 150 + Math.floor(random() * 100));
        case 'hang':
          return; // never answers; only the client's abort ends it
        case 'outage-503':
          return reply(503, 'down', 0);
        case 'outage-reset':
          req.socket.destroy();
          return;
      }
    };
    const server: Server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/`;
    cleanup = () => {
      loopDelay.disable();
      process.off('unhandledRejection', onUnhandled);
      process.off('warning', onWarning);
      for (const timer of pendingTimers) clearTimeout(timer);
      server.closeAllConnections();
      if (server.listening) server.close();
    };

    const abortedAt = new Map<string, number>();
    const attemptsAt: number[] = [];
    const attemptStart = new Map<string, number>();
    const stateChanges: Array<{ at: number; from: string; to: string }> = [];
    const policy = Policy.builder<string>('chaos')
      .fallback({ value: 'fallback' })
      .bulkhead({ maxConcurrent: BULKHEAD, maxQueue: 16, maxWait: 250 })
      .retry({
        maxAttempts: 2,
        delay: 20,
        retryOn: (e) => !isRateLimitExceededError(e) && !isCircuitOpenError(e),
      })
      // Inside the retry, so every attempt (the thing the server sees) takes a token.
      .rateLimiter({ maxTokens: MAX_TOKENS, refillRate: REFILL_PER_S })
      .circuitBreaker({
        failureRateThreshold: 0.5,
        windowSize: WINDOW_SIZE,
        minimumCalls: 10,
        recoveryTimeout: 200,
        halfOpenMaxCalls: 2,
      })
      .timeout(TIMEOUT_MS)
      .build();
    policy.on('circuit-state', ({ from, to }) =>
      stateChanges.push({ at: performance.now() - t0, from, to }),
    );

    let nextId = 0;
    const call = () =>
      policy.execute(async (ctx) => {
        const id = String(nextId++);
        const startedAt = performance.now();
        attemptsAt.push(startedAt);
        attemptStart.set(id, startedAt);
        const signal = ctx.signal;
        const onAbort = () => abortedAt.set(id, performance.now());
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          const res = await fetch(url, { signal, headers: { 'x-id': id } });
          const body = await res.text();
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          return body;
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      });

    t0 = performance.now();
    const results: Array<Promise<string>> = [];
    for (let i = 0; i < CALLS; i += 2) {
      results.push(call(), call());
      await sleep(4);
    }
    const values = await Promise.all(results);
    const elapsed = performance.now() - t0;
    // The last aborted sockets reach the server a moment after their callers got the fallback.
    for (let i = 0; i < 100 && seen.some((s) => Number.isNaN(s.closedAt)); i++) await sleep(10);

    // Every caller got a value or the fallback, and nothing escaped as an unhandled rejection.
    expect(values.length).to.equal(CALLS);
    for (const v of values) expect(['ok', 'fallback']).to.include(v);
    const m = policy.metrics();
    expect(m.calls).to.equal(CALLS);
    expect(m.successes).to.equal(CALLS);
    expect(m.failures).to.equal(0);

    // Concurrency as the server saw it, each request counted until it was answered or the
    // client gave up on it (whichever came first), never above the bulkhead.
    const intervals = seen.map((s) => {
      const answered = Number.isNaN(s.finishedAt) ? s.closedAt : s.finishedAt;
      const gaveUp = abortedAt.get(s.id) ?? Infinity;
      return [s.arrivedAt, Math.min(answered, gaveUp)] as const;
    });
    const concurrency = maxOverlap(intervals);
    // Raw: counted until the server itself noticed the socket close (loopback latency later).
    const raw = maxOverlap(
      seen.map(
        (s) => [s.arrivedAt, Number.isNaN(s.finishedAt) ? s.closedAt : s.finishedAt] as const,
      ),
    );
    expect(concurrency, 'concurrency seen by the server').to.be.at.most(BULKHEAD);
    expect(concurrency, 'the bulkhead was exercised').to.be.at.least(BULKHEAD - 2);

    // Rate: every attempt took a token; the attempts that reached the thunk, and the requests
    // that reached the server, stay within maxTokens + refillRate * t over every window.
    expect(worstExcess(attemptsAt, 1), 'attempts over the limiter bound').to.be.at.most(0);
    // Every request that reached the server is one of those attempts, once: so the server saw
    // no more than the limiter granted (its own arrival times add a network delay that a busy
    // machine makes as uneven as it likes).
    const arrivals = seen.map((s) => s.arrivedAt).sort((a, b) => a - b);
    const ids = seen.map((s) => s.id);
    expect(new Set(ids).size, 'one request per attempt').to.equal(ids.length);
    expect(
      ids.filter((id) => !attemptStart.has(id)),
      'requests that no attempt sent',
    ).to.deep.equal([]);
    expect(seen.length).to.be.at.most(attemptsAt.length);

    // The breaker opened during the outage, and the server then saw few requests.
    const opened = stateChanges.find(
      (c) => c.to === 'open' && c.at >= OUTAGE_FROM_MS && c.at < OUTAGE_TO_MS,
    );
    expect(
      opened,
      `breaker opened during the outage (${JSON.stringify(stateChanges)})`,
    ).to.not.equal(undefined);
    const openedAt = (opened as { at: number }).at;
    // Opened soon: at most a window of failures reached the server before it did, and what the
    // bulkhead had in flight meanwhile. Counted in requests, not time, which a busy machine
    // stretches.
    const beforeOpen = seen.filter(
      (s) => s.arrivedAt - t0 >= OUTAGE_FROM_MS && s.arrivedAt - t0 < openedAt,
    ).length;
    expect(beforeOpen, 'requests in the outage before the breaker opened').to.be.at.most(
      WINDOW_SIZE + BULKHEAD,
    );
    const duringOutage = seen.filter(
      (s) => s.arrivedAt - t0 >= OUTAGE_FROM_MS && s.arrivedAt - t0 < OUTAGE_TO_MS,
    ).length;
    const afterOpen = seen.filter(
      (s) => s.arrivedAt - t0 >= openedAt && s.arrivedAt - t0 < OUTAGE_TO_MS,
    ).length;
    // Without the breaker the limiter alone would let through about refillRate * 0.7 s = 210.
    expect(duringOutage, 'requests during the outage').to.be.below(80);
    expect(afterOpen, 'requests after the breaker opened').to.be.below(30);
    expect(
      stateChanges.some((c) => c.to === 'closed' && c.at >= OUTAGE_TO_MS),
      'closed again after the outage',
    ).to.equal(true);

    // Hung requests were aborted at the timeout: the server saw their sockets close then,
    // counted from the start of the attempt (which the timeout starts a moment before: hence
    // the 5 ms of slack below the timeout).
    const hung = seen.filter((s) => s.fault === 'hang');
    expect(hung.length, 'hung requests').to.be.greaterThan(5);
    const hangTimes = hung.map((s) => s.closedAt - (attemptStart.get(s.id) as number));
    loopDelay.disable();
    // Late by at most 150 ms, plus twice the worst timer lateness of this run (the timeout
    // firing, then the server seeing the close).
    const lateMs = loopDelay.max / 1e6;
    for (const t of hangTimes) {
      expect(t, `hung request closed at the timeout (timers up to ${lateMs} ms late)`).to.be.within(
        TIMEOUT_MS - 5,
        TIMEOUT_MS + 150 + 2 * lateMs,
      );
    }

    // Nothing left open: close the server and its keep-alive sockets, then wait for the
    // library's timers (deadline queue, queue timeouts) to fire and go.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    expect(pendingTimers.size, 'server timers').to.equal(0);
    let extra = leftOver(baseline);
    for (let i = 0; i < 60 && extra.length > 0; i++) {
      await sleep(50);
      extra = leftOver(baseline);
    }
    expect(extra, 'handles left open').to.deep.equal([]);
    process.off('unhandledRejection', onUnhandled);
    process.off('warning', onWarning);
    expect(unhandled).to.deep.equal([]);
    // No MaxListenersExceededWarning, or any other process warning, under load.
    expect(warnings).to.deep.equal([]);

    const figures = {
      elapsedMs: Math.round(elapsed),
      serverRequests: seen.length,
      faults: Object.fromEntries(countByType(seen.map((s) => s.fault))),
      fallbacks: values.filter((v) => v === 'fallback').length,
      concurrency,
      rawConcurrency: raw,
      maxArrivalsIn100ms: maxInWindow(arrivals, 100),
      outageRequests: duringOutage,
      requestsAfterOpen: afterOpen,
      breakerOpenedAfterMs: Math.round(openedAt - OUTAGE_FROM_MS),
      requestsBeforeOpen: beforeOpen,
      timersLateMs: Math.round(lateMs),
      hungCloseMs: [Math.round(Math.min(...hangTimes)), Math.round(Math.max(...hangTimes))],
      metrics: { ...m, stages: undefined },
    };
    if (process.env.RELIABILITY_FIGURES) console.log('chaos figures', JSON.stringify(figures));
  });
});
