// A configuration nested thousands of levels deep is refused with an error naming the path where
// it passes the limit, never a bare stack overflow; data nested within the limit still loads, and
// data that holds itself is read and compared on reload.
import { expect } from 'chai';
import { isOptionTypeError } from '../../src/optionErrors.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { MAX_CONFIG_DEPTH } from '../../src/registry/config.js';
import { thrownBy } from '../support/promises.js';

const down = (): never => {
  throw new Error('down');
};

/** `leaf` under `levels` objects, each holding the next under `key`. */
function nest(levels: number, key: string, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { [key]: value };
  return value;
}

const refusal = thrownBy;

describe('PolicyRegistry: configuration depth', () => {
  it('refuses objects and arrays nested past 100 levels, naming the path at level 101', () => {
    expect(MAX_CONFIG_DEPTH).to.equal(100);
    // The configuration is level 1, `policies` 2, `p` 3, its stage 4, `fallback` 5, `value` 6.
    const fallback = { policies: { p: [{ fallback: { value: nest(2000, 'value', 1) } }] } };
    const at101 = `resilience.policies.p[0].fallback${'.value'.repeat(96)}`;
    const cases: Array<[string, () => unknown, string]> = [
      ['a fallback value 2,000 levels deep', () => fallback, at101],
      [
        'an array 2,000 levels deep',
        () => ({
          policies: {
            p: [{ fallback: { value: JSON.parse(`${'['.repeat(2000)}${']'.repeat(2000)}`) } }],
          },
        }),
        `resilience.policies.p[0].fallback.value${'[0]'.repeat(95)}`,
      ],
      [
        'unknown keys 10,000 levels deep',
        () => nest(10_000, 'x', 1),
        `resilience${'.x'.repeat(100)}`,
      ],
      [
        "a bulkhead's `limit` 10,000 levels deep",
        () => ({ bulkhead: { a: nest(10_000, 'limit', {}) } }),
        `resilience.bulkhead.a${'.limit'.repeat(98)}`,
      ],
    ];
    for (const [label, config, path] of cases) {
      for (const load of [
        () => PolicyRegistry.fromConfig(config() as never),
        () => PolicyRegistry.fromConfig({}).reload(config() as never),
      ]) {
        const error = refusal(load);
        expect(isOptionTypeError(error), `${label}: ${String(error)}`).to.equal(true);
        expect((error as { option?: string }).option, label).to.equal(path);
        expect(error.message, label).to.equal(
          `${path}: objects and arrays may nest at most 100 levels deep in a configuration; this one is at level 101`,
        );
      }
    }
  });

  it('loads data nested up to the limit, and leaves a registry as it was when a reload is too deep', async () => {
    const deepest = nest(95, 'value', 'cached');
    const registry = PolicyRegistry.fromConfig({
      policies: { p: [{ fallback: { value: deepest } }] },
    });
    const policy = registry.policy('p');
    expect(await policy.execute(down)).to.deep.equal(deepest);
    expect(() =>
      registry.reload({ policies: { p: [{ fallback: { value: nest(96, 'value', 'new') } }] } }),
    ).to.throw(TypeError, 'at most 100 levels deep');
    expect(await registry.policy('p').execute(down)).to.deep.equal(deepest);
  });

  it('walks a value shared by two places as deep as the deeper one', () => {
    // Reached first at level 7, the shared chain is within the limit there; under `deeper` it
    // goes past it.
    const shared = nest(90, 'x', 1);
    const value = { near: shared, deeper: nest(10, 'y', shared) };
    const error = refusal(() =>
      PolicyRegistry.fromConfig({ policies: { p: [{ fallback: { value } }] } }),
    );
    expect((error as { option?: string }).option).to.equal(
      `resilience.policies.p[0].fallback.value.deeper${'.y'.repeat(10)}${'.x'.repeat(84)}`,
    );
  });

  it('compares a fallback value that holds itself on reload', async () => {
    const cyclic = (label: string) => {
      const value: Record<string, unknown> = { label };
      value.self = value;
      return { policies: { p: [{ fallback: { value } }] } };
    };
    const registry = PolicyRegistry.fromConfig(cyclic('a'));
    expect(registry.reload(cyclic('a'))).to.deep.include({ changed: [] });
    expect(registry.reload(cyclic('b'))).to.deep.include({ changed: ['policies.p'] });
    const answer = (await registry.policy('p').execute(down)) as Record<string, unknown>;
    expect(answer.label).to.equal('b');
    expect(answer.self).to.equal(answer);
  });
});
