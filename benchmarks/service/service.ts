// The service under test, one process per library: a `node:http` server on 127.0.0.1 (port 0)
// whose every request calls the downstream through the library's policy (policies.ts). It tells
// the runner its port over IPC, and on request reports its event-loop delay and a trace of what
// its policy did since the last mark (the circuit's moves, the attempts that reached the
// downstream and how they ended, retries, fallbacks by cause). Started by the scenarios runner:
// node service.js LIBRARY URL BREAKER_MODE.
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { now } from './clock.js';
import type { Library } from './libraries.js';
import {
  CONFIG,
  guardFor,
  type BreakerMode,
  type BreakerState,
  type Call,
  type FallbackReason,
} from './policies.js';

/**
 * The attempts the service's policy sent to the downstream since a mark, how those ended, and
 * its retries and fallbacks. A phase's trace (run.ts) reports them as they are.
 */
export interface AttemptCounts {
  /** Attempts the service sent to the downstream. */
  readonly attempts: number;
  /** Of those ended since the mark: answered 200 within the policy's timeout, or later. */
  readonly attemptsOk: number;
  readonly attemptsOkLate: number;
  /** Answered with an error status (the outage's 503), or cancelled by the policy's abort. */
  readonly attemptsFailed: number;
  readonly attemptsCancelled: number;
  readonly retries: number;
  /** Fallback answers by the last error before them. */
  readonly fallbacks: Readonly<Record<FallbackReason, number>>;
}

/** What the service's policy did between a mark and a read. */
export interface ServiceTrace extends AttemptCounts {
  /** The circuit's state at the mark (closed for the service without a policy). */
  readonly initialState: BreakerState;
  /** Its moves since, epoch ms. */
  readonly transitions: readonly { readonly at: number; readonly to: BreakerState }[];
}

export type ToService =
  { readonly type: 'state' } | { readonly type: 'mark' } | { readonly type: 'read' };
export type FromService =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'state'; readonly state: BreakerState }
  | { readonly type: 'marked' }
  | {
      readonly type: 'stats';
      /** Event-loop delay since the mark, in ms. */
      readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
      /** CPU time the service used since the mark (user and system), ms. */
      readonly cpuMs: number;
      readonly trace: ServiceTrace;
    };

const [library, downstream, mode] = process.argv.slice(2) as [Library, string, BreakerMode];
const send = (message: FromService) => process.send!(message);

const emptyCounts = () => ({
  attempts: 0,
  attemptsOk: 0,
  attemptsOkLate: 0,
  attemptsFailed: 0,
  attemptsCancelled: 0,
  retries: 0,
  fallbacks: { probe: 0, circuit: 0, bulkhead: 0, timeout: 0, error: 0 },
});
let counts = emptyCounts();
let state: BreakerState = 'closed';
let initialState: BreakerState = 'closed';
let transitions: { at: number; to: BreakerState }[] = [];

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const call: Call = (signal) =>
  new Promise<string>((resolve, reject) => {
    counts.attempts++;
    const sent = now();
    let ended = false;
    const end = (outcome: 'ok' | 'failed' | 'cancelled') => {
      if (ended) return;
      ended = true;
      if (outcome === 'failed') counts.attemptsFailed++;
      else if (outcome === 'cancelled') counts.attemptsCancelled++;
      else if (now() - sent <= CONFIG.timeoutMs) counts.attemptsOk++;
      else counts.attemptsOkLate++;
    };
    const req = request(downstream, { agent, signal, headers: { 'x-tag': library } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 200) {
          end('ok');
          resolve(Buffer.concat(chunks).toString());
        } else {
          end('failed');
          reject(new Error(`downstream answered ${res.statusCode}`));
        }
      });
      res.on('error', (error) => {
        end(signal?.aborted ? 'cancelled' : 'failed');
        reject(error);
      });
    });
    req.on('error', (error) => {
      end(signal?.aborted ? 'cancelled' : 'failed');
      reject(error);
    });
    req.end();
  });

const guard = guardFor(library, mode, {
  state: (to) => {
    state = to;
    transitions.push({ at: now(), to });
  },
  retry: () => {
    counts.retries++;
  },
  fallback: (reason) => {
    counts.fallbacks[reason]++;
  },
});

const server = createServer((req, res) => {
  req.resume();
  guard.run(call).then(
    ({ body, source }) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-source': source }).end(body);
    },
    () => {
      res.writeHead(502).end();
    },
  );
});
server.keepAliveTimeout = 60_000;

const RESOLUTION_MS = 10;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();
let cpu = process.cpuUsage();

process.on('message', (message: ToService) => {
  if (message.type === 'state') {
    send({ type: 'state', state });
  } else if (message.type === 'mark') {
    delay.reset();
    cpu = process.cpuUsage();
    counts = emptyCounts();
    initialState = state;
    transitions = [];
    send({ type: 'marked' });
  } else {
    // The histogram holds the whole interval between samples: the delay is what exceeds it.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    send({
      type: 'stats',
      loopDelay: {
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
      },
      cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu)),
      trace: { initialState, transitions, ...counts },
    });
  }
});
// The runner going away (it ended, or failed) ends the service too.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
