import { expect } from 'chai';
import { child, normalizeConfig } from '../../src/registry/config.js';

describe('normalizeConfig', () => {
  it('turns kebab-case option keys into camelCase and remembers how each was written', () => {
    const config = normalizeConfig({
      'rate-limiter': { 'payment-api': { 'max-tokens': 10, refillRate: 2 } },
    });
    const entry = config.kinds.get('rate-limiter')?.named.get('payment-api');
    expect(entry?.path).to.equal('resilience.rate-limiter.payment-api');
    expect({ ...entry?.options }).to.deep.equal({ maxTokens: 10, refillRate: 2 });
    expect({ ...entry?.spelled }).to.deep.equal({
      maxTokens: 'max-tokens',
      refillRate: 'refillRate',
    });
    expect(Object.isFrozen(entry?.options)).to.equal(true);
  });

  it('keeps `default` apart from the named entries', () => {
    const bulkheads = normalizeConfig({
      bulkhead: { default: { maxConcurrent: 5 }, db: {} },
    }).kinds.get('bulkhead');
    expect(bulkheads?.default?.options).to.deep.include({ maxConcurrent: 5 });
    expect([...(bulkheads?.named.keys() ?? [])]).to.deep.equal(['db']);
  });

  it('reads a policy written before the instances it names', () => {
    const config = normalizeConfig({
      policies: { p: [{ 'rate-limiter': 'api' }, { timeLimiter: '2s' }] },
      rateLimiter: { api: {} },
    });
    const stages = config.policies.get('p');
    expect(stages?.[0]).to.deep.equal({
      kind: 'rate-limiter',
      path: 'resilience.policies.p[0].rate-limiter',
      ref: 'api',
    });
    expect(stages?.[1]?.kind).to.equal('time-limiter');
    expect('entry' in (stages?.[1] ?? {}) && stages?.[1]).to.deep.include({
      path: 'resilience.policies.p[1].timeLimiter',
    });
  });

  it('prefers a configured time-limiter name over reading the string as a duration', () => {
    const config = normalizeConfig({
      'time-limiter': { '5s': { timeout: '1s' } },
      policies: { p: [{ 'time-limiter': '5s' }] },
    });
    expect(config.policies.get('p')?.[0]).to.include({ ref: '5s' });
  });

  it('rejects the same kind given in both spellings', () => {
    expect(() => normalizeConfig({ bulkhead: {}, 'rate-limiter': {}, rateLimiter: {} })).to.throw(
      TypeError,
      'resilience: `rate-limiter` and `rateLimiter` are the same key; give one',
    );
  });

  it('names paths from the given root', () => {
    expect(() => normalizeConfig({ retyr: {} }, 'pyfly.resilience')).to.throw(
      TypeError,
      'pyfly.resilience: unknown key `retyr` (did you mean `retry`?)',
    );
  });

  it('quotes a key that would not read as one path segment', () => {
    expect(child('a', 'b-c_1')).to.equal('a.b-c_1');
    expect(child('a', 'b.c')).to.equal('a["b.c"]');
  });

  it('accepts `timeout` as a spelling of the `time-limiter` section and stage', () => {
    const config = normalizeConfig({
      timeout: { slow: { timeout: '5s' } },
      policies: { p: [{ timeout: 'slow' }, { timeout: '2s' }] },
    });
    expect([...(config.kinds.get('time-limiter')?.named.keys() ?? [])]).to.deep.equal(['slow']);
    expect(config.policies.get('p')?.map((s) => s.kind)).to.deep.equal([
      'time-limiter',
      'time-limiter',
    ]);
    expect(() => normalizeConfig({ timeout: {}, 'time-limiter': {} })).to.throw(
      TypeError,
      'resilience: `timeout` and `time-limiter` are the same key; give one',
    );
  });
});
