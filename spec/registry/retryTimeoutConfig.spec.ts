// The retry and time limiter options added for server-aware waits and cooperative timeouts,
// read from configuration in kebab-case.
import { expect } from 'chai';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';
import { Retry } from '../../src/strategies/retry/Retry.js';
import type { TimeLimiter } from '../../src/strategies/timeout/TimeLimiter.js';

describe('Configuration of backoff types, retry-after caps and timeout modes', () => {
  it('reads backoff-type, jitter kinds, max-retry-after and mode', () => {
    const registry = PolicyRegistry.fromConfig({
      retry: {
        linear: {
          'backoff-type': 'linear',
          delay: '100ms',
          jitter: 'full',
          'max-retry-after': '30s',
        },
        smooth: { delay: '1s', jitter: 'decorrelated', 'max-delay': '1m' },
      },
      'time-limiter': { patient: { timeout: '2s', mode: 'cooperative' } },
    });
    const linear = registry.retry('linear') as Retry;
    expect([linear.backoffType, linear.jitter, linear.maxRetryAfter]).to.deep.equal([
      'linear',
      'full',
      30_000,
    ]);
    const smooth = registry.retry('smooth') as Retry;
    expect([smooth.jitter, smooth.maxRetryAfter]).to.deep.equal(['decorrelated', 60_000]);
    const patient = registry.timeLimiter('patient') as TimeLimiter;
    expect([patient.timeoutMs, patient.mode]).to.deep.equal([2_000, 'cooperative']);
  });

  it('accepts decorrelated jitter with the default backoff-type exponential written out, the same on reload', () => {
    expect(
      new Retry({ delay: 100, jitter: 'decorrelated', backoffType: 'exponential' }).jitter,
    ).to.equal('decorrelated');
    const config = (smooth: Record<string, unknown>) => ({ retry: { smooth } });
    const registry = PolicyRegistry.fromConfig(
      config({ delay: '100ms', jitter: 'decorrelated', 'backoff-type': 'exponential' }),
    );
    const smooth = registry.retry('smooth') as Retry;
    expect([smooth.jitter, smooth.backoffType]).to.deep.equal(['decorrelated', 'exponential']);
    expect(registry.reload(config({ delay: '100ms', jitter: 'decorrelated' }))).to.deep.equal({
      added: [],
      removed: [],
      changed: [],
    });
    expect(registry.retry('smooth')).to.equal(smooth);
    for (const backoffType of ['constant', 'linear'] as const) {
      expect(() => new Retry({ jitter: 'decorrelated', backoffType })).to.throw(
        TypeError,
        "`backoffType` must be unset with jitter 'decorrelated' (or 'exponential')",
      );
    }
  });

  it('refuses bad values with the full path', () => {
    expect(() =>
      PolicyRegistry.fromConfig({ retry: { bad: { 'backoff-type': 'cubic' } } }),
    ).to.throw(TypeError, /resilience\.retry\.bad\.backoff-type: `backoff-type` must be one of/);
    expect(() =>
      PolicyRegistry.fromConfig({ 'time-limiter': { bad: { timeout: '1s', mode: 'lazy' } } }),
    ).to.throw(TypeError, /mode/);
  });
});
