import {
  context,
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import { asTriageError } from '@app/errors';
import type { FetchedStudy, StepName, StudyTrace, StudyTraceStart, TriageTracer } from '@app/pipeline';

/** The instrumentation scope of our own spans and metrics. */
export const TELEMETRY_SCOPE = 'covid-ct-triage';

/** Span and metric attributes: UIDs (correlation ids), model, codes and counts only. */
export const TRIAGE_ATTRIBUTES = {
  studyUid: 'triage.study.uid',
  seriesUid: 'triage.series.uid',
  slices: 'triage.series.slices',
  modelId: 'triage.model.id',
  modelVersion: 'triage.model.version',
  outcome: 'triage.outcome',
  failureCode: 'triage.failure.code',
  failedStep: 'triage.failure.step',
  step: 'triage.step',
} as const;

export const TRIAGE_METRICS = {
  processed: 'triage.studies.processed',
  inFlight: 'triage.studies.in_flight',
  studyDuration: 'triage.study.duration',
  stepDuration: 'triage.step.duration',
} as const;

export const STUDY_SPAN = 'triage.study';

/**
 * completed: SEG, SR and report written. failed: a permanent error (the worker parks the
 * study). retryable: a transient error (the worker tries again, each try is its own span).
 * interrupted: shutdown's deadline stopped it (another replica redoes it).
 */
export type TriageRunOutcome = 'completed' | 'failed' | 'retryable' | 'interrupted';

// Seconds: from a millisecond encode to a ten-minute study on CPU.
const SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

export interface OtelTriageTracerOptions {
  /** Default: the global providers the SDK registered (no-ops when it was not started). */
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
}

/** The pipeline's TriageTracer on OpenTelemetry: a `triage.study` span with one child per step, and metrics. */
export class OtelTriageTracer implements TriageTracer {
  private readonly tracer: Tracer;
  private readonly processed: Counter;
  private readonly inFlight: UpDownCounter;
  private readonly studyDuration: Histogram;
  private readonly stepDuration: Histogram;

  constructor(options: OtelTriageTracerOptions = {}) {
    this.tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(TELEMETRY_SCOPE);
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(TELEMETRY_SCOPE);
    this.processed = meter.createCounter(TRIAGE_METRICS.processed, {
      description: 'Triage runs by outcome; a study retried after a transient error counts once per try',
      unit: '{study}',
    });
    this.inFlight = meter.createUpDownCounter(TRIAGE_METRICS.inFlight, {
      description: 'Studies being triaged now',
      unit: '{study}',
    });
    const advice = { explicitBucketBoundaries: SECONDS_BUCKETS };
    this.studyDuration = meter.createHistogram(TRIAGE_METRICS.studyDuration, {
      description: 'Duration of one triage run, all steps',
      unit: 's',
      advice,
    });
    this.stepDuration = meter.createHistogram(TRIAGE_METRICS.stepDuration, {
      description: 'Duration of one pipeline step',
      unit: 's',
      advice,
    });
  }

  async study<T>(start: StudyTraceStart, run: (trace: StudyTrace) => Promise<T>): Promise<T> {
    const A = TRIAGE_ATTRIBUTES;
    const model: Attributes = { [A.modelId]: start.model.id, [A.modelVersion]: start.model.version };
    const span = this.tracer.startSpan(STUDY_SPAN, {
      attributes: { ...model, ...(start.studyInstanceUid ? { [A.studyUid]: start.studyInstanceUid } : {}) },
    });
    const studyContext = trace.setSpan(context.active(), span);
    let failedStep: StepName | undefined;
    const handle: StudyTrace = {
      step: async (name, work) => {
        try {
          return await this.step(studyContext, name, work);
        } catch (error) {
          failedStep ??= name;
          throw error;
        }
      },
      fetched: (study: FetchedStudy) =>
        span.setAttributes({
          [A.studyUid]: study.studyInstanceUid,
          [A.seriesUid]: study.seriesInstanceUid,
          [A.slices]: study.slices,
        }),
    };
    const began = performance.now();
    this.inFlight.add(1, model);
    let outcome: TriageRunOutcome = 'completed';
    let failureCode: string | undefined;
    try {
      return await context.with(studyContext, () => run(handle));
    } catch (error) {
      const triageError = asTriageError(error);
      outcome = start.signal?.aborted ? 'interrupted' : triageError.transient ? 'retryable' : 'failed';
      failureCode = outcome === 'interrupted' ? undefined : triageError.code;
      span.setAttributes({
        ...(failureCode ? { [A.failureCode]: failureCode } : {}),
        ...(failedStep ? { [A.failedStep]: failedStep } : {}),
      });
      // Shutdown is not an error of the study: the span keeps an unset status then.
      if (outcome !== 'interrupted') {
        span.recordException(triageError);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${triageError.code}: ${triageError.message}` });
      }
      throw error;
    } finally {
      span.setAttribute(A.outcome, outcome);
      span.end();
      const attributes = { ...model, [A.outcome]: outcome, ...(failureCode ? { [A.failureCode]: failureCode } : {}) };
      this.inFlight.add(-1, model);
      this.processed.add(1, attributes);
      this.studyDuration.record((performance.now() - began) / 1000, attributes);
    }
  }

  private async step<T>(parent: Context, name: StepName, work: () => Promise<T>): Promise<T> {
    const span: Span = this.tracer.startSpan(name, { attributes: { [TRIAGE_ATTRIBUTES.step]: name } }, parent);
    const began = performance.now();
    let ok = false;
    try {
      // Active during the step, so the HTTP spans of fetch (DICOMweb, FHIR) nest under it.
      const result = await context.with(trace.setSpan(parent, span), work);
      ok = true;
      return result;
    } catch (error) {
      const triageError = asTriageError(error);
      span.setAttribute(TRIAGE_ATTRIBUTES.failureCode, triageError.code);
      span.recordException(triageError);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${triageError.code}: ${triageError.message}` });
      throw error;
    } finally {
      span.end();
      this.stepDuration.record((performance.now() - began) / 1000, {
        [TRIAGE_ATTRIBUTES.step]: name,
        [TRIAGE_ATTRIBUTES.outcome]: ok ? 'ok' : 'error',
      });
    }
  }
}
