import type { ModelIdentity } from '@app/triage-contracts';
import type { StepName } from './triage-outcome.js';

/**
 * What runTriage tells an observer (traces, metrics) about one study: a port of our own, so
 * the pipeline does not depend on a telemetry vendor. @app/telemetry implements it with
 * OpenTelemetry; the default does nothing.
 *
 * Only UIDs, codes and counts go through it: never patient data, and never the clinical
 * result (probability, severity, priority) either.
 */
export interface StudyTraceStart {
  /** Known before the study is fetched when the caller has it (the worker: from the event). */
  studyInstanceUid?: string;
  model: ModelIdentity;
  /** Aborted by shutdown: a failure then counts as interrupted, not failed. */
  signal?: AbortSignal;
}

export interface StudyTrace {
  /** Runs one named step inside the study's trace; rethrows what the step throws. */
  step<T>(name: StepName, work: () => Promise<T>): Promise<T>;
  /** The study is in memory: its UIDs and size (UIDs are correlation ids, not patient data). */
  fetched(study: FetchedStudy): void;
}

export interface FetchedStudy {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  slices: number;
}

export interface TriageTracer {
  /** Runs the triage of one study inside its trace; resolves or rejects as `run` does. */
  study<T>(start: StudyTraceStart, run: (trace: StudyTrace) => Promise<T>): Promise<T>;
}

const UNTRACED_STUDY: StudyTrace = { step: (_name, work) => work(), fetched: () => undefined };

/** The default: no spans, no metrics, no cost. */
export const NO_TRACING: TriageTracer = { study: (_start, run) => run(UNTRACED_STUDY) };
