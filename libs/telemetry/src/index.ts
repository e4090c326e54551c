/**
 * OpenTelemetry for the worker: the SDK's start-up (standard OTEL_* variables, off unless
 * asked for) and the pipeline's TriageTracer as spans and metrics. The only library that
 * touches the OpenTelemetry API; see docs/telemetry.md.
 */
export {
  OtelTriageTracer,
  STUDY_SPAN,
  TELEMETRY_SCOPE,
  TRIAGE_ATTRIBUTES,
  TRIAGE_METRICS,
} from './otel-triage-tracer.js';
export type { OtelTriageTracerOptions, TriageRunOutcome } from './otel-triage-tracer.js';
export { INFERENCE_METRICS, observeExecutionProviders } from './inference-metrics.js';
export { INTAKE_METRICS, OtelIntakeMetrics } from './intake-metrics.js';
export { redactQueryValues } from './redact-url.js';
export { shutdownTelemetry, startTelemetry } from './start-telemetry.js';
export type { StartTelemetryOptions } from './start-telemetry.js';
export { telemetrySettings } from './telemetry-settings.js';
export type { Environment, TelemetrySettings } from './telemetry-settings.js';
