import type { Part10File, RejectedSeries, SeriesCandidate } from '@app/dicom';

/** A file or instance that could not be read, with why; never fatal on its own. */
export interface UnreadableInstance {
  /** A file name or an instance UID: never patient data. */
  name: string;
  reason: string;
}

export interface StudyInventory {
  studyInstanceUid: string;
  series: SeriesCandidate[];
  unreadable: UnreadableInstance[];
}

/**
 * Where a study's instances come from: a folder of files or a DICOMweb archive.
 * The inventory holds headers only; `instances` then brings one series' full
 * instances one at a time, so a whole series is never held in memory at once.
 */
export interface StudySource {
  /** For logs and output: a folder path or a URL without credentials. */
  readonly label: string;
  inventory(): Promise<StudyInventory>;
  instances(series: SeriesCandidate): AsyncIterable<Part10File>;
}

export type { RejectedSeries };
