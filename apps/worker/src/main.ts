import 'reflect-metadata';
import { ConfigError, loadConfigFromEnvironment } from '@app/config';
import { httpRuntimeProblem } from '@app/dicomweb';
import { JsonLogger } from './json-logger.js';
import { startWorker } from './start-worker.js';

/**
 * The triage worker: consumes StudyAvailable, writes SEG, SR and the FHIR report back,
 * answers with TriageCompleted or TriageFailed. Not for clinical use.
 */
async function main(): Promise<void> {
  const runtimeProblem = httpRuntimeProblem(process.versions.undici);
  if (runtimeProblem) {
    process.stderr.write(`${runtimeProblem}\n`);
    process.exit(78); // EX_CONFIG: the runtime, not the study, is wrong
  }
  let config;
  try {
    config = loadConfigFromEnvironment();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const logger = new JsonLogger(config.logLevel, { service: 'covid-ct-triage-worker' });
  try {
    const { app } = await startWorker(config, logger);
    // SIGTERM/SIGINT run the shutdown hooks: finish or leave the study in flight, then exit.
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  } catch (error) {
    logger.write('fatal', 'worker failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

void main();
