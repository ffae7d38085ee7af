// `notify`, which calls a listener and never lets it break the call it observes: a throw or a
// rejected promise (or thenable) it returns is swallowed and marked handled.
import { expect } from 'chai';
import { notify } from '../../src/internal/listeners.js';
import { flush } from '../support/promises.js';

describe('listeners: notify', () => {
  it('passes the argument and swallows a throw', () => {
    const seen: number[] = [];
    notify((n: number) => seen.push(n), 3);
    expect(seen).to.deep.equal([3]);
    expect(() =>
      notify(() => {
        throw new Error('x');
      }, 0),
    ).not.to.throw();
  });

  it('marks a rejected promise or thenable a listener returns as handled', async () => {
    notify(() => Promise.reject(new Error('async listener broke')), 0);
    let onRejected: unknown;
    notify(
      () => ({
        then(_: unknown, rejected: unknown) {
          onRejected = rejected;
        },
      }),
      0,
    );
    expect(onRejected).to.be.a('function');
    // An unhandled rejection would fail the run (spec/setup.ts).
    await flush();
  });

  it('ignores a returned object whose `then` cannot be read', () => {
    expect(() =>
      notify(
        () => ({
          get then(): unknown {
            throw new Error('getter');
          },
        }),
        0,
      ),
    ).not.to.throw();
  });
});
