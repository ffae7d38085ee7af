// Child process for the bodyTimeout spec: a one-shot script that fetches `url` (argv[2]) through
// a policy with a `bodyTimeout` of 30s, reads the body with `text()` (argv[3] `text`), with one
// `read()` of a reader and no more (`partial`), or leaves it unread (`unread`), prints what it
// got and ends; its parent measures how long it lives.
// With `stalled`, the body comes from a transport with no socket, which only the bound (of
// 300 ms) ends: the read must keep the process alive until it rejects, and print its error.
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

const [url, mode] = process.argv.slice(2) as [string, string];
const policy = Policy.builder<Response>('one-shot').timeout('5s').build();
if (mode === 'stalled') {
  const http = resilientFetch(policy, {
    bodyTimeout: 300,
    fetch: (_input, init) => {
      const body = new ReadableStream({
        start(controller) {
          init?.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
        },
      });
      return Promise.resolve(new Response(body));
    },
  });
  const res = await http(url);
  console.log(await res.text().catch((error: Error) => error.name));
} else {
  const http = resilientFetch(policy, { bodyTimeout: '30s' });
  const res = await http(url);
  if (mode === 'partial') {
    const { value } = await res.body!.getReader().read();
    console.log(new TextDecoder().decode(value));
  } else {
    console.log(mode === 'text' ? await res.text() : res.status);
  }
}
