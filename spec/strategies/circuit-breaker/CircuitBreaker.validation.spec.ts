import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import type { CircuitBreakerOptions } from '../../../src/strategies/circuit-breaker/CircuitBreaker.js';
import { InMemoryCircuitBreakerStore } from '../../../src/strategies/circuit-breaker/store.js';

type ErrorClass = typeof TypeError | typeof RangeError;

function make(options: unknown): CircuitBreaker {
  return new CircuitBreaker(options as CircuitBreakerOptions);
}

/** [value, error class] pairs that must throw for `option`, each naming the option. */
function rejects(option: string, cases: Array<[unknown, ErrorClass]>, extra: object = {}): void {
  for (const [value, errorClass] of cases) {
    const label = typeof value === 'string' ? JSON.stringify(value) : String(value);
    it(`rejects ${option} ${label} with a ${errorClass.name}`, () => {
      expect(() => make({ ...extra, [option]: value }))
        .to.throw(errorClass)
        .with.property('message')
        .that.includes(`\`${option}\``);
    });
  }
}

function accepts(option: string, values: unknown[], extra: object = {}): void {
  it(`accepts ${option} ${values.map((v) => JSON.stringify(v)).join(', ')}`, () => {
    for (const value of values) {
      expect(() => make({ ...extra, [option]: value }), String(value)).not.to.throw();
    }
  });
}

