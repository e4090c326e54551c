import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { AppConfig } from '@app/config';
import { trustCertificateAuthorities } from '@app/credentials';
import type { VolumeAnalyzer } from '@app/inference';
import { openKafkaConnection, probeKafkaAccess, workerAccessNeeds } from '@app/messaging';
import { JsonLogger } from './json-logger.js';
import { ANALYZER } from './tokens.js';
import { WorkerLifecycle } from './worker-lifecycle.js';
import { createTransport, WorkerModule } from './worker.module.js';

/**
 * The worker as a Nest microservice on our Kafka transport, consuming once this resolves.
 * `close()` runs the same shutdown as SIGTERM. Rejects with KafkaSettingsFileError or
 * CredentialsFileError (a file named by a setting is unreadable) or KafkaAccessError (the broker refused our
 * credentials, certificates or protocol, or its ACLs deny a configured topic or the group) without retrying.
 */
export async function startWorker(config: AppConfig, logger: JsonLogger) {
  if (config.https.caFile) {
    const added = trustCertificateAuthorities(config.https.caFile);
    logger.info('trusting the CAs of HTTPS_CA_FILE besides the system ones', { certificates: added });
  }
  const kafkaConnection = openKafkaConnection(config.kafka, {
    // OAUTHBEARER: each token obtained (client, lifetime, scope; never the token).
    onToken: (event) => logger.write('info', 'Kafka access token obtained', { ...event }),
  });
  // Refused credentials or certificates, or ACLs denying a topic or the group, end start-up here:
  // unretried, before the model loads.
  await probeKafkaAccess(
    kafkaConnection,
    (level, msg, fields) => logger.write(level, msg, fields),
    workerAccessNeeds(config.kafka),
  );
  const transport = createTransport(config, kafkaConnection, logger);
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    WorkerModule.forRoot(config, logger, transport, kafkaConnection),
    { strategy: transport, logger, abortOnError: false },
  );
  await app.listen();
  return { app, transport, ...announceStarted(app, config, logger), close: () => app.close() };
}

/** Logs 'worker started' with what it runs; the lifecycle knows the health port. */
export function announceStarted(app: INestMicroservice, config: AppConfig, logger: JsonLogger) {
  const lifecycle = app.get(WorkerLifecycle);
  const analyzer = app.get<VolumeAnalyzer>(ANALYZER);
  logger.info('worker started', {
    topic: config.kafka.topics.studyAvailable,
    groupId: config.kafka.groupId,
    concurrency: config.worker.concurrency,
    memoryBudgetMb: config.worker.memoryBudgetMb,
    model: analyzer.model,
    executionProviders: analyzer.executionProviders,
    httpPort: lifecycle.httpPort,
  });
  return { lifecycle };
}
