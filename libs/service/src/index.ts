/**
 * What every service process of the repository has in common: one-line JSON logs (also Nest's
 * logger) and the /health/live and /health/ready endpoints. Used by the worker and the intake.
 */
export { HealthServer } from './health-server.js';
export type { HealthChecks, ReadinessCheck } from './health-server.js';
export { JsonLogger } from './json-logger.js';
export type { LogFields, LogLevel, LogSink } from './json-logger.js';
