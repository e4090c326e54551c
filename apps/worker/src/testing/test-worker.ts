import type { FactoryProvider } from '@nestjs/common';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { AppConfig } from '@app/config';
import { openKafkaConnection, type MessageLoop } from '@app/messaging';
import { JsonLogger } from '../json-logger.js';
import { APP_CONFIG } from '../tokens.js';
import { announceStarted } from '../start-worker.js';
import { createTransport, WorkerModule } from '../worker.module.js';

/** A provider replaced for a test: a value, or a factory with the module's injections. */
export type Override = { token: unknown; value: unknown } | ({ token: unknown } & Omit<FactoryProvider, 'provide'>);

export interface TestWorkerOptions {
  logger?: JsonLogger;
  overrides?: Override[];
  /** A fake broker loop (unit tests); default: the real Kafka transport. */
  loop?: MessageLoop;
}

/** The worker's own module and transport with some adapters replaced, listening. */
export async function startTestWorker(config: AppConfig, options: TestWorkerOptions = {}) {
  const logger = options.logger ?? new JsonLogger('error', {});
  const kafkaConnection = openKafkaConnection(config.kafka);
  const transport = createTransport(config, kafkaConnection, logger, options.loop ? { loop: options.loop } : {});
  let builder = Test.createTestingModule({
    imports: [WorkerModule.forRoot(config, logger, transport, kafkaConnection)],
  });
  for (const override of options.overrides ?? []) {
    const provider = builder.overrideProvider(override.token);
    builder =
      'value' in override
        ? provider.useValue(override.value)
        : provider.useFactory({ factory: override.useFactory, inject: override.inject ?? [APP_CONFIG] });
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestMicroservice<MicroserviceOptions>({ strategy: transport, logger });
  await app.listen();
  return { app, transport, ...announceStarted(app, config, logger), close: () => app.close() };
}
