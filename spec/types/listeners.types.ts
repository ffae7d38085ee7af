// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile. A listener's
// result is ignored (a promise it returns that rejects is handled), so every listener bulwark takes
// returns `unknown`, not `void`: an `async` listener is what the type asks for, and a linter's
// check for promises passed where nothing awaits them (`no-misused-promises`) accepts it. The
// payload is still inferred from the event.
import {
  CircuitBreaker,
  Policy,
  PolicyRegistry,
  type CircuitState,
  type CircuitStateListener,
  type PolicyListener,
  type RegistryReloadEvent,
} from 'bulwark';

type Equal<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

declare function persist(record: object): Promise<void>;

export function listenerResultSpecs(registry: PolicyRegistry): void {
  assertType<Equal<ReturnType<PolicyListener<'failure'>>, unknown>>();
  assertType<Equal<ReturnType<CircuitStateListener>, unknown>>();
  type ReloadListener = Parameters<typeof registry.on<'reload'>>[1];
  assertType<Equal<ReturnType<ReloadListener>, unknown>>();
  assertType<Equal<Parameters<ReloadListener>, [payload: RegistryReloadEvent]>>();
}

export function asyncListenerSpecs(): void {
  const policy = Policy.builder('p').retry({ maxAttempts: 2 }).circuitBreaker({}).build();
  policy.on('failure', async ({ error, durationMs }) => {
    const ms: number = durationMs;
    await persist({ error, ms });
  });
  policy.on('circuit-state', async (change) => {
    const to: CircuitState = change.to;
    // @ts-expect-error the payload is inferred, not `any`
    void change.state;
    await persist({ to });
  });

  const breaker = new CircuitBreaker();
  breaker.onStateChange(async ({ from, to }) => {
    const states: CircuitState[] = [from, to];
    await persist({ states });
  });
  // @ts-expect-error a state change has no `error`
  breaker.onStateChange(async (change) => persist({ error: change.error }));

  const registry = new PolicyRegistry();
  registry.on('reload', async (event) => {
    const added: readonly string[] = event.added;
    await persist({ added });
  });
  // @ts-expect-error a reload event has no `policy`
  registry.on('reload', (event) => event.policy);
  // The handle a registry hands out takes the same listeners.
  registry.policy('p').on('success', async ({ durationMs }) => persist({ durationMs }));

  // A listener answering something else (an array's new length) is still taken, as before.
  const seen: unknown[] = [];
  policy.on('retry', (event) => seen.push(event.delayMs));
  breaker.onStateChange((change) => seen.push(change));
  registry.on('reload', (event) => seen.push(event));
  // A listener typed to return `void` too.
  const log: CircuitStateListener = (change): void => void seen.push(change);
  breaker.onStateChange(log);
}
