// The default clock and the end-of-turn helper against fake timers installed and removed around
// them, as test set-ups do (a beforeEach that installs sinon or node:test timers, a setup file).
import { expect } from 'chai';
import sinon from 'sinon';
import { systemClock } from '../../src/internal/clock.js';
import { afterTurn } from '../../src/internal/signals.js';

/** Waits `ms` on the host's real timers (captured before any spec fakes them). */
const realSetTimeout = globalThis.setTimeout;
const realWait = (ms: number): Promise<void> =>
  new Promise((resolve) => realSetTimeout(resolve, ms));

describe('host timers', () => {
  let fake: sinon.SinonFakeTimers | undefined;
  afterEach(() => {
    fake?.restore();
    fake = undefined;
  });

  describe('systemClock', () => {
    it('clears a real timer for real when fake timers were installed after it was set', async () => {
      let fired = 0;
      const handle = systemClock.setTimeout(() => fired++, 20);
      fake = sinon.useFakeTimers();
      systemClock.clearTimeout(handle);
      fake.restore();
      fake = undefined;
      await realWait(50);
      expect(fired).to.equal(0);
    });

    it('sets a timer on fake timers installed after import, and clears it there once they are removed', async () => {
      let fired = 0;
      fake = sinon.useFakeTimers();
      const handle = systemClock.setTimeout(() => fired++, 1000);
      fake.tick(999);
      expect(fired).to.equal(0);
      const later = systemClock.setTimeout(() => fired++, 10);
      fake.tick(1);
      expect(fired).to.equal(1);
      expect(fake.countTimers()).to.equal(1);
      const stopped = fake;
      stopped.restore();
      fake = undefined;
      systemClock.clearTimeout(later);
      expect(stopped.countTimers()).to.equal(0);
      systemClock.clearTimeout(handle);
      await realWait(20);
      expect(fired).to.equal(1);
    });

    it('works with its functions detached, as its type says', () => {
      fake = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { now, setTimeout, clearTimeout } = systemClock;
      let fired = 0;
      const start = now();
      setTimeout(() => fired++, 10);
      clearTimeout(setTimeout(() => (fired += 10), 10));
      fake.tick(10);
      expect(fired).to.equal(1);
      expect(now() - start).to.equal(10);
    });

    it('sets and clears real timers as ever with no fake timers', async () => {
      let fired = 0;
      const kept = systemClock.setTimeout(() => fired++, 5);
      const cleared = systemClock.setTimeout(() => (fired += 10), 5);
      systemClock.clearTimeout(cleared);
      await realWait(30);
      expect(fired).to.equal(1);
      systemClock.clearTimeout(kept);
    });
  });

  describe('afterTurn', () => {
    it('keeps the host it had at import when fake timers are installed after it', async () => {
      let ran = 0;
      fake = sinon.useFakeTimers({ toFake: ['setImmediate'] });
      afterTurn(() => ran++);
      await realWait(10);
      expect(ran).to.equal(1);
      expect(fake.countTimers()).to.equal(0);
    });
  });
});
