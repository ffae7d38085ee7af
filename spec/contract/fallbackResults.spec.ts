// The fallback's result rules of docs/CONTRACT.md (R-FB-5, R-FB-6): a result `onResult` rejects
// is replaced like a handled error, standalone, in a policy and in the wrapper, and configuration
// cannot give the predicate.
import { expect } from 'chai';
import {
  Fallback,
  Policy,
  PolicyRegistry,
  RejectedResultError,
  fallback,
  type ExecutionContext,
} from 'bulwark';
import { rejectionOf, thrownBy } from './support.js';

interface Reply {
  readonly status: number;
}
const serverError = (reply: Reply): boolean => reply.status >= 500;

describe('contract: Fallback onResult', () => {
  it('R-FB-5: standalone, a rejected result becomes the value; others are kept', async () => {
    const fb = new Fallback({ value: { status: 200 }, onResult: serverError });
    expect(await fb.execute(() => ({ status: 503 }))).to.deep.equal({ status: 200 });
    expect(await fb.execute(() => ({ status: 404 }))).to.deep.equal({ status: 404 });
  });

  it('R-FB-5: `method` receives a RejectedResultError holding the result', async () => {
    const reply = { status: 502 };
    let seen: unknown;
    const fb = new Fallback({
      method: (error: unknown) => {
        seen = error;
        return { status: 0 };
      },
      onResult: serverError,
    });
    await fb.execute(() => reply);
    expect(seen).to.be.instanceOf(RejectedResultError);
    expect(seen).to.include({
      code: 'REJECTED_RESULT',
      name: 'RejectedResultError',
      result: reply,
    });
  });

  it('R-FB-5: the wrapper passes the call arguments after the RejectedResultError', async () => {
    const get = fallback({
      method: (error: unknown, id: string) =>
        `${id}: ${(error as RejectedResultError<Reply>).result.status}`,
      onResult: (reply: Reply | string): boolean => typeof reply !== 'string' && serverError(reply),
    })(async (id: string): Promise<Reply | string> => (id === 'down' ? { status: 503 } : 'ok'));
    expect(await get('down')).to.equal('down: 503');
    expect(await get('up')).to.equal('ok');
  });

  it('R-FB-5: a predicate that throws rejects the call with what it threw', async () => {
    const broke = new Error('predicate broke');
    const options = {
      value: 0,
      onResult: (): boolean => {
        throw broke;
      },
    };
    expect(await rejectionOf(new Fallback(options).execute(() => 1))).to.equal(broke);
    expect(await rejectionOf(fallback(options)(async () => 1)())).to.equal(broke);
    const policy = Policy.builder<number>('p').fallback(options).build();
    expect(await rejectionOf(policy.execute(() => 1))).to.equal(broke);
  });

  it('R-FB-6: in a policy a replaced result is a fallback: counted, reported, a success', async () => {
    const policy = Policy.builder<Reply>('http')
      .fallback({
        method: (error: unknown, ctx: ExecutionContext) => ({
          status: error instanceof RejectedResultError && ctx.policyName === 'http' ? 299 : 0,
        }),
        onResult: (reply) => reply.status >= 500,
      })
      .build();
    const events: unknown[] = [];
    policy.on('fallback', (e) => events.push(e.error));
    policy.on('success', (e) => events.push(e.fallback));
    expect(await policy.execute(() => ({ status: 503 }))).to.deep.equal({ status: 299 });
    expect(events).to.have.length(2);
    expect(events[0]).to.be.instanceOf(RejectedResultError);
    expect(events[1]).to.equal(true);
    expect(policy.metrics()).to.include({ successes: 1, failures: 0, fallbacks: 1 });
  });

  it('R-FB-5: `on-result` in configuration is refused as code', () => {
    const error = thrownBy(() =>
      PolicyRegistry.fromConfig({
        policies: { p: [{ fallback: { value: null, 'on-result': 'status >= 500' } }] },
      }),
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message.startsWith('resilience.policies.p[0].fallback: ')).to.equal(true);
    expect(error.message).to.include('`on-result`');
    expect(error.message).to.include('cannot come from configuration');
  });
});
