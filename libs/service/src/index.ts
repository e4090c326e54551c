/**
 * What every service process of the repository has in common: one-line JSON logs (also Nest's
 * logger) and the /health/live and /health/ready endpoints; the start-up and its exit codes are
 * `@app/service/run`. Nothing imported here may load kafkajs or undici: the OpenTelemetry
 * bootstrap (apps/worker/src/otel.ts) imports the logger before the SDK patches them.
 */
export { HealthServer } from './health-server.js';
export type { HealthChecks, ReadinessCheck } from './health-server.js';
export { JsonLogger } from './json-logger.js';
export type { LogFields, LogLevel, LogSink } from './json-logger.js';