describe('CircuitBreaker validation', () => {
  it('accepts no options at all, and an empty object', () => {
    expect(() => new CircuitBreaker()).not.to.throw();
    expect(() => new CircuitBreaker({})).not.to.throw();
  });

  it('rejects options that are not an object', () => {
    for (const bad of [5, 'fast', null, [1]]) {
      expect(() => make(bad), String(bad)).to.throw(TypeError, 'CircuitBreaker options');
    }
  });

  it('rejects an unknown option with a TypeError suggesting the nearest name', () => {
    expect(() => make({ failureTreshold: 3 })).to.throw(
      TypeError,
      'CircuitBreaker: unknown option `failureTreshold` (did you mean `failureThreshold`?)',
    );
    expect(() => make({ colour: 'red' })).to.throw(
      TypeError,
      'CircuitBreaker: unknown option `colour`',
    );
  });

  it('words messages with the option and the value received', () => {
    expect(() => make({ failureThreshold: 0 })).to.throw(
      RangeError,
      '`failureThreshold` must be an integer >= 1, got 0',
    );
    expect(() => make({ failureRateThreshold: 1.5 })).to.throw(
      RangeError,
      '`failureRateThreshold` must be a number in (0, 1], got 1.5',
    );
    expect(() => make({ windowType: 'sliding' })).to.throw(
      TypeError,
      "`windowType` must be one of 'count', 'time', got \"sliding\"",
    );
    expect(() => make({ halfOpenMaxCalls: 1.5 })).to.throw(
      RangeError,
      '`halfOpenMaxCalls` must be an integer, got 1.5',
    );
  });

  describe('failureThreshold', () => {
    rejects('failureThreshold', [
      [NaN, RangeError],
      [-1, RangeError],
      [0, RangeError],
      [2.5, RangeError],
      [Infinity, RangeError],
      ['5', TypeError],
      [null, TypeError],
    ]);
    accepts('failureThreshold', [1, 1000]);
  });

  describe('recoveryTimeout', () => {
    rejects('recoveryTimeout', [
      [NaN, RangeError],
      [-1, RangeError],
      [Infinity, RangeError],
      ['5 sec', TypeError],
      ['5', TypeError],
      ['', TypeError],
      [true, TypeError],
    ]);
    accepts('recoveryTimeout', [0, 1500, '20s', '1m30s']);
  });

  describe('recordOn', () => {
    rejects('recordOn', [
      ['ConnectionError', TypeError],
      [{}, TypeError],
      [[1], TypeError],
      [NaN, TypeError],
    ]);
    accepts('recordOn', [[Error], [], () => true]);
  });

  describe('failureRateThreshold', () => {
    rejects('failureRateThreshold', [
      [0, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [-0.5, RangeError],
      [Infinity, RangeError],
      ['0.5', TypeError],
    ]);
    accepts('failureRateThreshold', [1, 0.5, 0.001]);
  });

  describe('windowSize', () => {
    rejects('windowSize', [
      [0, RangeError],
      [-1, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      ['10', TypeError],
    ]);
    accepts('windowSize', [1, 100]);
  });

  describe('windowType', () => {
    rejects('windowType', [
      ['sliding', TypeError],
      ['COUNT', TypeError],
      [1, TypeError],
      [NaN, TypeError],
    ]);
    accepts('windowType', ['count', 'time']);
  });

  describe('windowDuration', () => {
    rejects('windowDuration', [
      [0, RangeError],
      ['0s', RangeError],
      [-1, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      ['1 min', TypeError],
      [{}, TypeError],
    ]);
    accepts('windowDuration', [1, '10s', '2m'], { windowType: 'time' });
  });

  describe('minimumCalls', () => {
    rejects('minimumCalls', [
      [0, RangeError],
      [-1, RangeError],
      [2.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      ['3', TypeError],
    ]);
    it('rejects a minimumCalls above windowSize for a count window', () => {
      expect(() => make({ windowSize: 10, minimumCalls: 11 })).to.throw(
        RangeError,
        '`minimumCalls` must be an integer <= `windowSize` (10) for a count window, got 11',
      );
    });
    accepts('minimumCalls', [1, 10], { windowSize: 10 });
    accepts('minimumCalls', [1, 500], { windowType: 'time' });
  });

  describe('slowCallDuration', () => {
    rejects('slowCallDuration', [
      [0, RangeError],
      [-5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      ['slow', TypeError],
      [false, TypeError],
    ]);
    accepts('slowCallDuration', [1, '2s']);
  });

  describe('slowCallRateThreshold', () => {
    rejects(
      'slowCallRateThreshold',
      [
        [0, RangeError],
        [1.5, RangeError],
        [NaN, RangeError],
        [-1, RangeError],
        [Infinity, RangeError],
        ['0.5', TypeError],
      ],
      { slowCallDuration: '1s' },
    );
    it('rejects slowCallRateThreshold without slowCallDuration', () => {
      // The message names the value received, as every option error's does.
      expect(() => make({ slowCallRateThreshold: 0.25 }))
        .to.throw(TypeError)
        .with.property(
          'message',
          '`slowCallRateThreshold` needs `slowCallDuration`, which says what a slow call is, got 0.25',
        );
    });
    accepts('slowCallRateThreshold', [1, 0.5], { slowCallDuration: '1s' });
  });

  describe('halfOpenMaxCalls', () => {
    rejects('halfOpenMaxCalls', [
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [-Infinity, RangeError],
      ['2', TypeError],
      [null, TypeError],
      [true, TypeError],
    ]);
    rejects('halfOpenMaxCalls', [[2.5, RangeError]]);
    // Any finite number below 1 is taken as 1, a fraction as well as an integer.
    accepts('halfOpenMaxCalls', [1, 5, 0, -3, 0.5, -0.25, 0.999]);
  });

  describe('clock', () => {
    rejects('clock', [
      [{}, TypeError],
      [{ now: () => 0 }, TypeError],
      [Date, TypeError],
      [NaN, TypeError],
    ]);
    accepts('clock', [{ now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined }]);
  });

  describe('store', () => {
    const partial = {
      configure() {},
      acquire() {},
      record() {},
      release() {},
      state() {},
      snapshot() {},
      isolate() {},
    };
    rejects('store', [
      [{}, TypeError],
      [partial, TypeError],
      ['redis', TypeError],
      [NaN, TypeError],
    ]);
    it('accepts an InMemoryCircuitBreakerStore', () => {
      expect(() => make({ store: new InMemoryCircuitBreakerStore() })).not.to.throw();
    });
  });

  it('validates at construction, so execute never throws a validation error', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, recoveryTimeout: '1s' });
    expect(await breaker.execute(() => 'ok')).to.equal('ok');
  });
});

describe('CircuitBreaker onSuccess and onFailure arguments', () => {
  const cases: Array<[unknown, ErrorClass, string]> = [
    ['x', TypeError, '"x"'],
    [null, TypeError, 'null'],
    [{}, TypeError, 'an object'],
    [-5, RangeError, '-5'],
    [NaN, RangeError, 'NaN'],
    [Infinity, RangeError, 'Infinity'],
    [-Infinity, RangeError, '-Infinity'],
  ];

  for (const [value, errorClass, shown] of cases) {
    it(`refuses a duration of ${shown} with a ${errorClass.name} naming it, recording nothing`, () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      const message = `\`durationMs\` must be a finite number >= 0, got ${shown}`;
      expect(() => breaker.onSuccess(value as number))
        .to.throw(errorClass)
        .with.property('message', message);
      expect(() => breaker.onFailure(new Error('boom'), value as number))
        .to.throw(errorClass)
        .with.property('message', message);
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics.bufferedCalls).to.equal(0);
    });
  }

  it('takes a missing duration as 0, and any finite duration >= 0', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 5, slowCallDuration: 10 });
    breaker.onSuccess();
    breaker.onSuccess(undefined);
    breaker.onSuccess(0);
    breaker.onSuccess(12.5);
    breaker.onFailure(new Error('boom'));
    breaker.onFailure(new Error('boom'), undefined);
    breaker.onFailure(new Error('boom'), 1e9);
    expect(breaker.metrics).to.include({ bufferedCalls: 7, failedCalls: 3, slowCalls: 2 });
  });
});
