// The registry rule of docs/CONTRACT.md that code stays out of configuration (R-REG-9): error
// filters, predicates, fallback methods, clocks and stores are refused by `fromConfig`, naming
// the path and the option, and policies that need them are built and registered instead.
import { expect } from 'chai';
import { Policy, PolicyRegistry } from 'bulwark';

import { thrownBy } from './support.js';

describe('contract: code is not configuration', () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    [
      'an error filter',
      { retry: { default: { 'retry-on': ['Boom'] } } },
      'resilience.retry.default',
      'retry-on',
    ],
    [
      'a result predicate',
      { retry: { default: { retryOnResult: 'x' } } },
      'resilience.retry.default',
      'retryOnResult',
    ],
    [
      'a breaker filter',
      { 'circuit-breaker': { a: { 'record-on': 'x' } } },
      'resilience.circuit-breaker.a',
      'record-on',
    ],
    ['a store', { 'rate-limiter': { a: { store: {} } } }, 'resilience.rate-limiter.a', 'store'],
    ['a clock', { bulkhead: { a: { clock: {} } } }, 'resilience.bulkhead.a', 'clock'],
    [
      'a fallback method',
      { policies: { p: [{ fallback: { method: 'x' } }] } },
      'resilience.policies.p[0].fallback',
      'method',
    ],
  ];
  for (const [what, config, path, option] of cases) {
    it(`R-REG-9: ${what} in configuration is a TypeError naming its path and option`, () => {
      const error = thrownBy(() => PolicyRegistry.fromConfig(config));
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message.startsWith(`${path}: `)).to.equal(true);
      expect(error.message).to.include(`\`${option}\``);
    });
  }

  // An option whose value may be data or code (a retry's `delay`, a chaos stage's `enabled` and
  // `fault.error`) takes the data from configuration, never the code.
  const functions: Array<[string, Record<string, unknown>, string, string]> = [
    ['a delay function', { retry: { r: { delay: () => 123 } } }, 'resilience.retry.r', 'delay'],
    [
      "a policy's own delay function",
      { policies: { p: [{ retry: { 'max-attempts': 2, delay: () => 1 } }] } },
      'resilience.policies.p[0].retry',
      'delay',
    ],
    [
      'a chaos predicate',
      { chaos: { c: { fault: { rate: 0.1 }, enabled: () => true } } },
      'resilience.chaos.c',
      'enabled',
    ],
    [
      'a chaos error factory',
      { chaos: { c: { fault: { rate: 0.1, error: () => new Error('injected') } } } },
      'resilience.chaos.c',
      'fault.error',
    ],
  ];
  for (const [what, config, path, option] of functions) {
    it(`R-REG-9: ${what} in configuration is a TypeError naming its path and option, in fromConfig and reload`, () => {
      for (const load of [
        () => PolicyRegistry.fromConfig(config, { chaos: true }),
        () => new PolicyRegistry({ chaos: true }).reload(config),
      ]) {
        const error = thrownBy(load);
        expect(error).to.be.instanceOf(TypeError);
        expect(error.message).to.equal(
          `${path}: the option \`${option}\` cannot come from configuration as a function (it is ` +
            'code, not data); build that policy with Policy.builder() and register it',
        );
        expect(error).to.include({ option: `${path}.${option}` });
      }
    });
  }

  it('R-REG-9: the data those options take still comes from configuration', () => {
    const registry = PolicyRegistry.fromConfig(
      {
        retry: { r: { delay: '100ms' } },
        chaos: { c: { fault: { rate: 0.1, error: 'injected' }, enabled: false } },
      },
      { chaos: true },
    );
    expect(registry.retry('r').delay).to.equal(100);
    expect(registry.chaos('c').faultRate).to.equal(0.1);
  });

  it('R-REG-9: a policy that needs code is built with the builder and added with `register`', async () => {
    class Boom extends Error {}
    const registry = PolicyRegistry.fromConfig({ retry: { default: { 'max-attempts': 2 } } });
    registry.register(
      Policy.builder('coded')
        .fallback({ method: () => 'fallback', on: [Boom] })
        .build(),
    );
    expect(registry.names()).to.include('coded');
    expect(await registry.policy('coded').execute(() => Promise.reject(new Boom()))).to.equal(
      'fallback',
    );
  });
});
