import { expect } from 'chai';
import { Bulkhead } from '../../../src/strategies/bulkhead/Bulkhead.js';
import { AdaptiveLimit } from '../../../src/strategies/bulkhead/AdaptiveLimit.js';

describe('Bulkhead settings as data', () => {
  it('lists every setting, maxConcurrent first, in Object.keys and JSON.stringify', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 4, maxQueue: 2, maxWait: '1s' });
    expect(Object.keys(bulkhead)).to.deep.equal([
      'maxConcurrent',
      'adaptiveLimit',
      'maxQueue',
      'maxWaitMs',
    ]);
    expect(JSON.parse(JSON.stringify(bulkhead))).to.deep.equal({
      maxConcurrent: 4,
      maxQueue: 2,
      maxWaitMs: 1000,
    });
    // A spread copies the settings as they are.
    expect({ ...bulkhead }).to.deep.include({ maxConcurrent: 4, maxQueue: 2, maxWaitMs: 1000 });
  });

  it('writes a maxWait without limit as null, as JSON writes Infinity', () => {
    expect(JSON.parse(JSON.stringify(new Bulkhead()))).to.deep.equal({
      maxConcurrent: 10,
      maxQueue: 0,
      maxWaitMs: null,
    });
  });

  it('keeps maxConcurrent read-only', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 3 });
    expect(() => {
      (bulkhead as { maxConcurrent: number }).maxConcurrent = 9;
    }).to.throw(TypeError);
    expect(bulkhead.maxConcurrent).to.equal(3);
  });

  it('lists the limit as it is now under an adaptive limit', () => {
    const limit = new AdaptiveLimit({ initial: 5, max: 50 });
    const bulkhead = new Bulkhead({ limit });
    const json = JSON.parse(JSON.stringify(bulkhead)) as Record<string, unknown>;
    expect(Object.keys(json)).to.deep.equal([
      'maxConcurrent',
      'adaptiveLimit',
      'maxQueue',
      'maxWaitMs',
    ]);
    expect(json.maxConcurrent).to.equal(limit.limit).and.to.equal(5);
    expect(() => {
      (bulkhead as { maxConcurrent: number }).maxConcurrent = 9;
    }).to.throw(TypeError);
  });
});
