import { metrics, type MeterProvider } from '@opentelemetry/api';
import { TELEMETRY_SCOPE } from './otel-triage-tracer.js';

export const INFERENCE_METRICS = {
  /** 1 for each execution provider the model runs on (attribute triage.inference.provider). */
  providers: 'triage.inference.execution_providers',
  /** 1 when a configured GPU provider failed to load and the model runs on CPU instead. */
  cpuFallback: 'triage.inference.cpu_fallback',
} as const;

/**
 * Gauges of where inference runs, for a GPU node whose CUDA provider silently failed: the
 * readiness check refuses that unless INFERENCE_ALLOW_CPU_FALLBACK, and these make it visible
 * either way.
 */
export function observeExecutionProviders(
  info: { executionProviders: readonly string[]; cpuFallback: boolean },
  meterProvider: MeterProvider = metrics.getMeterProvider(),
): void {
  const meter = meterProvider.getMeter(TELEMETRY_SCOPE);
  meter
    .createObservableGauge(INFERENCE_METRICS.providers, {
      description: 'Execution providers the model runs on (1 each)',
    })
    .addCallback((result) => {
      for (const provider of info.executionProviders) result.observe(1, { 'triage.inference.provider': provider });
    });
  meter
    .createObservableGauge(INFERENCE_METRICS.cpuFallback, {
      description: 'A configured GPU provider failed to load and the model runs on CPU (1) or not (0)',
    })
    .addCallback((result) => result.observe(info.cpuFallback ? 1 : 0));
}
