import { availableParallelism } from 'node:os';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { createFrameDecoder, type FrameDecoder } from '@app/dicom';
import { authFromConfig, createDicomwebClient } from '@app/dicomweb';
import { createFhirTransactionClient } from '@app/fhir';
import type { VolumeAnalyzer } from '@app/inference';
import { DicomwebStudySource } from '@app/ingest';
import { KafkaEventPublisher, KafkaStudyConsumer, type KafkaLog } from '@app/messaging';
import { DicomwebArchiveIndex, DicomwebArchiveSink, FhirReportIndex, FhirReportSink } from '@app/pipeline';
import { OtelTriageTracer, shutdownTelemetry } from '@app/telemetry';
import { HealthServer } from './health-server.js';
import type { JsonLogger } from './json-logger.js';
import { MemoryBudget } from './memory-budget.js';
import { StudyEventHandler } from './study-event-handler.js';

export interface WorkerOptions {
  /** Where a new consumer group starts reading (default: the earliest message). */
  fromBeginning?: boolean;
  /** Frame decoding threads (default: one per core). */
  decoderThreads?: number;
}

/**
 * Wires the adapters from the configuration and runs the consumer between Nest's
 * bootstrap and shutdown hooks. Nest gives the lifecycle (SIGTERM → shutdown hooks);
 * the Kafka loop is our own (see @app/messaging KafkaStudyConsumer for why).
 */
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly consumer: KafkaStudyConsumer;
  readonly publisher: KafkaEventPublisher;
  readonly health: HealthServer;
  readonly memory: MemoryBudget;
  private readonly decoder: FrameDecoder;
  private readonly handler: StudyEventHandler;
  private httpPort?: number;

  constructor(
    private readonly config: AppConfig,
    private readonly log: JsonLogger,
    private readonly analyzer: VolumeAnalyzer,
    options: WorkerOptions = {},
  ) {
    const kafkaLog: KafkaLog = (level, msg, fields) => log.write(level, msg, fields);
    const dicomweb = createDicomwebClient({
      baseUrl: config.dicomweb.baseUrl,
      auth: authFromConfig(config.dicomweb.auth),
      timeoutMs: config.dicomweb.timeoutMs,
      onRetry: (event) => log.write('warn', 'DICOMweb retry', { ...event }),
    });
    const fhir = config.fhir;
    const reportIndex = new FhirReportIndex({
      baseUrl: fhir.baseUrl,
      identifierSystem: fhir.identifierSystem,
      timeoutMs: fhir.timeoutMs,
      ...(fhir.bearerToken ? { bearerToken: fhir.bearerToken } : {}),
    });
    const archiveIndex = new DicomwebArchiveIndex(dicomweb);
    this.decoder = createFrameDecoder(options.decoderThreads ?? availableParallelism());
    this.memory = new MemoryBudget(config.worker.memoryBudgetMb);
    this.publisher = new KafkaEventPublisher({
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      topics: config.kafka.topics,
      log: kafkaLog,
    });
    this.consumer = new KafkaStudyConsumer({
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      groupId: config.kafka.groupId,
      topic: config.kafka.topics.studyAvailable,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      concurrency: config.worker.concurrency,
      fromBeginning: options.fromBeginning ?? true,
      log: kafkaLog,
    });
    this.handler = new StudyEventHandler(
      {
        analyzer,
        archive: new DicomwebArchiveSink(dicomweb),
        reports: new FhirReportSink(
          createFhirTransactionClient({
            baseUrl: fhir.baseUrl,
            timeoutMs: fhir.timeoutMs,
            ...(fhir.bearerToken ? { bearerToken: fhir.bearerToken } : {}),
          }),
          fhir.baseUrl,
        ),
        archiveIndex,
        reportIndex,
        studySource: (studyInstanceUid) => new DicomwebStudySource(dicomweb, studyInstanceUid),
        publisher: this.publisher,
        memory: this.memory,
        decoder: this.decoder,
        log,
        // No-op unless the OpenTelemetry SDK was started (otel.ts, before main).
        tracer: new OtelTriageTracer(),
      },
      {
        archiveBaseUrl: config.dicomweb.baseUrl,
        identifierSystem: fhir.identifierSystem,
        retry: config.worker.retry,
      },
    );
    this.health = new HealthServer({
      alive: () => {
        const crashed = this.consumer.status.crashed;
        return crashed ? { ok: false, reason: `Kafka consumer stopped: ${crashed}` } : { ok: true };
      },
      ready: {
        kafka: () => {
          if (!this.consumer.status.connected) throw new Error('consumer not in its group');
          if (!this.publisher.isConnected) throw new Error('producer not connected');
        },
        model: () => {
          if (!this.analyzer.model.id) throw new Error('no model loaded');
        },
        archive: () => archiveIndex.ping(),
        fhir: () => reportIndex.ping(),
      },
    });
  }

  /** The port the health endpoints listen on (useful when HTTP_PORT is 0 in tests). */
  get port(): number | undefined {
    return this.httpPort;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.httpPort = await this.health.listen(this.config.httpPort);
    await this.publisher.connect();
    await this.consumer.start((message, context) => this.handler.handle(message, context));
    this.log.info('worker started', {
      topic: this.config.kafka.topics.studyAvailable,
      groupId: this.config.kafka.groupId,
      concurrency: this.config.worker.concurrency,
      memoryBudgetMb: this.config.worker.memoryBudgetMb,
      model: this.analyzer.model,
      executionProviders: this.analyzer.executionProviders,
      httpPort: this.httpPort,
    });
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.info('worker stopping', { signal, deadlineMs: this.config.worker.shutdownDeadlineMs });
    await this.consumer.stop(this.config.worker.shutdownDeadlineMs);
    await this.publisher.disconnect().catch(() => undefined);
    await this.health.close();
    await this.decoder.close();
    await this.analyzer.close();
    // The last spans and metrics go out (bounded wait; no-op when telemetry is off).
    await shutdownTelemetry();
    this.log.info('worker stopped');
  }
}
