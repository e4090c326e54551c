import { NestFactory } from '@nestjs/core';
import type { IntakeConfig } from '@app/config';
import { trustCertificateAuthorities } from '@app/credentials';
import { readModelIdentity } from '@app/inference';
import { openKafkaConnection, probeKafkaAccess } from '@app/messaging';
import type { JsonLogger } from '@app/service';
import { IntakeEngine } from './intake-engine.js';
import { IntakeModule, type IntakeOverrides } from './intake.module.js';

/**
 * The intake as a Nest application context (it serves no Nest transport: its sources are
 * polled by IntakeEngine), running once this resolves. `close()` runs the same shutdown as
 * SIGTERM: polling stops and the state accepted so far is written.
 */
export async function startIntake(config: IntakeConfig, logger: JsonLogger, overrides: IntakeOverrides = {}) {
  if (config.https.caFile) {
    const added = trustCertificateAuthorities(config.https.caFile);
    logger.info('trusting the CAs of HTTPS_CA_FILE besides the system ones', { certificates: added });
  }
  const model = await readModelIdentity(config.modelManifestPath);
  const kafkaConnection = openKafkaConnection({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    security: config.kafka.security,
  });
  await probeKafkaAccess(kafkaConnection, (level, msg, fields) => logger.write(level, msg, fields));
  const app = await NestFactory.createApplicationContext(
    IntakeModule.forRoot(config, logger, kafkaConnection, model, overrides),
    { logger, abortOnError: false },
  );
  await app.init();
  const engine = app.get(IntakeEngine);
  return { app, httpPort: engine.httpPort, close: () => app.close() };
}
