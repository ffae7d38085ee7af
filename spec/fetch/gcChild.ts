// Child process for the collection spec of resilientFetch (run with --expose-gc): with a policy
// whose attempts have their own signal (a per-attempt timeout), it
// 1. starts reading a slow body, drops every reference to the response, collects, then aborts
//    the caller's signal: the read must still reject with the caller's reason;
// 2. makes 300 calls with one long-lived signal, reading each body, and prints the listeners
//    left on that signal once the responses are collected (none), and the timers left once the
//    bodies are read (none), as one JSON line.
import { getEventListeners } from 'node:events';
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { startServer } from './server.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

async function collect(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    (gc as () => void)();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const server = await startServer();
server.script((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  let sent = 0;
  const timer = setInterval(() => {
    res.write('x'.repeat(100));
    if (++sent === 100) {
      clearInterval(timer);
      res.end();
    }
  }, 10);
  res.on('close', () => clearInterval(timer));
});
// With --body-timeout, the same with a `bodyTimeout` of 30s, whose timers must all be gone once
// the bodies are read (printed as the timers left then).
const bodyTimeout = process.argv.includes('--body-timeout') ? '30s' : undefined;
const http = resilientFetch(Policy.builder<Response>('t').timeout('5s').build(), { bodyTimeout });

const caller = new AbortController();
const reading = (await http(server.url, { signal: caller.signal })).text().then(
  () => 'read to its end',
  (error: unknown) => (error as Error).message,
);
await collect();
caller.abort(new Error('caller gave up'));
const droppedRead = await reading;

server.script((_req, res) => res.end('ok'));
const shared = new AbortController();
const calls = async (n: number) => {
  for (let i = 0; i < n; i++) await (await http(server.url, { signal: shared.signal })).text();
};
await calls(300);
const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
// Node's fetch keeps the last response of a connection until its next request: a few more calls
// without the signal let the last one go.
for (let i = 0; i < 5; i++) await (await http(server.url)).text();
await collect();
const listeners = getEventListeners(shared.signal, 'abort').length;
await server.close();
console.log(JSON.stringify({ droppedRead, listeners, timers }));
