// bulwark imported while fake timers are installed (a setup file, Jest's `enableGlobally`), used
// while they stay and after they are removed: its end-of-turn helper must not wait on the fakes. Each case
// loads its own copy of the module (a query makes it a new module), so it captures the fakes.
import { expect } from 'chai';
import sinon from 'sinon';

type Signals = { afterTurn(fn: () => void): unknown };

const realSetTimeout = globalThis.setTimeout;
const realWait = (ms: number): Promise<void> =>
  new Promise((resolve) => realSetTimeout(resolve, ms));

describe('the end-of-turn helper imported under fake timers', () => {
  it('runs on the real host once sinon fake timers are removed', async () => {
    const fake = sinon.useFakeTimers();
    let signals: Signals;
    try {
      // @ts-expect-error -- a query string makes a new copy of the module
      signals = (await import('../../src/internal/signals.js?sinon')) as Signals;
    } finally {
      fake.restore();
    }
    let ran = 0;
    signals.afterTurn(() => ran++);
    await realWait(10);
    expect(ran).to.equal(1);
  });

  it('runs on the real host while the sinon fake timers it was imported under are installed', async () => {
    const fake = sinon.useFakeTimers();
    let ran = 0;
    try {
      // @ts-expect-error -- a query string makes a new copy of the module
      const signals = (await import('../../src/internal/signals.js?installed')) as Signals;
      signals.afterTurn(() => ran++);
      // Real time passes; fake time does not, and nobody ticks.
      await realWait(10);
    } finally {
      // A fake immediate still pending would be dropped here.
      fake.restore();
    }
    await realWait(10);
    expect(ran).to.equal(1);
  });

  it('runs on the real host once another fake setImmediate is removed', async () => {
    const host = globalThis as { setImmediate: unknown };
    const real = host.setImmediate;
    const held: Array<() => void> = [];
    host.setImmediate = (fn: () => void) => held.push(fn);
    let signals: Signals;
    try {
      // @ts-expect-error -- a query string makes a new copy of the module
      signals = (await import('../../src/internal/signals.js?other')) as Signals;
    } finally {
      host.setImmediate = real;
    }
    let ran = 0;
    signals.afterTurn(() => ran++);
    await realWait(10);
    expect([ran, held.length]).to.deep.equal([1, 0]);
  });
});
