import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { SopClass, type FrameDecoder } from '@app/dicom';
import { PermanentError, TransientError, withRetry } from '@app/errors';
import type { VolumeAnalyzer } from '@app/inference';
import { newTriageCompleted, type StudyAvailable, type TriageCompleted } from '@app/messaging';
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
import { segUids } from '@app/seg';
import { srUids } from '@app/sr';
import { triagePriority, type ModelIdentity } from '@app/triage-contracts';
import { JsonLogger } from './json-logger.js';
import { MemoryBudget } from './memory-budget.js';
import { PartitionLostError } from './partition-lost.error.js';
import type { DependencyHealth, ResultPublisher, StudySources } from './ports.js';
import { AnswerNotPublishedError, DependencyUnavailableError } from './retry-later.error.js';
import {
  ANALYZER,
  APP_CONFIG,
  ARCHIVE_INDEX,
  ARCHIVE_SINK,
  DEPENDENCY_HEALTH,
  FRAME_DECODER,
  REPORT_INDEX,
  REPORT_SINK,
  RESULT_PUBLISHER,
  STUDY_SOURCES,
  TRIAGE_TRACER,
} from './tokens.js';

type Attempted = { prior: Exclude<PriorTriage, { kind: 'none' }> } | { outcome: TriageOutcome };

export interface TriageRequest {
  event: StudyAvailable;
  /** Aborted when shutdown's deadline passes. */
  signal: AbortSignal;
  log: JsonLogger;
  /** 1, or more when worker processes died during earlier deliveries of this message. */
  deliveries: number;
  /** False once the group rebalanced or dropped us: nothing may be written back then. */
  stillOwned: () => boolean;
  /** How many times this message was fetched again after the worker chose to wait. */
  refetches: number;
  /** Told the number of each attempt as it starts. */
  onAttempt: (attempt: number) => void;
}

/**
 * The rules for one StudyAvailable: refuse other archives, skip what was already triaged
 * (or is our own output), retry transient failures with bounded backoff, and answer a
 * finished triage with TriageCompleted. A failure is thrown (a TriageError, or the
 * signal's reason) for TriageFailureFilter to park.
 */
