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
