import {
  dicomObjectRef,
  type DicomAttributes,
  type EncodedDicomObject,
  type Equipment,
  type FrameDecoder,
} from '@app/dicom';
import { buildTriageBundle } from '@app/fhir';
import type { TriageAnalysis, VolumeAnalyzer } from '@app/inference';
import { ingestStudy, type IngestedStudy, type StudySource } from '@app/ingest';
import {
  COVID_LESION,
  encodeSegmentation,
  LEFT_LUNG,
  RIGHT_LUNG,
  segmentNumberOf,
  type EncodedSegmentation,
} from '@app/seg';
import { encodeMeasurementReport } from '@app/sr';
import { DEFAULT_PRIORITY_RULES, triagePriority, type ModelIdentity, type PriorityRules } from '@app/triage-contracts';
import { memoryAdmission, type MemoryAdmission, type ReserveMemory } from './memory-reservation.js';
import type { ArchiveReceipt, ArchiveSink, ReportReceipt, ReportSink } from './ports.js';
import type { StepName, StepTimings, StoredDicomObject, TriageOutcome } from './triage-outcome.js';
import { NO_TRACING, type StudyTrace, type TriageTracer } from './triage-tracer.js';

/**
 * The triage of one study, step by step:
 *
 *   fetchStudy → analyze → encodeSeg → encodeSr → storeObjects → writeReport → TriageOutcome
 *
 * Every effect is idempotent: the SEG and SR UIDs depend only on the source series and the
 * model, and the FHIR bundle is made of conditional creates, so running a study twice
 * leaves one SEG, one SR and one report. The worker (Kafka) and the CLI (files) run this
 * same code with different ports.
 */

export interface TriagePorts {
  analyzer: VolumeAnalyzer;
  archive: ArchiveSink;
  reports: ReportSink;
}

export interface TriageInput {
  source: StudySource;
  /** The study the caller expects (the worker: from the event), so its trace names it from the start. */
  studyInstanceUid?: string;
}

export type PipelineLog = (message: string, fields?: Record<string, unknown>) => void;

export interface TriageOptions {
  /** Our identifier system for FHIR (a URI we own). */
  identifierSystem: string;
  decoder?: FrameDecoder;
  /** One line per decision or step; UIDs only, never patient data. */
  log?: PipelineLog;
  /**
   * Checked between steps up to the encoding: an aborted triage stops at the next step. Once
   * write-back has begun it runs to the end (bounded by the ports' own timeouts).
   */
  signal?: AbortSignal;
  /**
   * Called just before the write-back begins; throws to stop the study there (the worker: the
   * Kafka partition was lost to another member, which redoes the study).
   */
  beforeWriteBack?: () => void;
  /** Admits the chosen series into memory before any pixel is fetched (backpressure, size cap). */
  reserveMemory?: ReserveMemory;
  priority?: PriorityRules;
  /** Content date and time of the SEG, SR and report; default now. */
  now?: () => Date;
  equipment?: Partial<Equipment>;
  /** Called once the analysis is done, with the volume and masks (e.g. for the CLI's preview image). */
  onAnalyzed?: (study: IngestedStudy, analysis: TriageAnalysis) => void | Promise<void>;
  /** One trace per study with a span per step, and metrics (@app/telemetry); default: none. */
  tracer?: TriageTracer;
}

