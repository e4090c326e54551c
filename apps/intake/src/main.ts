import 'reflect-metadata';
import { ConfigError, loadIntakeConfigFromEnvironment } from '@app/config';
import { CredentialsFileError } from '@app/credentials';
import { httpRuntimeProblem } from '@app/dicomweb';
import { KafkaAccessError, KafkaSettingsFileError } from '@app/messaging';
import { JsonLogger } from '@app/service';
import { startIntake } from './start-intake.js';

/**
 * The intake: platform notifications in, one StudyAvailable per complete study version out
 * (docs/intake.md). Exit codes at start-up as the worker's: 78 a setting is wrong or a file it
 * names unreadable, 77 Kafka refused our credentials, 1 anything else.
 */
const EXIT_CONFIG = 78;
const EXIT_KAFKA_REFUSED = 77;

async function main(): Promise<void> {
  const runtimeProblem = httpRuntimeProblem(process.versions.undici);
  if (runtimeProblem) {
    process.stderr.write(`${runtimeProblem}\n`);
    process.exit(EXIT_CONFIG);
  }
  let config;
  try {
    config = loadIntakeConfigFromEnvironment();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const logger = new JsonLogger(config.logLevel, { service: 'covid-ct-triage-intake' });
  try {
    const { app } = await startIntake(config, logger);
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
    logger.write('fatal', 'intake failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

void main();
