// Type-level spec: compiled by `tsc -p spec/tsconfig.json --noEmit`, never run. Each
// `@ts-expect-error` marks code that must not compile; the other lines must compile.
// A configuration as application code holds it: typed by its own interfaces, or a validator's
// `unknown` once narrowed. Arrays, functions, promises, dates and primitives stay refused.
import { PolicyRegistry, type ResilienceConfig } from 'bulwark';

interface RetryEntry {
  readonly 'max-attempts': number;
  readonly delay: string;
}
interface Resilience {
  readonly retry: { readonly default: RetryEntry };
  readonly policies?: Readonly<Record<string, readonly unknown[]>>;
}
interface AppConfig {
  readonly resilience: Resilience;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- what `JSON.parse` gives
export function configTypeSpecs(app: AppConfig, validated: unknown, parsed: any): void {
  const load = (): Promise<Resilience> => Promise.resolve(app.resilience);
  const fromInterface = PolicyRegistry.fromConfig(app.resilience);
  fromInterface.reload(app.resilience);
  const kept: ResilienceConfig = app.resilience;
  PolicyRegistry.fromConfig({ retry: { default: { 'max-attempts': 3 } } });
  PolicyRegistry.fromConfig(parsed);
  PolicyRegistry.fromConfig(null);
  PolicyRegistry.fromConfig(undefined);
  const record: Readonly<Record<string, unknown>> = {};
  PolicyRegistry.fromConfig(record);
  if (typeof validated === 'object') PolicyRegistry.fromConfig(validated);
  // @ts-expect-error a promise of one: await it first
  PolicyRegistry.fromConfig(load());
  // @ts-expect-error nor a promise on reload
  fromInterface.reload(load());
  const thenable: PromiseLike<Resilience> = load();
  // @ts-expect-error nor another thenable
  PolicyRegistry.fromConfig(thenable);
  // @ts-expect-error nor a date
  PolicyRegistry.fromConfig(new Date());
  // @ts-expect-error a value nothing has looked at: narrow it first
  PolicyRegistry.fromConfig(validated);
  // @ts-expect-error an array is no configuration
  PolicyRegistry.fromConfig([{ retry: {} }]);
  // @ts-expect-error nor a function
  PolicyRegistry.fromConfig(() => ({}));
  // @ts-expect-error nor a string
  PolicyRegistry.fromConfig('retry: {}');
  void kept;
}
