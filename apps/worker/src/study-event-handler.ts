import type { FrameDecoder } from '@app/dicom';
import { NoUsableSeriesError } from '@app/dicom';
import { asTriageError, PermanentError, type TriageError } from '@app/errors';
import type { VolumeAnalyzer } from '@app/inference';
import type { StudySource } from '@app/ingest';
import {
  decodeStudyAvailable,
  newTriageCompleted,
  newTriageFailed,
  type ConsumedMessage,
  type DeadLetterReason,
  type MessageContext,
  type MessageDisposition,
  type StudyAvailable,
  type TriageCompleted,
  type TriageFailed,
} from '@app/messaging';
import {
  findPriorTriage,
  runTriage,
  type ArchiveIndex,
  type ArchiveSink,
  type PriorTriage,
  type ReportIndex,
  type ReportSink,
  type TriageOutcome,
  type TriageTracer,
} from '@app/pipeline';
import type { JsonLogger } from './json-logger.js';
import type { MemoryBudget } from './memory-budget.js';
import { withRetry, type RetryPolicy } from './retry.js';

/** Where the answers go (the Kafka publisher in production). */
export interface ResultPublisher {
  publishCompleted(event: TriageCompleted): Promise<void>;
  publishFailed(event: TriageFailed): Promise<void>;
  publishDeadLetter(original: ConsumedMessage, reason: DeadLetterReason): Promise<void>;
}

export interface HandlerDependencies {
  analyzer: VolumeAnalyzer;
  archive: ArchiveSink;
  reports: ReportSink;
  archiveIndex: ArchiveIndex;
  reportIndex: ReportIndex;
  /** The study in the configured archive. */
  studySource: (studyInstanceUid: string) => StudySource;
  publisher: ResultPublisher;
  memory: MemoryBudget;
  decoder?: FrameDecoder;
  log: JsonLogger;
  /** Spans and metrics of each triage run (@app/telemetry); default: none. */
  tracer?: TriageTracer;
}

export interface HandlerSettings {
  /** The configured DICOMweb root: an event naming another archive is refused. */
  archiveBaseUrl: string;
  identifierSystem: string;
  retry: RetryPolicy;
}

type Attempted = { prior: Exclude<PriorTriage, { kind: 'none' }> } | { outcome: TriageOutcome };

/**
 * One StudyAvailable message, start to end. Every path ends in exactly one of:
 * - 'commit' after TriageCompleted was published (or the study needed no work);
 * - 'commit' after TriageFailed and a dead-letter record were published (bad input,
 *   a permanent failure, or transient failures that outlasted every retry);
 * - 'leave' when shutdown's deadline interrupted it (the next owner redoes it);
 * - a thrown error only when the broker refuses our answers: nothing is committed and
 *   kafkajs redelivers the message after its own backoff.
 */
export class StudyEventHandler {
  constructor(
    private readonly deps: HandlerDependencies,
    private readonly settings: HandlerSettings,
  ) {}

  async handle(message: ConsumedMessage, context: MessageContext): Promise<MessageDisposition> {
    const where = { partition: message.partition, offset: message.offset };
    let event: StudyAvailable;
    try {
      event = decodeStudyAvailable(message.value);
    } catch (error) {
      await this.park(message, undefined, asTriageError(error), 1, this.deps.log.child(where));
      return 'commit';
    }
    const log = this.deps.log.child({ studyInstanceUid: event.studyInstanceUid, eventId: event.eventId, ...where });
    log.info('study available', { source: event.source, seriesHints: event.seriesInstanceUids.length });

    let attempts = 0;
    let result: Attempted;
    try {
      this.checkArchive(event);
      result = await withRetry(
        async (attempt) => {
          attempts = attempt;
          return this.attempt(event, context.signal, log);
        },
        this.settings.retry,
        {
          signal: context.signal,
          onRetry: (error, attempt, delayMs) =>
            log.write('warn', 'transient failure, retrying', { attempt, delayMs, error: error.message }),
        },
      );
    } catch (error) {
      if (context.signal.aborted) {
        log.write('warn', 'interrupted by shutdown; left uncommitted for redelivery', { attempts });
        return 'leave';
      }
      await this.park(message, event, asTriageError(error), attempts, log);
      return 'commit';
    }

    if ('prior' in result) {
      log.info(
        result.prior.kind === 'own-output'
          ? 'skipped: the event only announces our own SEG/SR'
          : 'skipped: already triaged by this model (SEG, SR and report exist)',
        { skip: result.prior.kind },
      );
      return 'commit';
    }
    const { outcome } = result;
    await this.deps.publisher.publishCompleted(completedEvent(event, outcome));
    log.info('triage completed', {
      seriesInstanceUid: outcome.series.seriesInstanceUid,
      priority: outcome.priority,
      covidProbability: round(outcome.measurements.covidProbability, 3),
      severityPercent: round(outcome.measurements.severityPercent, 1),
      segDuplicate: outcome.segmentation.duplicate,
      reportCreated: outcome.report.created,
      diagnosticReport: outcome.report.diagnosticReport,
      attempts,
      timings: outcome.timings,
    });
    return 'commit';
  }

