// How a Keyed holder knows whether an instance is at rest, or in use, without knowing its class:
// each circuit breaker, rate limiter and bulkhead answers for itself by its methods named
// `bulwark.atRest` and `bulwark.inUse`, so a holder recognises instances of another copy of the
// package, a holder on its own carries none of the primitives' code, and no method of a user's
// own class answers by accident.
import { expect } from 'chai';
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { Keyed } from '../../../src/strategies/keyed/Keyed.js';
import { ManualClock } from '../../support/clock.js';

const require = createRequire(import.meta.url);
const AT_REST = 'bulwark.atRest';
const IN_USE = 'bulwark.inUse';

describe('Keyed: instances at rest', () => {
  it('knows a circuit of another copy of the package: keeps it OPEN while another can go, ISOLATED always', () => {
    // The built CommonJS package: its classes are not the ones of these sources.
    const other = require('bulwark') as typeof import('../../../src/index.js');
    const clock = new ManualClock();
    const keyed = new Keyed(
      () => new other.CircuitBreaker({ failureThreshold: 1, recoveryTimeout: 30_000, clock }),
      { maxKeys: 2, clock },
    );
    keyed.get('down').onFailure(new Error('x'));
    keyed.get('b');
    keyed.get('c');
    expect(keyed.keys(), 'the open circuit stays, b at rest goes').to.have.members(['down', 'c']);
    clock.tick(30_000); // HALF_OPEN: not at rest yet
    keyed.get('d');
    expect(keyed.keys()).to.have.members(['down', 'd']);
    keyed.get('down').isolate();
    keyed.get('d').onFailure(new Error('x'));
    for (const key of ['e', 'f', 'g']) keyed.get(key).onFailure(new Error('x'));
    expect(keyed.keys(), 'open circuits go when none else can').to.have.members(['down', 'g']);
    expect(keyed.get('down').state).to.equal('isolated');
  });

  it('asks an instance that answers for itself, and keeps one whose answers throw', () => {
    const state = { busy: true };
    const keyed = new Keyed(
      (key) =>
        key === 'boom'
          ? {
              [AT_REST]: () => {
                throw new Error('cannot tell');
              },
              [IN_USE]: () => {
                throw new Error('cannot tell');
              },
            }
          : key === 'busy'
            ? { [AT_REST]: () => !state.busy, [IN_USE]: () => state.busy }
            : key === 'holding'
              ? { [AT_REST]: () => false, [IN_USE]: () => false }
              : { [AT_REST]: 'not a method', [IN_USE]: 'not a method' },
      { maxKeys: 1 },
    );
    keyed.get('busy');
    keyed.get('boom');
    keyed.get('plain'); // not a method: at rest
    expect(keyed.keys()).to.have.members(['busy', 'boom', 'plain']);
    keyed.get('holding'); // plain goes, at rest
    expect(keyed.keys()).to.have.members(['busy', 'boom', 'holding']);
    keyed.get('next'); // holding is not at rest but not in use: it goes
    expect(keyed.keys()).to.have.members(['busy', 'boom', 'next']);
    state.busy = false;
    keyed.get('other');
    expect(keyed.keys()).to.have.members(['boom', 'other']);
  });

  it('takes an instance that tells only whether it is in use as at rest while it is not', () => {
    const busy = new Set(['busy']);
    const keyed = new Keyed((key) => ({ [IN_USE]: () => busy.has(key) }), { maxKeys: 1 });
    keyed.get('busy');
    keyed.get('idle');
    keyed.get('next'); // busy is in use, kept; idle goes
    expect(keyed.keys()).to.have.members(['busy', 'next']);
    busy.clear();
    keyed.get('last');
    expect(keyed.keys()).to.deep.equal(['last']);
  });

  it("never asks a user's own methods that happen to be named `atRest` or `inUse`", () => {
    class Session {
      /** The user's own meaning: whether the session is stored. */
      atRest(): boolean {
        return false;
      }

      /** The user's own meaning: whether a user is logged in. */
      inUse(): boolean {
        return true;
      }
    }
    const keyed = new Keyed(() => new Session(), { maxKeys: 1 });
    keyed.get('a');
    keyed.get('b');
    expect(keyed.keys(), 'an instance of any other class is at rest').to.deep.equal(['b']);
  });

  it('bundles on its own without the code of any primitive', async function () {
    this.timeout(20_000);
    const result = await build({
      stdin: {
        contents: "export { Keyed } from './src/strategies/keyed/Keyed.ts';",
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'esm',
      logLevel: 'silent',
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => /circuit-breaker|rate-limiter|bulkhead/.test(f))).to.deep.equal([]);
    expect(inputs.some((f) => f.endsWith('keyed/Keyed.ts'))).to.equal(true);
  });
});
