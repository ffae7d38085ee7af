// How `bulwark/otel` knows a registry of this copy without loading the PolicyRegistry class.
import { expect } from 'chai';
import { isPolicyRegistry } from '../../src/internal/registries.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';

describe('registries: a PolicyRegistry known without its class', () => {
  it("knows every registry the constructor made, a subclass's and fromConfig's included", () => {
    class Named extends PolicyRegistry {}
    for (const registry of [
      new PolicyRegistry(),
      new Named(),
      PolicyRegistry.fromConfig({ policies: { p: [{ retry: { 'max-attempts': 2 } }] } }),
    ]) {
      expect(isPolicyRegistry(registry)).to.equal(true);
    }
  });

  it('knows nothing else, an object on the prototype of a registry included', () => {
    for (const value of [
      undefined,
      null,
      'registry',
      {},
      Policy.builder('p').build(),
      Object.create(PolicyRegistry.prototype) as object,
    ]) {
      expect(isPolicyRegistry(value), String(value)).to.equal(false);
    }
  });
});
