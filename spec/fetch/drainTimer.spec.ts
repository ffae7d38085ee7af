// The timer of a discarded body's drain holds a process only while an attempt waits on it: a
// drain nobody waits on (a leftover after the call settled) never keeps a finished process alive.
// It imports the adapter's own module, which the built package bundles (left out of spec:dist).
import { expect } from 'chai';
import { drain } from '../../src/fetch/drain.js';

describe("resilientFetch: a discarded body's drain", () => {
  describe('process lifetime (real timers)', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    // A body that never ends and holds no socket: only the drain's own timer can end its read.
    const endless = () =>
      new Response(new ReadableStream<Uint8Array>({ start() {} }), { status: 503 });

    it('holds no process for a drain nobody waits on (after the call settled)', () => {
      const before = timers();
      void drain(endless());
      expect(timers()).to.equal(before);
    });

    it('keeps the process alive while an attempt waits on the drain, until its end', async () => {
      await null; // mocha sets this test's own timer once the test has returned its promise
      const before = timers();
      const controller = new AbortController();
      const drained = drain(endless(), controller.signal);
      expect(timers()).to.equal(before + 1);
      controller.abort();
      await drained;
      expect(timers()).to.equal(before);
    });
  });
});
