import { availableParallelism } from 'node:os';
import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { createFrameDecoder } from '@app/dicom';
import { httpAuthProvider, type AuthProvider, type HttpAuthContext } from '@app/credentials';
import { createDicomwebClient, type DicomwebClient } from '@app/dicomweb';
import { createFhirTransactionClient } from '@app/fhir';
import { loadTriageModel, type VolumeAnalyzer } from '@app/inference';
import { DicomwebStudySource } from '@app/ingest';
import {
  KafkaEventPublisher,
  KafkaStudyTransport,
  STUDY_AVAILABLE,
  type KafkaConnection,
  type MessageLoop,
} from '@app/messaging';
import { DicomwebArchiveIndex, DicomwebArchiveSink, FhirReportIndex, FhirReportSink } from '@app/pipeline';
import { observeExecutionProviders, OtelTriageTracer } from '@app/telemetry';
import { HealthServer } from '@app/service';
import { JsonLogger } from './json-logger.js';
import { MemoryBudget } from './memory-budget.js';
import type { DependencyHealth, StudySources } from './ports.js';
import { StudyAvailableController } from './study-available.controller.js';
import { StudyTriageService } from './study-triage.service.js';
import {
  ANALYZER,
  APP_CONFIG,
  ARCHIVE_INDEX,
  ARCHIVE_SINK,
  DEPENDENCY_HEALTH,
  DICOMWEB_CLIENT,
  FHIR_AUTH,
  FRAME_DECODER,
  REPORT_INDEX,
  REPORT_SINK,
  RESULT_PUBLISHER,
  STUDY_SOURCES,
  TRIAGE_TRACER,
} from './tokens.js';
import { WorkerLifecycle } from './worker-lifecycle.js';

/** Loads the model set once at start-up: a bad manifest or graph stops the worker before it consumes. */
export async function loadAnalyzer(config: AppConfig, log: JsonLogger): Promise<VolumeAnalyzer> {
  const started = performance.now();
  const analyzer = await loadTriageModel({
    manifestPath: config.inference.manifestPath,
    executionProviders: config.inference.executionProviders,
    batchSlices: config.inference.batchSlices,
    ...(config.inference.intraOpThreads === undefined ? {} : { intraOpThreads: config.inference.intraOpThreads }),
    log: (line) => log.write('info', line, { component: 'inference' }),
  });
  log.info('model loaded', {
    model: analyzer.model,
    executionProviders: analyzer.executionProviders,
    ms: Math.round(performance.now() - started),
  });
  const fallback = analyzer.providerFallback;
  if (fallback) {
    // A GPU node running on CPU is a deployment fault unless accepted: loud, and unready (cpuFallbackProblem).
    log.write(config.inference.allowCpuFallback ? 'warn' : 'error', 'configured execution providers failed to load', {
      requested: fallback.requested,
      runningOn: analyzer.executionProviders,
      reason: fallback.reason,
      allowCpuFallback: config.inference.allowCpuFallback,
    });
  }
  observeExecutionProviders({ executionProviders: analyzer.executionProviders, cpuFallback: fallback !== undefined });
  return analyzer;
}

/** Why the model check fails when the configured GPU provider did not load, unless CPU is accepted. */
export function cpuFallbackProblem(analyzer: VolumeAnalyzer, allowCpuFallback: boolean): string | undefined {
  const fallback = analyzer.providerFallback;
  if (!fallback || allowCpuFallback) return undefined;
  return (
    `execution providers [${fallback.requested.join(', ')}] failed to load (${fallback.reason}); ` +
    `running on [${analyzer.executionProviders.join(', ')}]. Set INFERENCE_ALLOW_CPU_FALLBACK=true to accept CPU`
  );
}

/** A server's credentials; files are read now (CredentialsFileError: exit 78) and when they change. */
function authFor(settings: 'DICOMWEB' | 'FHIR', config: AppConfig, log: JsonLogger): AuthProvider {
  const onToken: HttpAuthContext['onToken'] = (event) =>
    log.write('info', `${settings === 'FHIR' ? 'FHIR' : 'DICOMweb'} access token obtained`, { ...event });
  return httpAuthProvider(settings === 'FHIR' ? config.fhir.auth : config.dicomweb.auth, { settings, onToken });
}