@Injectable()
export class StudyTriageService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ANALYZER) private readonly analyzer: VolumeAnalyzer,
    @Inject(ARCHIVE_SINK) private readonly archive: ArchiveSink,
    @Inject(REPORT_SINK) private readonly reports: ReportSink,
    @Inject(ARCHIVE_INDEX) private readonly archiveIndex: ArchiveIndex,
    @Inject(REPORT_INDEX) private readonly reportIndex: ReportIndex,
    @Inject(STUDY_SOURCES) private readonly studySources: StudySources,
    @Inject(RESULT_PUBLISHER) private readonly publisher: ResultPublisher,
    @Inject(MemoryBudget) private readonly memory: MemoryBudget,
    @Inject(FRAME_DECODER) private readonly decoder: FrameDecoder,
    @Inject(TRIAGE_TRACER) private readonly tracer: TriageTracer,
    @Inject(DEPENDENCY_HEALTH) private readonly dependencies: DependencyHealth,
  ) {}

  async triage(request: TriageRequest): Promise<void> {
    const { event, signal: shutdown, deliveries } = request;
    this.checkDeliveries(deliveries);
    this.checkArchive(event);
    // One clock for the whole study, retries included: a server that trickles a byte at a time
    // must not hold the partition forever. The step in progress stops at its next check.
    const { studyDeadlineMs } = this.config.worker;
    const deadline = new AbortController();
    const timer = setTimeout(
      () =>
        deadline.abort(
          new PermanentError(
            'DEADLINE_EXCEEDED',
            `the study did not finish within WORKER_STUDY_DEADLINE_MS=${studyDeadlineMs} (a stalled archive?)`,
          ),
        ),
      studyDeadlineMs,
    );
    try {
      await this.triageWithin({ ...request, signal: AbortSignal.any([shutdown, deadline.signal]) });
    } finally {
      clearTimeout(timer);
    }
  }

  private async triageWithin(request: TriageRequest): Promise<void> {
    const { event, signal, log, onAttempt } = request;
    let attempts = 0;
    const result = await withRetry(
      async (attempt) => {
        attempts = attempt;
        onAttempt(attempt);
        return this.attempt(request);
      },
      this.config.worker.retry,
      {
        signal,
        onRetry: (error, attempt, delayMs) =>
          log.write('warn', 'transient failure, retrying', { attempt, delayMs, error: error.message }),
      },
    ).catch(async (error: unknown) => {
      if (error instanceof TransientError && !signal.aborted) await this.waitIfOutage(error, request.refetches);
      throw error;
    });
    if ('prior' in result) {
      const { prior } = result;
      if (prior.kind === 'own-output') {
        log.info('skipped: the event only announces our own SEG/SR', { skip: prior.kind });
        return;
      }
      // The answer may never have gone out (a publish that failed, a worker killed after the
      // report): it is sent again from what was stored, with the same event id.
      await this.answer(storedCompletedEvent(event, prior, this.analyzer.model));
      log.info('skipped: already triaged by this model (SEG, SR and report exist); TriageCompleted sent again', {
        skip: prior.kind,
        diagnosticReport: prior.report.diagnosticReport,
      });
      return;
    }
    const { outcome } = result;
    await this.answer(completedEvent(event, outcome));
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
  }

  /**
   * The study's retries ran out. A server down for everyone (its probe fails) is an outage the
   * study waits out. Probes that answer may only mean the outage ended a moment ago, so the
   * study gets one more round after a pause before its failure counts as its own.
   */
  private async waitIfOutage(error: TransientError, refetches: number): Promise<void> {
    const unavailable = await this.dependencies.unavailable();
    if (unavailable.length > 0) throw new DependencyUnavailableError(unavailable, error);
    if (refetches === 0) throw new DependencyUnavailableError([], error);
  }

  private async answer(completed: TriageCompleted): Promise<void> {
    try {
      await this.publisher.publishCompleted(completed);
    } catch (error) {
      throw new AnswerNotPublishedError(error);
    }
  }

  private async attempt({ event, signal, log, stillOwned }: TriageRequest): Promise<Attempted> {
    const prior = await findPriorTriage(
      event,
      this.analyzer.model,
      { archive: this.archiveIndex, reports: this.reportIndex },
      { signal },
    );
    if (prior.kind !== 'none') return { prior };
    const outcome = await runTriage(
      { source: this.studySources(event.studyInstanceUid, signal), studyInstanceUid: event.studyInstanceUid },
      { analyzer: this.analyzer, archive: this.archive, reports: this.reports },
      {
        identifierSystem: this.config.fhir.identifierSystem,
        signal,
        log: (msg, fields) => log.write('debug', msg, fields),
        reserveMemory: (footprint, reserveSignal) => {
          log.write('debug', 'reserving memory', {
            voxels: footprint.voxels,
            estimateMb: this.memory.estimateMb(footprint),
          });
          return this.memory.reserve(footprint, reserveSignal);
        },
        decoder: this.decoder,
        tracer: this.tracer,
        beforeWriteBack: () => {
          if (!stillOwned()) throw new PartitionLostError();
        },
      },
    );
    return { outcome };
  }

  /** A message that keeps killing the process (OOM, native crash) must not block its partition forever. */
  private checkDeliveries(deliveries: number): void {
    const died = deliveries - 1;
    if (died >= this.config.worker.maxDeliveries) {
      throw new PermanentError(
        'WORKER_DIED',
        `worker processes died ${died} times while handling this message (out of memory, or a native crash?); ` +
          'parked unprocessed so that the partition moves on',
      );
    }
  }

  private checkArchive(event: StudyAvailable): void {
    const named = event.dicomwebBaseUrl.replace(/\/+$/, '');
    if (named && named !== this.config.dicomweb.baseUrl) {
      // The URL is not echoed: it may carry credentials.
      throw new PermanentError(
        'STUDY_NOT_FOUND',
        'the event names a DICOMweb archive this worker is not configured for',
      );
    }
  }
}

function ref(o: TriageOutcome['segmentation'] | TriageOutcome['structuredReport']) {
  return { seriesInstanceUid: o.seriesInstanceUid, sopInstanceUid: o.sopInstanceUid, sopClassUid: o.sopClassUid };
}

/** TriageCompleted rebuilt from the stored report and our deterministic SEG/SR UIDs. */
function storedCompletedEvent(
  event: StudyAvailable,
  prior: Extract<PriorTriage, { kind: 'already-triaged' }>,
  model: ModelIdentity,
): TriageCompleted {
  const { report, sourceSeriesInstanceUid: series } = prior;
  return newTriageCompleted({
    correlationId: event.eventId,
    studyInstanceUid: event.studyInstanceUid,
    seriesInstanceUid: series,
    model: { id: model.id, version: model.version },
    covidProbability: report.covidProbability,
    severityPercent: report.severityPercent,
    lungs: report.lungs,
    priority: triagePriority(report),
    segmentation: { ...segUids(series, model), sopClassUid: SopClass.Segmentation },
    structuredReport: { ...srUids(series, model), sopClassUid: SopClass.ComprehensiveSR },
    diagnosticReport: report.diagnosticReport,
  });
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
