import { syntheticCtSeries, type SyntheticCtSeries } from '@app/dicom/phantom';
import { PermanentError } from '@app/errors';
import type { CtVolume, EncodedDicomObject } from '@app/dicom';
import { SpanStatusCode } from '@opentelemetry/api';
import { OtelTriageTracer, STUDY_SPAN, TRIAGE_ATTRIBUTES as A } from '@app/telemetry';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveReceipt, ArchiveSink, ReportReceipt, ReportSink } from './ports.js';
import { MemoryStudySource } from './testing/memory-study-source.js';
import { ThresholdAnalyzer } from './testing/threshold-analyzer.js';
import { runTriage } from './triage-pipeline.js';
import { STEP_NAMES } from './triage-outcome.js';

/**
 * runTriage through @app/telemetry's OpenTelemetry tracer, into the SDK's in-memory exporter:
 * one `triage.study` span per run, one child per step, and nothing from the patient.
 */
const PATIENT_ID = 'PAT-4711-SECRET';
const PATIENT_NAME = 'Doe^Jane';
const BIRTH_DATE = '19450317';

const archive: ArchiveSink = {
  label: 'fake-archive',
  store: async (objects: readonly EncodedDicomObject[]): Promise<ArchiveReceipt> => ({
    objects: objects.map((o) => ({
      sopInstanceUid: o.sopInstanceUid,
      location: `fake/${o.sopInstanceUid}`,
      duplicate: false,
    })),
  }),
};
const reports: ReportSink = {
  label: 'fake-fhir',
  write: async (): Promise<ReportReceipt> => ({
    diagnosticReport: 'DiagnosticReport/1',
    created: true,
    references: [],
  }),
};
const options = { identifierSystem: 'https://triage.example.org/fhir/identifier' };

class NoLungsAnalyzer extends ThresholdAnalyzer {
  override async analyze(_volume: CtVolume): Promise<never> {
    throw new PermanentError('NO_LUNGS_FOUND', 'no lung voxels in the volume');
  }
}

const exporter = new InMemorySpanExporter();
const tracer = new OtelTriageTracer({
  tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
});
const byName = (spans: ReadableSpan[], name: string) => spans.find((s) => s.name === name)!;
const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;

describe('runTriage traced with OpenTelemetry', () => {
  let series: SyntheticCtSeries;
  let files: Uint8Array[];
  beforeAll(() => {
    series = syntheticCtSeries({
      rows: 64,
      columns: 64,
      slices: 24,
      patientId: PATIENT_ID,
      attributes: { ConvolutionKernel: 'LUNG', PatientName: PATIENT_NAME, PatientBirthDate: BIRTH_DATE },
    });
    files = series.instances.map((instance) => instance.bytes);
  });
  afterEach(() => exporter.reset());

  it('makes one study span with the six step spans as its children, in order, carrying UIDs and the model only', async () => {
    const analyzer = new ThresholdAnalyzer();
    await runTriage({ source: new MemoryStudySource(files) }, { analyzer, archive, reports }, { ...options, tracer });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).toSorted()).toEqual([STUDY_SPAN, ...STEP_NAMES].toSorted());
    const study = byName(spans, STUDY_SPAN);
    expect(study.parentSpanContext).toBeUndefined();
    const steps = STEP_NAMES.map((name) => byName(spans, name));
    for (const step of steps) {
      expect(step.parentSpanContext?.spanId).toBe(study.spanContext().spanId);
      expect(step.spanContext().traceId).toBe(study.spanContext().traceId);
      expect(step.attributes[A.step]).toBe(step.name);
      expect(step.status.code).toBe(SpanStatusCode.UNSET);
    }
    // The steps ran one after another, inside the study span (each span anchors its own clock
    // to Date.now(), so times agree to about a millisecond only).
    const slack = 2;
    for (let i = 1; i < steps.length; i++) {
      expect(ms(steps[i].startTime) + slack).toBeGreaterThanOrEqual(ms(steps[i - 1].endTime));
    }
    expect(ms(steps[0].startTime) + slack).toBeGreaterThanOrEqual(ms(study.startTime));
    expect(ms(study.endTime) + slack).toBeGreaterThanOrEqual(ms(steps.at(-1)!.endTime));

    expect(study.attributes).toEqual({
      [A.studyUid]: series.studyInstanceUid,
      [A.seriesUid]: series.seriesInstanceUid,
      [A.slices]: 24,
      [A.modelId]: analyzer.model.id,
      [A.modelVersion]: analyzer.model.version,
      [A.outcome]: 'completed',
    });
    // Nothing from the patient anywhere: attributes, events, status.
    const everything = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.status]));
    for (const phi of [PATIENT_ID, PATIENT_NAME, 'Doe', BIRTH_DATE]) expect(everything).not.toContain(phi);
  });

  it('names the study from the start when the caller knows its UID', async () => {
    await runTriage(
      { source: new MemoryStudySource(files), studyInstanceUid: series.studyInstanceUid },
      { analyzer: new NoLungsAnalyzer(), archive, reports },
      { ...options, tracer },
    ).catch(() => undefined);
    expect(byName(exporter.getFinishedSpans(), STUDY_SPAN).attributes[A.studyUid]).toBe(series.studyInstanceUid);
  });

  it('marks the failing step and the study as errors with the failure code, and runs no later step', async () => {
    const run = runTriage(
      { source: new MemoryStudySource(files) },
      { analyzer: new NoLungsAnalyzer(), archive, reports },
      { ...options, tracer },
    );
    await expect(run).rejects.toMatchObject({ code: 'NO_LUNGS_FOUND' });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).toSorted()).toEqual(['analyze', 'fetchStudy', STUDY_SPAN]);
    const study = byName(spans, STUDY_SPAN);
    const analyze = byName(spans, 'analyze');
    expect(byName(spans, 'fetchStudy').status.code).toBe(SpanStatusCode.UNSET);
    for (const span of [analyze, study]) {
      expect(span.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'NO_LUNGS_FOUND: no lung voxels in the volume',
      });
      expect(span.attributes[A.failureCode]).toBe('NO_LUNGS_FOUND');
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
    }
    expect(analyze.parentSpanContext?.spanId).toBe(study.spanContext().spanId);
    expect(study.attributes[A.outcome]).toBe('failed');
    expect(study.attributes[A.failedStep]).toBe('analyze');
    expect(study.attributes[A.studyUid]).toBe(series.studyInstanceUid);
  });

  it('records nothing without a tracer (the default)', async () => {
    await runTriage(
      { source: new MemoryStudySource(files) },
      { analyzer: new ThresholdAnalyzer(), archive, reports },
      options,
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
