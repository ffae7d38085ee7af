// The kind descriptors' shared helpers: a number gauge reports only finite numbers, and a kind
// can be registered once under its name.
import { expect } from 'chai';
import { numberGauge, type KindDescriptor } from '../../src/strategies/descriptor.js';
import { KINDS, registerKind } from '../../src/strategies/index.js';
import { TOY } from '../fixtures/toy/kind.js';

describe('kind descriptors', () => {
  describe('a number gauge', () => {
    const gauge = numberGauge('bulwark.spec.level', '{level}', 'A level.', 'level');

    it('reports the finite number under its key', () => {
      expect(gauge).to.include({
        name: 'bulwark.spec.level',
        unit: '{level}',
        description: 'A level.',
      });
      expect(gauge.read({ level: 3 })).to.equal(3);
      expect(gauge.read({ level: 0 })).to.equal(0);
      expect(gauge.read({ level: -2.5 })).to.equal(-2.5);
    });

    it('reports nothing for a value that is not a finite number', () => {
      for (const level of [Infinity, -Infinity, NaN, '3', null, undefined, true, 3n]) {
        expect(gauge.read({ level }), String(level)).to.equal(undefined);
      }
      expect(gauge.read({}), 'no such key').to.equal(undefined);
      expect(gauge.read({ other: 3 }), 'another key').to.equal(undefined);
    });
  });

  describe('registering a kind', () => {
    it('refuses a second kind of the same name, leaving the first in place', () => {
      const unregister = registerKind(TOY);
      try {
        const twin: KindDescriptor = { ...(TOY as KindDescriptor), label: 'Twin' };
        expect(() => registerKind(twin)).to.throw(Error, 'a kind "toy" is already registered');
        expect(KINDS.filter((k) => k.kind === 'toy')).to.deep.equal([TOY]);
      } finally {
        unregister();
      }
      expect(KINDS.some((k) => k.kind === 'toy')).to.equal(false);
    });

    it('adds a kind of a new name after the built-in ones, and removes only it', () => {
      const before = [...KINDS];
      const unregister = registerKind(TOY);
      expect(KINDS).to.deep.equal([...before, TOY]);
      unregister();
      unregister();
      expect(KINDS).to.deep.equal(before);
    });
  });
});
