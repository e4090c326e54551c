/**
 * The triage pipeline: one study in, SEG + SR + FHIR report out, as named steps with
 * small ports (archive sink, report sink, analyzer). Used by the worker and the CLI.
 */
export { DicomwebArchiveSink } from './adapters/dicomweb-archive-sink.js';
export { FhirReportSink } from './adapters/fhir-report-sink.js';
export { BundleFileReportSink, FolderArchiveSink } from './adapters/file-sinks.js';
export { DicomwebArchiveIndex, FhirReportIndex } from './adapters/prior-triage-indexes.js';
export type { FhirReportIndexOptions } from './adapters/prior-triage-indexes.js';
export { memoryAdmission, seriesFootprint } from './memory-reservation.js';
export type { MemoryAdmission, ReserveMemory, SeriesFootprint } from './memory-reservation.js';
export { findPriorTriage, ownOutputSeries } from './prior-triage.js';
export type { ArchiveIndex, IndexedSeries, PriorTriage, ReportIndex } from './prior-triage.js';
export type { ArchiveReceipt, ArchiveSink, ReportReceipt, ReportSink } from './ports.js';
export { STEP_NAMES } from './triage-outcome.js';
export type { StepName, StepTimings, TriageOutcome, StoredDicomObject } from './triage-outcome.js';
export {
  analyze,
  buildReport,
  encodeSeg,
  encodeSr,
  fetchStudy,
  runTriage,
  storeObjects,
  writeReport,
} from './triage-pipeline.js';
export type { PipelineLog, TriageInput, TriageOptions, TriagePorts } from './triage-pipeline.js';
export { NO_TRACING } from './triage-tracer.js';
export type { FetchedStudy, StudyTrace, StudyTraceStart, TriageTracer } from './triage-tracer.js';
