import {
  DEFAULT_SANITY_RULES,
  DEFAULT_SELECTION_RULES,
  DEFAULT_TOLERANCES,
  planVolume,
  selectSeries,
  VolumeBuilder,
  type CtVolume,
  type DicomAttributes,
  type GeometryTolerances,
  type SeriesSelection,
  type SeriesSelectionRules,
  type VolumeSanityRules,
} from '@app/dicom';
import type { StudySource, UnreadableInstance } from './study-source.js';

export interface IngestOptions {
  selection: SeriesSelectionRules;
  tolerances: GeometryTolerances;
  sanity: VolumeSanityRules;
  /** One line per decision worth a log line (rejected series, unreadable files, warnings); UIDs only, no PHI. */
  log: (line: string) => void;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  selection: DEFAULT_SELECTION_RULES,
  tolerances: DEFAULT_TOLERANCES,
  sanity: DEFAULT_SANITY_RULES,
  log: () => undefined,
};

export interface IngestedStudy {
  studyInstanceUid: string;
  selection: SeriesSelection;
  volume: CtVolume;
  /** One instance of the chosen series: the patient and study modules the outputs copy. */
  sourceInstance: DicomAttributes;
  unreadable: UnreadableInstance[];
}

/** Inventory → choose the series → plan its geometry → decode it into a HU volume → sanity-check. */
export async function ingestStudy(source: StudySource, overrides: Partial<IngestOptions> = {}): Promise<IngestedStudy> {
  const options = { ...DEFAULT_INGEST_OPTIONS, ...overrides };
  const inventory = await source.inventory();
  for (const { name, reason } of inventory.unreadable) options.log(`unreadable instance ${name}: ${reason}`);
  const selection = selectSeries(inventory.series, options.selection);
  for (const { seriesInstanceUid, reason } of selection.rejected)
    options.log(`series ${seriesInstanceUid} rejected: ${reason}`);
  const { seriesInstanceUid, reason } = selection.selected;
  options.log(`series ${seriesInstanceUid} chosen: ${reason}`);
  const series = inventory.series.find((s) => s.seriesInstanceUid === seriesInstanceUid)!;
  const plan = planVolume(series.instances, options.tolerances);
  const builder = new VolumeBuilder(plan);
  for await (const file of source.instances(series)) await builder.addInstance(file);
  const volume = builder.finish(options.sanity);
  for (const warning of volume.warnings) options.log(`series ${seriesInstanceUid}: ${warning}`);
  return {
    studyInstanceUid: inventory.studyInstanceUid,
    selection,
    volume,
    sourceInstance: series.instances[0],
    unreadable: inventory.unreadable,
  };
}
