/**
 * `bulwark/otel`: OpenTelemetry metrics for bulwark policies and registries. Needs the optional
 * peer dependency `@opentelemetry/api` (1.x); the core `bulwark` entry never loads it.
 *
 * @packageDocumentation
 */
export type { InstrumentOptions } from './instrument.js';
export { instrument } from './instrument.js';
