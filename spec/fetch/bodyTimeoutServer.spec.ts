// `bodyTimeout` against a real node:http server on 127.0.0.1 that sends its headers and then
// stalls the body. Real sockets cannot run on fake time: few cases, generous bounds.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isOperationTimeoutError } from '../../src/errors.js';
import { resilientFetch } from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { rejectionOf } from '../support/promises.js';
import { reply, startServer, type Handler, type TestServer } from './server.js';

/** Sends the headers and a first chunk, then nothing more. */
const stall: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('first chunk ');
};

/** Runs the one-shot child against `url`; resolves with its output and how long it lived. */
function oneShot(
  url: string,
  mode: 'text' | 'partial' | 'unread' | 'stalled',
): Promise<{ out: string; ms: number }> {
  const child = fileURLToPath(new URL('./oneShotChild.js', import.meta.url));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [child, url, mode], { timeout: 40_000 }, (error, out, err) => {
      if (error) reject(new Error(`${child} failed: ${error.message}\n${err}`));
      else resolve({ out: out.trim(), ms: Date.now() - started });
    });
  });
}

describe('resilientFetch: bodyTimeout over a real connection', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await server.close();
  });

  it('rejects the read of a body stalled after the headers, and closes the connection', async function () {
    this.timeout(10_000);
    server.script(stall);
    const policy = Policy.builder<Response>('api').timeout('5s').build();
    const caller = new AbortController();
    const http = resilientFetch(policy, { bodyTimeout: 200 });
    const res = await http(`${server.url}users?key=secret`, { signal: caller.signal });
    expect([res.status, res.url, res.redirected, res.type]).to.deep.equal([
      200,
      `${server.url}users?key=secret`,
      false,
      'basic',
    ]);
    expect(res.headers.get('content-type')).to.equal('text/plain');
    const started = Date.now();
    const error = await rejectionOf(res.text());
    expect(Date.now() - started).to.be.below(2000);
    expect(isOperationTimeoutError(error)).to.equal(true);
    expect((error as Error).message).to.equal(
      `reading the body of GET ${server.url}users exceeded timeout of 0.2s`,
    );
    await (server.requests[0] as { closed: Promise<void> }).closed;
    expect(getEventListeners(caller.signal, 'abort')).to.have.length(0);
  });

  it("rejects a stalled reader's read() the same way", async function () {
    this.timeout(10_000);
    server.script(stall);
    const res = await resilientFetch(Policy.builder<Response>('api').build(), {
      bodyTimeout: 200,
    })(server.url);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).to.equal(false);
    const started = Date.now();
    expect(isOperationTimeoutError(await rejectionOf(reader.read()))).to.equal(true);
    expect(Date.now() - started).to.be.below(2000);
  });

  const how = {
    text: 'reads text()',
    partial: 'reads once and no more',
    unread: 'leaves the body unread',
  } as const;
  for (const mode of ['text', 'partial', 'unread'] as const) {
    it(`lets a one-shot script that ${how[mode]} exit at once`, async function () {
      this.timeout(45_000);
      server.script(reply(200, 'hello'));
      const { out, ms } = await oneShot(server.url, mode);
      expect(out).to.equal(mode === 'unread' ? '200' : 'hello');
      // The bound is 30s: a timer holding the process would keep it that long, or until a
      // collection of the body stream cleared it (some 8 s in).
      expect(ms).to.be.below(5_000);
    });
  }

  it('keeps a one-shot script alive while it reads a body only the bound can end', async function () {
    this.timeout(45_000);
    // A child that ended under the read would exit with code 13 (an unsettled top-level await).
    const { out } = await oneShot(server.url, 'stalled');
    expect(out).to.equal('OperationTimeoutError');
  });
});
