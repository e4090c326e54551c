/**
 * Which signals are exported, decided from OpenTelemetry's own standard variables.
 *
 * The SDK's defaults would send traces, metrics and logs to localhost:4318 as soon as it
 * starts. Here a signal is on only when it was asked for: its exporter named
 * (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER, not `none`) or, for
 * traces and metrics, an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT or the per-signal
 * one). Logs stay off unless OTEL_LOGS_EXPORTER is set: the worker's logs are JSON lines on
 * stdout, which the platform collects. OTEL_SDK_DISABLED=true turns everything off.
 *
 * These OTEL_* variables are the one exception to "configuration only through @app/config":
 * the SDK reads them (and the rest of its options: protocol, headers, sampler, intervals)
 * itself, before the application's configuration exists.
 */
export interface TelemetrySettings {
  traces: boolean;
  metrics: boolean;
  logs: boolean;
  /** At least one signal is exported: the SDK and the loader hook are worth starting. */
  enabled: boolean;
}

export type Environment = Readonly<Record<string, string | undefined>>;

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

function exporters(value: string | undefined): string[] | undefined {
  if (!set(value)) return undefined;
  return value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
}

function signalOn(env: Environment, signal: 'TRACES' | 'METRICS'): boolean {
  const named = exporters(env[`OTEL_${signal}_EXPORTER`]);
  if (named) return named.length > 0 && !named.includes('none');
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

export function telemetrySettings(env: Environment): TelemetrySettings {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') {
    return { traces: false, metrics: false, logs: false, enabled: false };
  }
  const logExporters = exporters(env.OTEL_LOGS_EXPORTER);
  const settings = {
    traces: signalOn(env, 'TRACES'),
    metrics: signalOn(env, 'METRICS'),
    logs: logExporters !== undefined && logExporters.length > 0 && !logExporters.includes('none'),
  };
  return { ...settings, enabled: settings.traces || settings.metrics || settings.logs };
}
