// Keyed stages and configuration: a call passes through a keyed stage and back in the same turns
// (first, so that a stage that never answers fails at once instead of leaving later specs waiting);
// a key function is code, so configuration refuses `key`, and `max-keys` and `idle-timeout` that go
// with it, with a message that says so (and where);
// a keyed policy is built in code and registered.
import { expect } from 'chai';
import type { ExecutionContext } from '../../../src/pipeline/ExecutionContext.js';
import { Policy } from '../../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../../src/registry/PolicyRegistry.js';
import { ManualClock } from '../../support/clock.js';
import { flush } from '../../support/promises.js';

describe('Keyed stages and configuration', () => {
  it("passes a call in through its key's step and its outcome out, in the same turns", async () => {
    const policy = Policy.builder('p')
      .bulkhead({ key: (ctx: ExecutionContext) => ctx.data.get('host') as string })
      .build();
    const outcomes: unknown[] = [];
    void policy.execute(() => 'ok', { data: { host: 'a' } }).then((v) => outcomes.push(v));
    void policy
      .execute(() => Promise.reject(new Error('down')), { data: { host: 'b' } })
      .catch((e: Error) => outcomes.push(e.message));
    await flush();
    expect(outcomes).to.deep.equal(['ok', 'down']);
  });

  it('refuses `key` in configuration as code, at its path', () => {
    expect(() =>
      PolicyRegistry.fromConfig({
        'circuit-breaker': { hosts: { key: 'host', 'failure-threshold': 3 } },
      }),
    ).to.throw(
      TypeError,
      'resilience.circuit-breaker.hosts: the option `key` cannot come from configuration (it is code, not data)',
    );
  });

  it('refuses `max-keys` and `idle-timeout` of every keyed kind as needing a `key` set in code', () => {
    const cases: Array<[string, string, string]> = [
      ['circuit-breaker', 'max-keys', 'circuitBreaker({ key, maxKeys })'],
      ['rate-limiter', 'idle-timeout', 'rateLimiter({ key, idleTimeout })'],
      ['bulkhead', 'max-keys', 'bulkhead({ key, maxKeys })'],
      ['bulkhead', 'idleTimeout', 'bulkhead({ key, idleTimeout })'],
    ];
    for (const [kind, option, builder] of cases) {
      const message =
        `the option \`${option}\` needs a \`key\` function, which cannot come from configuration ` +
        `(it is code, not data); build that policy with Policy.builder() (\`.${builder}\`) ` +
        'and register it';
      // As a shared instance, and inline in a policy.
      expect(() => PolicyRegistry.fromConfig({ [kind]: { hosts: { [option]: 5 } } })).to.throw(
        TypeError,
        `resilience.${kind}.hosts: ${message}`,
      );
      expect(() =>
        PolicyRegistry.fromConfig({ policies: { k: [{ [kind]: { [option]: 5 } }] } }),
      ).to.throw(TypeError, `resilience.policies.k[0].${kind}: ${message}`);
    }
    // A kind that has no keys: an unknown option, as before.
    expect(() => PolicyRegistry.fromConfig({ retry: { r: { 'max-keys': 5 } } })).to.throw(
      TypeError,
      'resilience.retry.r: unknown option `max-keys`',
    );
  });

  it('takes a keyed policy built in code, whose state health() reports', async () => {
    const registry = PolicyRegistry.fromConfig({});
    const policy = Policy.builder('per-user')
      .rateLimiter({
        key: (ctx) => ctx.data.get('user') as string,
        maxKeys: 10,
        maxTokens: 1,
        refillRate: 1,
        clock: new ManualClock(),
      })
      .build();
    registry.register(policy);
    await policy.execute(() => 1, { data: { user: 'ann' } });
    const [state] = registry.health().policies['per-user']?.stages ?? [];
    expect(state).to.deep.equal({
      kind: 'rate-limiter',
      name: 'rate-limiter',
      keys: 1,
      maxKeys: 10,
      busyKeys: 1,
      droppedBusy: 0,
      refusingKeys: 1,
      refusing: [{ key: 'ann', availableTokens: 0, maxTokens: 1, queued: 0 }],
    });
  });
});
