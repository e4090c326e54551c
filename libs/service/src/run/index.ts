/**
 * A service process's start and exit codes: a separate entry (`@app/service/run`) because it
 * loads Kafka, HTTP and configuration code, which the OpenTelemetry bootstrap must not load
 * through `@app/service` before the SDK has patched kafkajs and undici.
 */
export { EXIT_CONFIG, EXIT_KAFKA_REFUSED, runService } from './run-service.js';
export type { ServiceDefinition } from './run-service.js';
