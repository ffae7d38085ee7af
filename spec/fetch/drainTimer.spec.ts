// The timer of a discarded body's drain never holds a process: no attempt waits on a drain (a
// read-ahead, a leftover after the call settled), so it never keeps a finished process alive.
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

    it('holds none either while a signal can stop the drain', () => {
      const before = timers();
      const controller = new AbortController();
      void drain(endless(), controller.signal);
      expect(timers()).to.equal(before);
      controller.abort();
    });
  });
});
