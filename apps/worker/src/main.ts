import 'reflect-metadata';
import { ConfigError, loadConfigFromEnvironment } from '@app/config';
import { CredentialsFileError } from '@app/credentials';
import { httpRuntimeProblem } from '@app/dicomweb';
import { KafkaAccessError, KafkaSettingsFileError } from '@app/messaging';
import { JsonLogger } from './json-logger.js';
import { startWorker } from './start-worker.js';

/**
 * The triage worker: consumes StudyAvailable, writes SEG, SR and the FHIR report back,
 * answers with TriageCompleted or TriageFailed. Not for clinical use.
 *
 * Exit codes at start-up (docs/worker.md): 78 a setting is wrong or a file it names is
 * unreadable (EX_CONFIG); 77 Kafka refused our credentials, certificates or security
 * protocol, or its ACLs deny a configured topic or the consumer group (EX_NOPERM; retrying
 * cannot help); 1 anything else.
 */
const EXIT_CONFIG = 78;
const EXIT_KAFKA_REFUSED = 77;

async function main(): Promise<void> {
  const runtimeProblem = httpRuntimeProblem(process.versions.undici);
  if (runtimeProblem) {
    process.stderr.write(`${runtimeProblem}\n`);
    process.exit(EXIT_CONFIG); // the runtime, not the study, is wrong
  }
  let config;
  try {
    config = loadConfigFromEnvironment();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const logger = new JsonLogger(config.logLevel, { service: 'covid-ct-triage-worker' });
  try {
    const { app } = await startWorker(config, logger);
    // SIGTERM/SIGINT run the shutdown hooks: finish or leave the study in flight, then exit.
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  } catch (error) {
    // One line naming the setting to check; the message never holds a secret.
    if (error instanceof KafkaSettingsFileError || error instanceof CredentialsFileError) {
      logger.write('fatal', error.message, { setting: error.setting });
      process.exit(EXIT_CONFIG);
    }
    if (error instanceof KafkaAccessError) {
      logger.write('fatal', error.message, { refusal: error.refusal, setting: error.setting });
      process.exit(EXIT_KAFKA_REFUSED);
    }
    logger.write('fatal', 'worker failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

void main();
