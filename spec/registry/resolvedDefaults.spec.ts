// The defaults `reload` fills in to compare options (src/registry/resolved.ts) are the ones each
// primitive applies: a primitive built with `{}` reads and describes itself as one built with
// each default written out. A default changed in a constructor and not in the table fails here.
import { expect } from 'chai';
import { configName } from '../../src/registry/config.js';
import { DEFAULTS, resolvedOptions } from '../../src/registry/resolved.js';
import type { KindDescriptor } from '../../src/strategies/descriptor.js';
import { KINDS } from '../../src/strategies/index.js';
import { ManualClock } from '../support/clock.js';

/** What a primitive shows of its settings: its summary, own properties and public getters. */
function reading(kind: KindDescriptor, primitive: object): Record<string, unknown> {
  const shown: Record<string, unknown> = {
    describe: kind.describe(primitive as never),
    // A snapshot's `takenAt` is the wall-clock time it was taken at, not a setting.
    json: JSON.stringify(primitive, (key, value: unknown) =>
      key === 'takenAt' ? undefined : value,
    ),
  };
  for (let proto = Object.getPrototypeOf(primitive); proto !== Object.prototype;) {
    for (const [key, property] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (property.get === undefined || key in shown) continue;
      const value: unknown = (primitive as Record<string, unknown>)[key];
      if (typeof value !== 'object' && typeof value !== 'function') shown[key] = value;
    }
    proto = Object.getPrototypeOf(proto);
  }
  return shown;
}

// One clock for both.
const clock = new ManualClock();
const build = (kind: KindDescriptor, options: Record<string, unknown>): object =>
  new (kind.Primitive as new (options: Record<string, unknown>) => object)({ ...options, clock });

describe('reload defaults (resolved options)', () => {
  it('names only kinds that exist', () => {
    const names = KINDS.map(configName);
    for (const name of Object.keys(DEFAULTS)) expect(names).to.include(name);
  });

  for (const kind of KINDS) {
    const defaults = DEFAULTS[configName(kind)];
    if (defaults === undefined) continue;
    describe(configName(kind), () => {
      for (const [key, value] of Object.entries(defaults)) {
        it(`reads ${key}: ${String(value)} as left out`, () => {
          expect(reading(kind, build(kind, { [key]: value }))).to.deep.equal(
            reading(kind, build(kind, {})),
          );
        });
      }
    });
  }

  // Defaults derived from other options: each written out builds what `{}` builds, and compares
  // equal to `{}` once resolved.
  const derived: Array<[string, Record<string, unknown>]> = [
    ['bulkhead', { maxConcurrent: 10 }],
    ['bulkhead', { limit: 10 }],
    ['circuit-breaker', { maxRecoveryTimeout: 30_000 }],
    ['circuit-breaker', { halfOpenMaxCalls: 0 }],
    ['circuit-breaker', { halfOpenMaxCalls: 0.5 }],
    ['circuit-breaker', { minimumCalls: 10 }],
    ['retry', { maxRetryAfter: undefined }],
  ];
  for (const [name, options] of derived) {
    it(`reads ${name} ${JSON.stringify(options)} as {}`, () => {
      const kind = KINDS.find((k) => configName(k) === name)!;
      expect(reading(kind, build(kind, options))).to.deep.equal(reading(kind, build(kind, {})));
      expect(resolvedOptions(name, options)).to.deep.equal(resolvedOptions(name, {}));
    });
  }
  it('reads a time window breaker with minimumCalls 10 as without', () => {
    const kind = KINDS.find((k) => configName(k) === 'circuit-breaker')!;
    const time = { windowType: 'time' };
    const written = { windowType: 'time', minimumCalls: 10 };
    expect(reading(kind, build(kind, written))).to.deep.equal(reading(kind, build(kind, time)));
    expect(resolvedOptions('circuit-breaker', written)).to.deep.equal(
      resolvedOptions('circuit-breaker', time),
    );
  });
  it('reads a retry maxRetryAfter equal to maxDelay as left out', () => {
    const kind = KINDS.find((k) => configName(k) === 'retry')!;
    const written = { maxDelay: 2000, maxRetryAfter: 2000 };
    expect(reading(kind, build(kind, written))).to.deep.equal(
      reading(kind, build(kind, { maxDelay: 2000 })),
    );
    expect(resolvedOptions('retry', written)).to.deep.equal(
      resolvedOptions('retry', { maxDelay: 2000 }),
    );
  });
});
