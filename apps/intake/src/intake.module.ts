import { Module, type DynamicModule } from '@nestjs/common';
import type { IntakeConfig } from '@app/config';
import { httpAuthProvider, type AuthProvider } from '@app/credentials';
import { createDicomwebClient, type DicomwebClient } from '@app/dicomweb';
import {
  DicomwebSeriesIndex,
  OrthancChangesSource,
  QidoStudyPoller,
  StudyCompletion,
  type IntakeMetrics,
  type NotificationSource,
} from '@app/intake';
import { IntakeStateTopic, type KafkaConnection } from '@app/messaging';
import { HealthServer, JsonLogger } from '@app/service';
import { OtelIntakeMetrics } from '@app/telemetry';
import { cloudSourceFor } from './cloud-sources.js';
import { IntakeEngine } from './intake-engine.js';
import { INTAKE_CONFIG, INTAKE_METRICS, NOTIFICATION_SOURCE, SERIES_INDEX } from './tokens.js';

export interface IntakeOverrides {
  metrics?: IntakeMetrics;
  source?: NotificationSource;
}

const DICOMWEB_CLIENT = Symbol('DicomwebClient');
const DICOMWEB_AUTH = Symbol('DicomwebAuth');

/** The source of this configuration: Orthanc's change log, a QIDO-RS poller, or a cloud platform's. */
function sourceFor(
  config: IntakeConfig,
  client: DicomwebClient,
  auth: AuthProvider,
  log: JsonLogger,
  metrics: IntakeMetrics,
): NotificationSource {
  const source = config.source;
  if (source.kind !== 'orthanc' && source.kind !== 'qido') return cloudSourceFor(source, config, auth, log, metrics);
  if (source.kind === 'qido') {
    return new QidoStudyPoller({ store: source.store, client, lookbackDays: source.lookbackDays });
  }
  const onToken = (event: object) => log.write('info', 'Orthanc access token obtained', { ...event });
  return new OrthancChangesSource({
    store: source.store,
    baseUrl: source.orthancUrl,
    auth: httpAuthProvider(source.auth, { settings: 'INTAKE_ORTHANC', onToken }),
  });
}

// A Nest module is a decorated class by design; its providers come from forRoot.
@Module({})
// oxlint-disable-next-line typescript/no-extraneous-class
export class IntakeModule {
  static forRoot(
    config: IntakeConfig,
    logger: JsonLogger,
    kafkaConnection: KafkaConnection,
    model: { id: string; version: string },
    overrides: IntakeOverrides = {},
  ): DynamicModule {
    // The engine is created after the health server; its checks read it through this.
    let engineProblems: () => ReturnType<IntakeEngine['problems']> = noProblems;
    return {
      module: IntakeModule,
      providers: [
        { provide: INTAKE_CONFIG, useValue: config },
        { provide: JsonLogger, useValue: logger },
        { provide: INTAKE_METRICS, useFactory: () => overrides.metrics ?? new OtelIntakeMetrics() },
        {
          // One provider (one token cache) for the archive's DICOMweb and, on Azure, its change feed.
          provide: DICOMWEB_AUTH,
          useFactory: () =>
            httpAuthProvider(config.dicomweb.auth, {
              settings: 'DICOMWEB',
              onToken: (event) => logger.write('info', 'DICOMweb access token obtained', { ...event }),
            }),
        },
        {
          provide: DICOMWEB_CLIENT,
          useFactory: (auth: AuthProvider) =>
            createDicomwebClient({
              baseUrl: config.dicomweb.baseUrl,
              auth,
              timeoutMs: config.dicomweb.timeoutMs,
              onRetry: (event) => logger.write('warn', 'DICOMweb retry', { ...event }),
            }),
          inject: [DICOMWEB_AUTH],
        },
        {
          provide: SERIES_INDEX,
          useFactory: (client: DicomwebClient) => new DicomwebSeriesIndex(client),
          inject: [DICOMWEB_CLIENT],
        },
        {
          provide: NOTIFICATION_SOURCE,
          useFactory: (client: DicomwebClient, auth: AuthProvider, metrics: IntakeMetrics) =>
            overrides.source ?? sourceFor(config, client, auth, logger, metrics),
          inject: [DICOMWEB_CLIENT, DICOMWEB_AUTH, INTAKE_METRICS],
        },
        {
          provide: StudyCompletion,
          useFactory: (index: DicomwebSeriesIndex, metrics: IntakeMetrics) =>
            new StudyCompletion({
              store: config.source.store,
              rules: config.completion,
              index,
              model,
              metrics,
              log: (level, msg, fields) => logger.write(level, msg, fields),
            }),
          inject: [SERIES_INDEX, INTAKE_METRICS],
        },
        {
          provide: IntakeStateTopic,
          useFactory: () =>
            new IntakeStateTopic({
              connection: kafkaConnection,
              stateTopic: config.kafka.stateTopic,
              studyAvailableTopic: config.kafka.studyAvailableTopic,
              transactionalId: config.kafka.transactionalId,
              log: (level, msg, fields) => logger.write(level, msg, fields),
            }),
        },
        {
          provide: HealthServer,
          useFactory: (index: DicomwebSeriesIndex, state: IntakeStateTopic) =>
            new HealthServer({
              alive: () => ({ ok: true }),
              ready: {
                kafka: () => {
                  if (!state.isConnected) throw new Error('state producer not connected');
                  const problem = engineProblems().state;
                  if (problem) throw new Error(problem);
                },
                source: () => {
                  const problem = engineProblems().source;
                  if (problem) throw new Error(problem);
                },
                archive: () => index.ping(),
              },
            }),
          inject: [SERIES_INDEX, IntakeStateTopic],
        },
        {
          provide: IntakeEngine,
          useFactory: (...deps: ConstructorParameters<typeof IntakeEngine>) => {
            const engine = new IntakeEngine(...deps);
            engineProblems = () => engine.problems();
            return engine;
          },
          inject: [
            INTAKE_CONFIG,
            JsonLogger,
            StudyCompletion,
            NOTIFICATION_SOURCE,
            IntakeStateTopic,
            INTAKE_METRICS,
            HealthServer,
          ],
        },
      ],
    };
  }
}

const noProblems = () => ({});
