import type { DicomObjectRef, RejectedSeries } from '@app/dicom';
import type { InferenceTimings } from '@app/inference';
import type { ModelIdentity, TriageMeasurements, TriagePriorityLevel } from '@app/triage-contracts';
import type { UnreadableInstance } from '@app/ingest';
import type { EncodedSegmentation } from '@app/seg';
import type { ReportReceipt } from './ports.js';

/** The named steps of the pipeline, in order. */
export const STEP_NAMES = ['fetchStudy', 'analyze', 'encodeSeg', 'encodeSr', 'storeObjects', 'writeReport'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** A DICOM object we stored, as the events and the FHIR report reference it. */
export interface StoredDicomObject extends DicomObjectRef {
  /** Where it was stored (archive URL or file path). */
  location: string;
  /** The archive already held it: this study was processed before. */
  duplicate: boolean;
}

/** Wall-clock milliseconds of each step, plus the inference's own breakdown. */
export type StepTimings = Record<`${StepName}Ms`, number> & { totalMs: number; inference?: InferenceTimings };

/** Everything one triage produced, without the bulky arrays (volume, masks, bytes). */
export interface TriageOutcome {
  studyInstanceUid: string;
  /** The CT series the model analysed, and why it was chosen. */
  series: { seriesInstanceUid: string; reason: string; slices: number; columns: number; rows: number };
  rejectedSeries: RejectedSeries[];
  unreadable: UnreadableInstance[];
  model: ModelIdentity;
  measurements: TriageMeasurements;
  priority: TriagePriorityLevel;
  segmentation: StoredDicomObject & Pick<EncodedSegmentation, 'frameCount' | 'segments'>;
  structuredReport: StoredDicomObject;
  report: ReportReceipt;
  timings: StepTimings;
}