/** Runs every step; throws the first step's TriageError (TransientError or PermanentError). */
export function runTriage(input: TriageInput, ports: TriagePorts, options: TriageOptions): Promise<TriageOutcome> {
  const tracer = options.tracer ?? NO_TRACING;
  const start = {
    model: ports.analyzer.model,
    ...(input.studyInstanceUid ? { studyInstanceUid: input.studyInstanceUid } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return tracer.study(start, (trace) => triageStudy(input, ports, options, trace));
}

async function triageStudy(
  input: TriageInput,
  ports: TriagePorts,
  options: TriageOptions,
  trace: StudyTrace,
): Promise<TriageOutcome> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const timings: Partial<StepTimings> = {};
  // Write-back (storeObjects, writeReport) is not interruptible: a report written while the
  // caller gave up would make the redelivered event look done without its answer ever sent.
  const step = async <T>(name: StepName, work: () => T | Promise<T>, interruptible = true): Promise<T> => {
    if (interruptible) options.signal?.throwIfAborted();
    const begin = performance.now();
    const result = await trace.step(name, async () => work());
    timings[`${name}Ms`] = Math.round(performance.now() - begin);
    log(`step ${name} done`, { step: name, ms: timings[`${name}Ms`] });
    return result;
  };

  const memory = memoryAdmission(options.reserveMemory, options.signal);
  let encoded: Encoded;
  try {
    encoded = await decodeAnalyzeEncode(input.source, ports, options, memory, step, trace);
  } finally {
    // The volume and masks were local to decodeAnalyzeEncode: nothing refers to them any more,
    // so the memory reserved for them really is free before the slow network steps.
    memory.release();
  }
  options.signal?.throwIfAborted();
  options.beforeWriteBack?.();
  const { seg, sr, bundle, summary, inference } = encoded;
  timings.inference = inference;
  const stored = await step('storeObjects', () => storeObjects(ports.archive, [seg, sr]), false);
  const report = await step('writeReport', () => writeReport(ports.reports, bundle), false);
  return {
    ...summary,
    priority: triagePriority(summary.measurements, options.priority ?? DEFAULT_PRIORITY_RULES),
    segmentation: { ...storedRef(seg, stored, 0), frameCount: seg.frameCount, segments: seg.segments },
    structuredReport: storedRef(sr, stored, 1),
    report,
    timings: { ...(timings as StepTimings), totalMs: Math.round(performance.now() - started) },
  };
}

type Step = <T>(name: StepName, work: () => T | Promise<T>, interruptible?: boolean) => Promise<T>;

/** What the write-back needs: the encoded objects, the report and the small facts of the outcome. */
interface Encoded {
  seg: EncodedSegmentation;
  sr: EncodedDicomObject;
  bundle: fhir4.Bundle;
  inference: TriageAnalysis['timings'];
  summary: Pick<
    TriageOutcome,
    'studyInstanceUid' | 'series' | 'rejectedSeries' | 'unreadable' | 'model' | 'measurements'
  >;
}

/** fetchStudy → analyze → encodeSeg → encodeSr: the steps that hold the volume and the masks. */
async function decodeAnalyzeEncode(
  source: StudySource,
  ports: TriagePorts,
  options: TriageOptions,
  memory: MemoryAdmission,
  step: Step,
  trace: StudyTrace,
): Promise<Encoded> {
  const study = await step('fetchStudy', () =>
    fetchStudy(source, { ...options, admit: (series) => memory.admit(series) }),
  );
  const { geometry } = study.volume;
  trace.fetched({
    studyInstanceUid: study.studyInstanceUid,
    seriesInstanceUid: study.selection.selected.seriesInstanceUid,
    slices: geometry.slices,
  });
  const analysis = await step('analyze', () => analyze(ports.analyzer, study));
  await options.onAnalyzed?.(study, analysis);
  const now = (options.now ?? (() => new Date()))();
  const seg = await step('encodeSeg', () => encodeSeg(study, analysis, ports.analyzer.model, { ...options, now }));
  const sr = await step('encodeSr', () => encodeSr(study, analysis, seg, { ...options, now }));
  const bundle = buildReport(study, analysis, seg, sr, { identifierSystem: options.identifierSystem, now });
  const { measurements } = analysis;
  return {
    seg,
    sr,
    bundle,
    inference: analysis.timings,
    summary: {
      studyInstanceUid: study.studyInstanceUid,
      series: {
        seriesInstanceUid: study.selection.selected.seriesInstanceUid,
        reason: study.selection.selected.reason,
        slices: geometry.slices,
        columns: geometry.columns,
        rows: geometry.rows,
      },
      rejectedSeries: study.selection.rejected,
      unreadable: study.unreadable,
      model: measurements.model,
      measurements,
    },
  };
}

// ---------------------------------------------------------------- the steps

/** QIDO/WADO (or a folder) → the chosen axial CT series as a HU volume. */
export function fetchStudy(
  source: StudySource,
  options: Pick<TriageOptions, 'decoder' | 'log'> & { admit?: MemoryAdmission['admit'] } = {},
): Promise<IngestedStudy> {
  const log = options.log;
  return ingestStudy(source, {
    ...(options.admit ? { admit: options.admit } : {}),
    ...(options.decoder ? { decoder: options.decoder } : {}),
    ...(log ? { log: (line: string) => log(line, { step: 'fetchStudy' }) } : {}),
  });
}

/** The model: lungs, lesions, probability and severity. */
export function analyze(analyzer: VolumeAnalyzer, study: IngestedStudy): Promise<TriageAnalysis> {
  return analyzer.analyze(study.volume);
}

/** The masks as a DICOM SEG (BINARY) with deterministic UIDs. */
export function encodeSeg(
  study: IngestedStudy,
  analysis: TriageAnalysis,
  model: ModelIdentity,
  options: Pick<TriageOptions, 'equipment'> & { now?: Date } = {},
): EncodedSegmentation {
  const { masks } = analysis;
  return encodeSegmentation({
    volume: study.volume,
    sourceInstance: study.sourceInstance,
    algorithm: { id: model.id, name: model.name, version: model.version },
    segments: [
      { ...LEFT_LUNG, mask: masks.leftLung },
      { ...RIGHT_LUNG, mask: masks.rightLung },
      { ...COVID_LESION, mask: masks.lesion },
    ],
    options: {
      ...(options.now ? { contentDateTime: options.now } : {}),
      ...(options.equipment ? { equipment: options.equipment } : {}),
    },
  });
}

/**
 * The measurements as a TID 1500 SR referencing the SEG, with deterministic UIDs. The SR's
 * segment numbers are read off the SEG as encoded, so they follow whatever order encodeSeg chose.
 */
export function encodeSr(
  study: IngestedStudy,
  analysis: TriageAnalysis,
  seg: EncodedSegmentation,
  options: Pick<TriageOptions, 'equipment'> & { now?: Date } = {},
): EncodedDicomObject {
  const sources = new Map<string, { sopClassUid: string; sopInstanceUid: string }>();
  for (const { source } of study.volume.slices) {
    sources.set(source.sopInstanceUid, { sopClassUid: source.sopClassUid, sopInstanceUid: source.sopInstanceUid });
  }
  return encodeMeasurementReport({
    sourceInstance: study.sourceInstance,
    sourceSeries: { seriesInstanceUid: study.selection.selected.seriesInstanceUid, instances: [...sources.values()] },
    segmentation: {
      ...dicomObjectRef(seg),
      segmentNumbers: {
        leftLung: segmentNumberOf(seg, LEFT_LUNG),
        rightLung: segmentNumberOf(seg, RIGHT_LUNG),
        lesion: segmentNumberOf(seg, COVID_LESION),
      },
    },
    measurements: analysis.measurements,
    options: {
      ...(options.now ? { contentDateTime: options.now } : {}),
      ...(options.equipment ? { equipment: options.equipment } : {}),
    },
  });
}

/** SEG then SR into the archive (the SR references the SEG). */
export function storeObjects(
  archive: ArchiveSink,
  objects: readonly EncodedDicomObject[],
  signal?: AbortSignal,
): Promise<ArchiveReceipt> {
  return archive.store(objects, signal ? { signal } : {});
}

/** The FHIR transaction Bundle of the result (conditional creates on deterministic identifiers). */
export function buildReport(
  study: IngestedStudy,
  analysis: TriageAnalysis,
  seg: EncodedDicomObject,
  sr: EncodedDicomObject,
  options: { identifierSystem: string; now: Date },
): fhir4.Bundle {
  const source = study.sourceInstance;
  const accessionNumber = source.string('AccessionNumber');
  const studyDate = fhirDate(source.string('StudyDate'));
  return buildTriageBundle({
    study: {
      studyInstanceUid: study.studyInstanceUid,
      seriesInstanceUid: study.selection.selected.seriesInstanceUid,
      ...(accessionNumber ? { accessionNumber } : {}),
      ...(studyDate ? { studyDateTime: studyDate } : {}),
    },
    patient: patientOf(source, study.studyInstanceUid, options.identifierSystem),
    measurements: analysis.measurements,
    seg: dicomObjectRef(seg),
    sr: dicomObjectRef(sr),
    timestamp: options.now,
    identifierSystem: options.identifierSystem,
  });
}

/** The bundle to the FHIR server (or a file). */
export function writeReport(reports: ReportSink, bundle: fhir4.Bundle, signal?: AbortSignal): Promise<ReportReceipt> {
  return reports.write(bundle, signal ? { signal } : {});
}

// ---------------------------------------------------------------- helpers

function storedRef(object: EncodedDicomObject, receipt: ArchiveReceipt, index: number): StoredDicomObject {
  const stored = receipt.objects.find((o) => o.sopInstanceUid === object.sopInstanceUid) ?? receipt.objects[index];
  return {
    ...dicomObjectRef(object),
    location: stored?.location ?? '',
    duplicate: stored?.duplicate ?? false,
  };
}

/** DICOM DA (YYYYMMDD) → FHIR date (YYYY-MM-DD); a time would need a zone the DICOM rarely states. */
function fhirDate(da: string | undefined): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(da?.trim() ?? '');
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

/**
 * The PatientID and its issuer only. A de-identified study without a PatientID gets a
 * per-study placeholder identifier, so that its report can still be filed.
 */
function patientOf(source: DicomAttributes, studyInstanceUid: string, identifierSystem: string) {
  const value = source.string('PatientID')?.trim();
  if (!value)
    return { value: studyInstanceUid, system: `${identifierSystem.replace(/\/+$/, '')}/study-without-patient-id` };
  const issuer = source.string('IssuerOfPatientID')?.trim();
  return { value, ...(issuer ? { issuer } : {}) };
}
