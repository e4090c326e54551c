import { register } from 'node:module';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { redactQueryValues } from './redact-url.js';
import { telemetrySettings, type Environment, type TelemetrySettings } from './telemetry-settings.js';

/**
 * Starts the OpenTelemetry SDK for this process, before the application is imported (the
 * worker's `node --import …/otel.js`). Nothing starts when no signal is asked for (see
 * telemetrySettings): no loader hook, no SDK, no connection attempts.
 *
 * Instrumented: kafkajs (consume/produce spans; the W3C traceparent travels in the message
 * headers both ways), undici (Node's fetch: every DICOMweb and FHIR request, only inside a
 * trace, so the readiness probe's pings make no spans) and the Node runtime's metrics.
 * Nest 12 has no instrumentation (instrumentation-nestjs-core supports < 12 only); the
 * pipeline's own spans come from OtelTriageTracer.
 */

let running: NodeSDK | undefined;

export interface StartTelemetryOptions {
  /** service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names one. */
  serviceName: string;
}

export function startTelemetry(env: Environment, options: StartTelemetryOptions): TelemetrySettings {
  const settings = telemetrySettings(env);
  if (!settings.enabled || running) return settings;
  // kafkajs is CommonJS imported from our ES modules: only an ESM loader hook sees that
  // import (require hooks do not). The hook intercepts kafkajs alone, nothing else.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['kafkajs'] } });
  const sdk = new NodeSDK({
    ...(namesService(env) ? {} : { serviceName: options.serviceName }),
    instrumentations: [
      new KafkaJsInstrumentation(),
      new UndiciInstrumentation({
        requireParentforSpans: true,
        // Query strings may carry identifiers: their values stay out of the spans.
        startSpanHook: (request) => redactQueryValues(request.origin, request.path) ?? {},
      }),
      ...(settings.metrics ? [new RuntimeNodeInstrumentation()] : []),
    ],
    // An empty list keeps the SDK from creating the signal's default (OTLP) exporter.
    ...(settings.traces ? {} : { spanProcessors: [] }),
    ...(settings.metrics ? {} : { metricReaders: [] }),
    ...(settings.logs ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  running = sdk;
  return settings;
}

/**
 * Flushes and stops the SDK (no-op when it was not started). Bounded: an unreachable
 * collector must not hold up the worker's exit. Export errors are not the worker's failure.
 */
export async function shutdownTelemetry(timeoutMs = 5_000): Promise<void> {
  const sdk = running;
  running = undefined;
  if (!sdk) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([sdk.shutdown().catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function namesService(env: Environment): boolean {
  return Boolean(env.OTEL_SERVICE_NAME?.trim()) || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
}
