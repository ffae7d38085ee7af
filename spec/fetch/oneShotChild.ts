// Child process for the bodyTimeout spec: a one-shot script that fetches `url` (argv[2]) through
// a policy with a `bodyTimeout` of 30s, reads the body with `text()` (argv[3] `text`) or leaves
// it unread (`unread`), prints what it got and ends. Its parent measures how long it lives.
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';

const [url, mode] = process.argv.slice(2) as [string, string];
const http = resilientFetch(Policy.builder<Response>('one-shot').timeout('5s').build(), {
  bodyTimeout: '30s',
});
const res = await http(url);
console.log(mode === 'text' ? await res.text() : res.status);
