// The service under test, one process per library: a `node:http` server on 127.0.0.1 (port 0)
// whose every request calls the downstream through the library's policy (policies.ts). It tells
// the runner its port over IPC, and on request reports its event-loop delay and when its circuit
// opened since the last mark. Started by the scenarios runner: node service.js LIBRARY URL.
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { now } from './clock.js';
import type { Library } from './libraries.js';
import { guardFor, type Call } from './policies.js';

export type ToService = { readonly type: 'mark' } | { readonly type: 'read' };
export type FromService =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'marked' }
  | {
      readonly type: 'stats';
      /** Event-loop delay since the mark, in ms. */
      readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
      /** When the circuit opened since the mark, epoch ms. */
      readonly opened: readonly number[];
    };

const [library, downstream] = process.argv.slice(2) as [Library, string];
const send = (message: FromService) => process.send!(message);

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const call: Call = (signal) =>
  new Promise<string>((resolve, reject) => {
    const req = request(downstream, { agent, signal, headers: { 'x-tag': library } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(Buffer.concat(chunks).toString());
        else reject(new Error(`downstream answered ${res.statusCode}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

const guard = guardFor(library);
let opened: number[] = [];
guard.onOpen(() => opened.push(now()));

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

process.on('message', (message: ToService) => {
  if (message.type === 'mark') {
    delay.reset();
    opened = [];
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
      opened,
    });
  }
});
// The runner going away (it ended, or failed) ends the service too.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
