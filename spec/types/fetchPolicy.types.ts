// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
import {
  resilientFetch,
  type FetchFunction,
  type ResilientFetchInit,
} from '../../src/fetch/index.js';
import { Policy } from '../../src/pipeline/Policy.js';
import { PolicyRegistry } from '../../src/registry/PolicyRegistry.js';

export function typeSpecs(): void {
  // A policy that answers with a Response, with or without a fallback returning one.
  resilientFetch(Policy.builder<Response>('a').retry({ maxAttempts: 2 }).build());
  resilientFetch(Policy.builder('b').timeout('1s').build());
  resilientFetch(
    Policy.builder<Response>('c')
      .fallback({ method: () => Response.json([]) })
      .build(),
  );
  resilientFetch(
    Policy.builder<Response>('d')
      .fallback({ value: new Response('stale') })
      .build(),
  );

  // A fallback whose value is not a Response would hide the failure behind it.
  // @ts-expect-error the fallback answers null, not a Response
  resilientFetch(Policy.builder<Response>('e').fallback({ value: null }).build());
  resilientFetch(
    // @ts-expect-error the fallback answers undefined
    Policy.builder<Response>('f')
      .fallback({ method: () => undefined })
      .build(),
  );
  // @ts-expect-error the fallback answers a string
  resilientFetch(Policy.builder('g').fallback({ value: 'offline' }).build());
  resilientFetch(
    // @ts-expect-error the fallback answers a plain object
    Policy.builder<Response>('h')
      .fallback({ method: async () => ({ status: 503 }) })
      .build(),
  );

  // A registry's policy, configured at run time, is checked at run time.
  resilientFetch(PolicyRegistry.fromConfig({ policies: {} }).policy('api'));
}

interface Caller {
  readonly client: string;
  readonly plan?: 'free' | 'paid';
}

export async function initData(caller: Caller, tenant: string | undefined): Promise<void> {
  const http = resilientFetch(Policy.builder<Response>('i').build());
  // Still fetch's shape: usable where `typeof fetch` is expected, and as another's transport.
  const asFetch: typeof fetch = http;
  const plain: FetchFunction = http;
  resilientFetch(Policy.builder<Response>('j').build(), { fetch: http });
  await asFetch('https://example.test/', { method: 'GET' });
  await plain(new URL('https://example.test/'));

  // `data`: a plain object, a Map, an interface-typed value, or left undefined.
  await http('https://example.test/', { data: { client: 'alice' } });
  await http('https://example.test/', { data: new Map([['client', 'bob']]) });
  await http(new Request('https://example.test/'), { method: 'PUT', data: caller });
  await http('https://example.test/', { data: tenant === undefined ? undefined : { tenant } });
  const init: ResilientFetchInit = { headers: { accept: 'application/json' }, data: caller };
  await http('https://example.test/', init);

  // @ts-expect-error data is an object or a Map
  await http('https://example.test/', { data: 'alice' });
  // @ts-expect-error data is an object or a Map
  await http('https://example.test/', { data: 5 });
  // @ts-expect-error the transport's init takes no data
  await plain('https://example.test/', { data: caller });
}
