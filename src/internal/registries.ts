// What `bulwark/otel` needs to know of registries without the PolicyRegistry class: an app that
// instruments a policy and never uses a registry then bundles none of the registry's code.

/** Every PolicyRegistry of this copy of the package (the constructor adds each). */
const registries = new WeakSet<object>();

/** Records `registry` as a PolicyRegistry of this copy (its constructor calls this). */
export function markRegistry(registry: object): void {
  registries.add(registry);
}

/**
 * True for a PolicyRegistry of this copy of the package, a subclass's included: what
 * `instanceof PolicyRegistry` answers for an object the constructor made.
 */
export function isPolicyRegistry(value: unknown): boolean {
  return registries.has(value as object);
}