/** One provider per adapter, built from the validated configuration. */
function adapterProviders(config: AppConfig, kafkaConnection: KafkaConnection): Provider[] {
  const fhir = config.fhir;
  return [
    { provide: APP_CONFIG, useValue: config },
    { provide: ANALYZER, useFactory: loadAnalyzer, inject: [APP_CONFIG, JsonLogger] },
    {
      provide: DICOMWEB_CLIENT,
      useFactory: (log: JsonLogger) =>
        createDicomwebClient({
          baseUrl: config.dicomweb.baseUrl,
          auth: authFor('DICOMWEB', config, log),
          timeoutMs: config.dicomweb.timeoutMs,
          onRetry: (event) => log.write('warn', 'DICOMweb retry', { ...event }),
        }),
      inject: [JsonLogger],
    },
    {
      provide: ARCHIVE_INDEX,
      useFactory: (client: DicomwebClient) => new DicomwebArchiveIndex(client),
      inject: [DICOMWEB_CLIENT],
    },
    {
      provide: ARCHIVE_SINK,
      useFactory: (client: DicomwebClient) => new DicomwebArchiveSink(client),
      inject: [DICOMWEB_CLIENT],
    },
    {
      provide: STUDY_SOURCES,
      useFactory:
        (client: DicomwebClient): StudySources =>
        (studyInstanceUid, signal) =>
          new DicomwebStudySource(client, studyInstanceUid, signal),
      inject: [DICOMWEB_CLIENT],
    },
    { provide: FHIR_AUTH, useFactory: (log: JsonLogger) => authFor('FHIR', config, log), inject: [JsonLogger] },
    {
      provide: REPORT_INDEX,
      useFactory: (auth: AuthProvider) =>
        new FhirReportIndex({
          baseUrl: fhir.baseUrl,
          identifierSystem: fhir.identifierSystem,
          timeoutMs: fhir.timeoutMs,
          auth,
        }),
      inject: [FHIR_AUTH],
    },
    {
      provide: REPORT_SINK,
      useFactory: (auth: AuthProvider) =>
        new FhirReportSink(
          createFhirTransactionClient({ baseUrl: fhir.baseUrl, timeoutMs: fhir.timeoutMs, auth }),
          fhir.baseUrl,
        ),
      inject: [FHIR_AUTH],
    },
    {
      provide: RESULT_PUBLISHER,
      useFactory: (log: JsonLogger) =>
        new KafkaEventPublisher({
          connection: kafkaConnection,
          topics: config.kafka.topics,
          log: (level, msg, fields) => log.write(level, msg, fields),
        }),
      inject: [JsonLogger],
    },
    {
      provide: FRAME_DECODER,
      useFactory: () => createFrameDecoder(config.worker.decodeThreads ?? availableParallelism()),
    },
    { provide: MemoryBudget, useFactory: () => new MemoryBudget(config.worker.memoryBudgetMb) },
    // No-op unless the OpenTelemetry SDK was started (otel.ts, before main).
    { provide: TRIAGE_TRACER, useFactory: () => new OtelTriageTracer() },
  ];
}

/**
 * The Kafka transport of this configuration: StudyAvailable's topic → its @EventPattern.
 * `loop` replaces the kafkajs consumer (unit tests). The connection (openKafkaConnection,
 * files read once) is shared with the publisher: give WorkerModule.forRoot the same one.
 */
export function createTransport(
  config: AppConfig,
  kafkaConnection: KafkaConnection,
  log: JsonLogger,
  options: { fromBeginning?: boolean; loop?: MessageLoop } = {},
): KafkaStudyTransport {
  return new KafkaStudyTransport(
    {
      connection: kafkaConnection,
      groupId: config.kafka.groupId,
      patterns: { [config.kafka.topics.studyAvailable]: STUDY_AVAILABLE },
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      concurrency: config.worker.concurrency,
      shutdownDeadlineMs: config.worker.shutdownDeadlineMs,
      fromBeginning: options.fromBeginning ?? true,
      log: (level, msg, fields) => log.write(level, msg, fields),
    },
    options.loop,
  );
}

/** How long one health probe may take when a study's retries have run out. */
const PROBE_TIMEOUT_MS = 10_000;

/** The servers whose probe fails now, probed together (the readiness checks' probes). */
function dependencyHealth(probes: Record<string, (signal: AbortSignal) => Promise<void>>): DependencyHealth {
  return {
    unavailable: async () => {
      const down = await Promise.all(
        Object.entries(probes).map(([name, probe]) =>
          probe(AbortSignal.timeout(PROBE_TIMEOUT_MS)).then(
            () => [],
            () => [name],
          ),
        ),
      );
      return down.flat();
    },
  };
}

// A Nest module is a decorated class by design; its providers come from forRoot.
@Module({})
// oxlint-disable-next-line typescript/no-extraneous-class
export class WorkerModule {
  /** `transport` is also the microservice's strategy; the health checks read its consumer status. */
  static forRoot(
    config: AppConfig,
    logger: JsonLogger,
    transport: KafkaStudyTransport,
    kafkaConnection: KafkaConnection,
  ): DynamicModule {
    return {
      module: WorkerModule,
      controllers: [StudyAvailableController],
      providers: [
        { provide: JsonLogger, useValue: logger },
        ...adapterProviders(config, kafkaConnection),
        {
          provide: HealthServer,
          useFactory: (
            analyzer: VolumeAnalyzer,
            archive: DicomwebArchiveIndex,
            reports: FhirReportIndex,
            publisher: KafkaEventPublisher,
          ) =>
            new HealthServer({
              alive: () => {
                const crashed = transport.consumerStatus.crashed;
                return crashed ? { ok: false, reason: `Kafka consumer stopped: ${crashed}` } : { ok: true };
              },
              ready: {
                kafka: () => {
                  const consumer = transport.consumerStatus;
                  if (!consumer.connected) throw new Error('consumer not in its group');
                  if (!publisher.isConnected) throw new Error('producer not connected');
                  // A partition stuck on a message whose answers the broker refuses (a missing topic, an ACL).
                  if (consumer.retrying.length > 0) {
                    throw new Error(
                      `partitions ${consumer.retrying.join(', ')} are retrying a message they could not finish`,
                    );
                  }
                },
                model: () => {
                  if (!analyzer.model.id) throw new Error('no model loaded');
                  const problem = cpuFallbackProblem(analyzer, config.inference.allowCpuFallback);
                  if (problem) throw new Error(problem);
                },
                archive: () => archive.ping(),
                fhir: () => reports.ping(),
              },
            }),
          inject: [ANALYZER, ARCHIVE_INDEX, REPORT_INDEX, RESULT_PUBLISHER],
        },
        {
          provide: DEPENDENCY_HEALTH,
          useFactory: (archive: DicomwebArchiveIndex, reports: FhirReportIndex) =>
            dependencyHealth({
              archive: (signal) => archive.ping(signal),
              'FHIR server': (signal) => reports.ping(signal),
            }),
          inject: [ARCHIVE_INDEX, REPORT_INDEX],
        },
        StudyTriageService,
        WorkerLifecycle,
      ],
    };
  }
}
