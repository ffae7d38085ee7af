// bulwark's full pipeline with OpenTelemetry metrics (bulwark/otel) recorded by a real SDK
// MeterProvider, to set next to the same pipeline without them (bulwark.ts).
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { instrument } from 'bulwark/otel';
import { newPipeline, through } from './bulwark.js';
import type { Suite } from './types.js';

/**
 * A reader nothing ever asks to collect. With it the SDK aggregates every measurement, as it
 * does between two exports in production; with no reader at all it would drop them unrecorded.
 */
class IdleReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export const suite: Suite = {
  library: 'bulwark',
  subjects: {
    'pipeline-instrumented': () => {
      const provider = new MeterProvider({ readers: [new IdleReader()] });
      const policy = newPipeline();
      const stop = instrument(policy, { meter: provider.getMeter('bulwark-benchmark') });
      return {
        ...through(policy),
        dispose: () => {
          stop();
          void provider.shutdown();
        },
      };
    },
  },
};