  private async attempt(event: StudyAvailable, signal: AbortSignal, log: JsonLogger): Promise<Attempted> {
    const { analyzer } = this.deps;
    const prior = await findPriorTriage(
      event,
      analyzer.model,
      { archive: this.deps.archiveIndex, reports: this.deps.reportIndex },
      { signal },
    );
    if (prior.kind !== 'none') return { prior };
    const outcome = await runTriage(
      { source: this.deps.studySource(event.studyInstanceUid), studyInstanceUid: event.studyInstanceUid },
      { analyzer, archive: this.deps.archive, reports: this.deps.reports },
      {
        identifierSystem: this.settings.identifierSystem,
        signal,
        log: (msg, fields) => log.write('debug', msg, fields),
        reserveMemory: (footprint, reserveSignal) => {
          log.write('debug', 'reserving memory', {
            voxels: footprint.voxels,
            estimateMb: this.deps.memory.estimateMb(footprint),
          });
          return this.deps.memory.reserve(footprint, reserveSignal);
        },
        ...(this.deps.decoder ? { decoder: this.deps.decoder } : {}),
        ...(this.deps.tracer ? { tracer: this.deps.tracer } : {}),
      },
    );
    return { outcome };
  }

  private checkArchive(event: StudyAvailable): void {
    const named = event.dicomwebBaseUrl.replace(/\/+$/, '');
    if (named && named !== this.settings.archiveBaseUrl) {
      // The URL is not echoed: it may carry credentials.
      throw new PermanentError(
        'STUDY_NOT_FOUND',
        'the event names a DICOMweb archive this worker is not configured for',
      );
    }
  }

  /** TriageFailed, then the original message with the reason on the dead-letter topic. */
  private async park(
    message: ConsumedMessage,
    event: StudyAvailable | undefined,
    error: TriageError,
    attempts: number,
    log: JsonLogger,
  ): Promise<void> {
    const rejected = error instanceof NoUsableSeriesError ? error.rejected : [];
    const failed = newTriageFailed({
      correlationId: event?.eventId ?? '',
      studyInstanceUid: event?.studyInstanceUid ?? '',
      code: error.code,
      message: error.message,
      attempts,
      rejectedSeries: rejected.map((r) => ({ seriesInstanceUid: r.seriesInstanceUid, reason: r.reason })),
    });
    await this.deps.publisher.publishFailed(failed);
    await this.deps.publisher.publishDeadLetter(message, {
      code: error.code,
      message: error.message,
      attempts,
      correlationId: failed.eventId,
    });
    log.write(error.transient ? 'error' : 'warn', 'triage failed; parked on the dead-letter topic', {
      code: error.code,
      error: error.message,
      attempts,
      triageFailedEventId: failed.eventId,
    });
  }
}

function ref(o: TriageOutcome['segmentation'] | TriageOutcome['structuredReport']) {
  return { seriesInstanceUid: o.seriesInstanceUid, sopInstanceUid: o.sopInstanceUid, sopClassUid: o.sopClassUid };
}

function completedEvent(event: StudyAvailable, outcome: TriageOutcome): TriageCompleted {
  const m = outcome.measurements;
  return newTriageCompleted({
    correlationId: event.eventId,
    studyInstanceUid: outcome.studyInstanceUid,
    seriesInstanceUid: outcome.series.seriesInstanceUid,
    model: { id: m.model.id, version: m.model.version },
    covidProbability: m.covidProbability,
    severityPercent: m.severityPercent,
    lungs: m.lungs,
    priority: outcome.priority,
    segmentation: ref(outcome.segmentation),
    structuredReport: ref(outcome.structuredReport),
    diagnosticReport: outcome.report.diagnosticReport,
  });
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
