/**
 * What every service process of the repository has in common: one-line JSON logs (also Nest's
 * logger), the /health/live and /health/ready endpoints, and the start-up with its exit codes.
 * Used by the worker and the intake.
 */
export { HealthServer } from './health-server.js';
export type { HealthChecks, ReadinessCheck } from './health-server.js';
export { JsonLogger } from './json-logger.js';
export type { LogFields, LogLevel, LogSink } from './json-logger.js';
export { EXIT_CONFIG, EXIT_KAFKA_REFUSED, runService } from './run-service.js';
export type { ServiceDefinition } from './run-service.js';
