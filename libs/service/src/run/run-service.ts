import { ConfigError } from '@app/config';
import { CredentialsFileError } from '@app/credentials';
import { httpRuntimeProblem } from '@app/dicomweb';
import { KafkaAccessError, KafkaSettingsFileError } from '@app/messaging';
import { JsonLogger, type LogLevel } from '../json-logger.js';

/** EX_CONFIG (sysexits.h): a setting is wrong, or a file it names cannot be read. */
export const EXIT_CONFIG = 78;
/** EX_NOPERM: Kafka refused our credentials, certificates, protocol or ACLs; retrying cannot help. */
export const EXIT_KAFKA_REFUSED = 77;

export interface ServiceDefinition<C extends { logLevel: LogLevel }> {
  /** e.g. 'worker': logs say covid-ct-triage-worker. */
  name: string;
  loadConfig: () => C;
  start: (config: C, logger: JsonLogger) => Promise<{ app: { enableShutdownHooks(signals: string[]): unknown } }>;
}

/**
 * A service process's start, the same for every app: the HTTP runtime checked, the configuration
 * validated, the app started with SIGTERM/SIGINT running its shutdown hooks. A failure before it
 * works ends the process with one line naming what to fix (never a secret) and an exit code an
 * operator can act on: 78, 77, or 1 for anything else (docs/worker.md).
 */
export async function runService<C extends { logLevel: LogLevel }>(service: ServiceDefinition<C>): Promise<void> {
  const runtimeProblem = httpRuntimeProblem(process.versions.undici);
  if (runtimeProblem) {
    process.stderr.write(`${runtimeProblem}\n`);
    process.exit(EXIT_CONFIG); // the runtime, not the input, is wrong
  }
  let config: C;
  try {
    config = service.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const logger = new JsonLogger(config.logLevel, { service: `covid-ct-triage-${service.name}` });
  try {
    const { app } = await service.start(config, logger);
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  } catch (error) {
    if (error instanceof KafkaSettingsFileError || error instanceof CredentialsFileError) {
      logger.write('fatal', error.message, { setting: error.setting });
      process.exit(EXIT_CONFIG);
    }
    if (error instanceof KafkaAccessError) {
      logger.write('fatal', error.message, { refusal: error.refusal, setting: error.setting });
      process.exit(EXIT_KAFKA_REFUSED);
    }
    const message = error instanceof Error ? error.message : String(error);
    logger.write('fatal', `${service.name} failed to start`, { error: message });
    process.exit(1);
  }
}
