import { otelEnvironment } from '@app/config';
import { JsonLogger } from '@app/service';
import { startTelemetry } from '@app/telemetry';

/**
 * OpenTelemetry, loaded before the intake (`node --import ./dist/apps/intake/src/otel.js …`),
 * as the worker's: off unless an OTLP endpoint or exporter is set; never stops the intake.
 */
const log = new JsonLogger('info', { service: 'covid-ct-triage-intake', component: 'telemetry' });
try {
  const settings = startTelemetry(otelEnvironment(), { serviceName: 'covid-ct-triage-intake' });
  if (settings.enabled) log.info('telemetry on', { traces: settings.traces, metrics: settings.metrics });
} catch (error) {
  log.write('warn', 'telemetry could not start; the intake runs without it', {
    error: error instanceof Error ? error.message : String(error),
  });
}
