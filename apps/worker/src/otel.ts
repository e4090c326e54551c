import { isMainThread } from 'node:worker_threads';
import { otelEnvironment } from '@app/config';
import { startTelemetry } from '@app/telemetry';
import { JsonLogger } from './json-logger.js';

/**
 * OpenTelemetry, loaded before the worker: `node --import ./dist/apps/worker/src/otel.js
 * dist/apps/worker/src/main.js`. It must run first so that its loader hook sees kafkajs
 * being imported. Off unless an OTLP endpoint or an exporter is set (docs/telemetry.md);
 * the OTEL_* variables are OpenTelemetry's own standard ones, handed over by @app/config
 * and read again by the SDK itself.
 * Telemetry that cannot start never stops the worker.
 */
const log = new JsonLogger('info', { service: 'covid-ct-triage-worker', component: 'telemetry' });
// Worker threads (the frame decoders) inherit --import: one SDK per process, in the main thread.
if (isMainThread) {
  try {
    const settings = startTelemetry(otelEnvironment(), { serviceName: 'covid-ct-triage-worker' });
    if (settings.enabled) {
      log.info('telemetry on', { traces: settings.traces, metrics: settings.metrics, logs: settings.logs });
    }
  } catch (error) {
    log.write('warn', 'telemetry could not start; the worker runs without it', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
