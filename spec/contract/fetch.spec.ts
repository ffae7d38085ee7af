// The API contract, "`bulwark/fetch`", read through the built package (`node build.mjs` first).
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Policy } from 'bulwark';
import * as fetchEntry from 'bulwark/fetch';
import { HttpStatusError, isHttpStatusError, resilientFetch } from 'bulwark/fetch';
import { otherFetch } from './support.js';

interface PackageJson {
  exports: Record<string, { import: Record<string, string>; require: Record<string, string> }>;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;

describe('contract: bulwark/fetch', () => {
  it('is an entry point with ESM and CJS builds, each with its own declarations', () => {
    const map = pkg.exports['./fetch'];
    expect(map).to.not.equal(undefined);
    const { import: esm, require: cjs } = map as {
      import: Record<string, string>;
      require: Record<string, string>;
    };
    expect(esm.types).to.match(/\.d\.ts$/);
    expect(cjs.types).to.match(/\.d\.cts$/);
    for (const file of [esm.types, esm.default, cjs.types, cjs.default]) {
      expect(existsSync(file as string), file).to.equal(true);
    }
    const cjsEntry = createRequire(import.meta.url)('bulwark/fetch') as Record<string, unknown>;
    expect(Object.keys(cjsEntry).sort()).to.deep.equal(Object.keys(fetchEntry).sort());
  });

  it('runs anywhere fetch does: no node: imports, no Node-only globals, nothing imported but bulwark', () => {
    for (const file of [
      pkg.exports['./fetch']?.import.default,
      pkg.exports['./fetch']?.require.default,
    ]) {
      const code = readFileSync(file as string, 'utf8');
      expect(code, file).to.not.match(/["']node:/);
      expect(code, file).to.not.match(/\bprocess\.|\bBuffer\b|\b__dirname\b/);
      const specifiers = [...code.matchAll(/\b(?:from|require\s*\()\s*["']([^"']+)["']/g)].map(
        (m) => m[1],
      );
      expect(
        specifiers.filter((s) => s !== 'bulwark'),
        file,
      ).to.deep.equal([]);
    }
  });

  it('`resilientFetch(policy, options)` returns a function with fetch’s signature', async () => {
    const http = resilientFetch(Policy.builder<Response>('api').retry({ maxAttempts: 2 }).build(), {
      fetch: () => Promise.resolve(new Response('ok')),
    });
    const response: Response = await http(new URL('https://example.test/'), { method: 'GET' });
    expect(await response.text()).to.equal('ok');
  });

  it("the returned function's `init.data` reaches `ctx.data` beside `url` and `method`, never the transport", async () => {
    const sent: unknown[] = [];
    const keys: unknown[] = [];
    const policy = Policy.builder<Response>('api')
      .rateLimiter({
        key: (ctx) => {
          keys.push([ctx.data.get('client'), ctx.data.get('method'), ctx.data.get('url')]);
          return String(ctx.data.get('client'));
        },
        maxTokens: 1,
        refillRate: 0.001,
      })
      .build();
    const http = resilientFetch(policy, {
      fetch: (_input, init) => {
        sent.push(init !== undefined && 'data' in init);
        return Promise.resolve(new Response('ok'));
      },
    });
    for (const client of ['alice', 'bob']) {
      expect((await http('https://example.test/', { data: { client } })).status).to.equal(200);
    }
    expect(keys).to.deep.equal([
      ['alice', 'GET', 'https://example.test/'],
      ['bob', 'GET', 'https://example.test/'],
    ]);
    expect(sent).to.deep.equal([false, false]);
    const refused = await http('https://example.test/', { data: 5 } as never).catch(
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(TypeError).and.include({ option: 'init.data', received: 5 });
  });

  it('`HttpStatusError` (code `HTTP_STATUS`, guard `isHttpStatusError`) is recognised across two copies of the package', () => {
    const fromOther = new otherFetch.HttpStatusError(new Response(null, { status: 503 }));
    // A second copy, off this copy's prototype chain: `instanceof` knows it by its brand.
    expect(Object.getPrototypeOf(fromOther)).to.not.equal(HttpStatusError.prototype);
    expect(fromOther).to.be.instanceOf(HttpStatusError);
    expect(isHttpStatusError(fromOther)).to.equal(true);
    expect(fromOther.name).to.equal('HttpStatusError');
    expect(fromOther.code).to.equal('HTTP_STATUS');
    expect(
      otherFetch.isHttpStatusError(new HttpStatusError(new Response(null, { status: 429 }))),
    ).to.equal(true);
  });
});
