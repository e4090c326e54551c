/**
 * Injection tokens of the worker's adapters. Each names a port (an interface of a
 * library), so tests replace an adapter with `overrideProvider(TOKEN)`.
 */
export const APP_CONFIG = Symbol('AppConfig');
export const ANALYZER = Symbol('VolumeAnalyzer');
export const DICOMWEB_CLIENT = Symbol('DicomwebClient');
/** The FHIR server's AuthProvider: one token cache for the report index and the report sink. */
export const FHIR_AUTH = Symbol('FhirAuth');
export const ARCHIVE_INDEX = Symbol('ArchiveIndex');
export const ARCHIVE_SINK = Symbol('ArchiveSink');
export const REPORT_INDEX = Symbol('ReportIndex');
export const REPORT_SINK = Symbol('ReportSink');
export const STUDY_SOURCES = Symbol('StudySources');
export const RESULT_PUBLISHER = Symbol('ResultPublisher');
export const FRAME_DECODER = Symbol('FrameDecoder');
export const TRIAGE_TRACER = Symbol('TriageTracer');
export const DEPENDENCY_HEALTH = Symbol('DependencyHealth');
