// The fallback as a caller sees it where the white-box specs left gaps: what a call with a live
// signal does with an error `on` does not match, the text of a rejected result's error and of a
// description, and what a standalone method is given.
import { expect } from 'chai';
import sinon from 'sinon';
import { Policy } from '../../src/pipeline/Policy.js';
import { stages } from '../../src/pipeline/stages.js';
import { Bulkhead } from '../../src/strategies/bulkhead/Bulkhead.js';
import { RejectedResultError } from '../../src/errors.js';
import { Fallback } from '../../src/strategies/fallback/Fallback.js';
import { rejectionOf } from '../support/promises.js';

class ConnectionError extends Error {}

describe('Fallback: what a caller sees', () => {
  describe('a call given a signal that does not abort', () => {
    it('passes an error `on` does not match through unchanged, calling no method', async () => {
      const method = sinon.spy(() => 'substitute');
      const fallback = new Fallback({ method, on: [ConnectionError] });
      const failure = new RangeError('not a connection error');
      const controller = new AbortController();
      const error = await rejectionOf(
        fallback.execute(() => Promise.reject(failure), controller.signal),
      );
      expect(error).to.equal(failure);
      expect(method.callCount).to.equal(0);
    });

    it('replaces an error `on` matches, giving the method the error alone', async () => {
      const method = sinon.spy((error: unknown) => `after ${(error as Error).message}`);
      const fallback = new Fallback({ method, on: [ConnectionError] });
      const failure = new ConnectionError('reset');
      const controller = new AbortController();
      expect(await fallback.execute(() => Promise.reject(failure), controller.signal)).to.equal(
        'after reset',
      );
      expect(method.firstCall.args).to.deep.equal([failure]);
    });
  });

  describe('a standalone method', () => {
    it('receives only the error, for a result `onResult` rejects too', async () => {
      const method = sinon.spy((_error: unknown, ..._rest: unknown[]) => 'substitute');
      const fallback = new Fallback({ method, onResult: (r: number) => r < 0 });
      expect(await fallback.execute(() => -1)).to.equal('substitute');
      expect(method.firstCall.args).to.have.length(1);
      expect(method.firstCall.args[0]).to.be.instanceOf(RejectedResultError);
      expect(await fallback.execute(() => Promise.reject(new Error('down')))).to.equal(
        'substitute',
      );
      expect(method.secondCall.args).to.have.length(1);
    });
  });

  describe('a rejected result', () => {
    it('is described by an error that says so, holding the result', async () => {
      const errors: unknown[] = [];
      const fallback = new Fallback({
        method: (error: unknown) => {
          errors.push(error);
          return 'substitute';
        },
        onResult: (r: string) => r === 'bad',
      });
      expect(await fallback.execute(() => 'bad')).to.equal('substitute');
      const error = errors[0] as RejectedResultError<string>;
      expect(error.message).to.equal("The result was rejected by the fallback's onResult");
      expect(error.name).to.equal('RejectedResultError');
      expect(error.code).to.equal('REJECTED_RESULT');
      expect(error.result).to.equal('bad');
    });
  });

  describe('its description', () => {
    it('names an anonymous method as such', () => {
      const anonymous = [(): number => 0][0]!;
      expect(anonymous.name).to.equal('');
      expect(new Fallback({ method: anonymous }).describe()).to.equal(
        'method (anonymous) on all errors',
      );
      expect(new Fallback({ method: anonymous, on: [ConnectionError] }).describe()).to.equal(
        'method (anonymous) on matching errors',
      );
    });
  });

  describe('its options', () => {
    it('names itself when they are not an object, and takes each of its four options', () => {
      expect(() => new Fallback(null as never)).to.throw(
        TypeError,
        'Fallback options must be an object, got null',
      );
      const method = (): number => 1;
      expect(() => new Fallback({ value: 1 })).not.to.throw();
      expect(() => new Fallback({ method })).not.to.throw();
      expect(() => new Fallback({ value: 1, on: [ConnectionError] })).not.to.throw();
      expect(() => new Fallback({ value: 1, onResult: () => false })).not.to.throw();
    });
  });
  describe('as a stage', () => {
    it('is named in the message refusing another primitive', () => {
      expect(() => Policy.builder('p').fallback(new Bulkhead() as never)).to.throw(
        TypeError,
        '`options` must be Fallback options or a Fallback, got an instance of Bulkhead',
      );
    });

    it('has a state with nothing but its kind and name, also as a stage object', async () => {
      const stage = stages.fallback({ value: 'substitute' });
      expect(stage.state?.()).to.deep.equal({});
      expect(stage.describe?.()).to.equal('fixed value on all errors');
      const policy = Policy.builder<string>('p').fallback({ value: 'substitute' }).build();
      expect(await policy.execute(() => Promise.reject(new Error('down')))).to.equal('substitute');
      expect(policy.metrics().stages).to.deep.equal([{ kind: 'fallback', name: 'fallback' }]);
    });
  });
});
