import {
  DEFAULT_SANITY_RULES,
  DEFAULT_SELECTION_RULES,
  DEFAULT_TOLERANCES,
  planVolume,
  selectSeries,
  VolumeBuilder,
  type CtVolume,
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
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  selection: DEFAULT_SELECTION_RULES,
  tolerances: DEFAULT_TOLERANCES,
  sanity: DEFAULT_SANITY_RULES,
};

export interface IngestedStudy {
  studyInstanceUid: string;
  selection: SeriesSelection;
  volume: CtVolume;
  unreadable: UnreadableInstance[];
}

/** Inventory → choose the series → plan its geometry → decode it into a HU volume → sanity-check. */
export async function ingestStudy(
  source: StudySource,
  options: IngestOptions = DEFAULT_INGEST_OPTIONS,
): Promise<IngestedStudy> {
  const inventory = await source.inventory();
  const selection = selectSeries(inventory.series, options.selection);
  const series = inventory.series.find((s) => s.seriesInstanceUid === selection.selected.seriesInstanceUid)!;
  const plan = planVolume(series.instances, options.tolerances);
  const builder = new VolumeBuilder(plan);
  for await (const file of source.instances(series)) await builder.addInstance(file);
  return {
    studyInstanceUid: inventory.studyInstanceUid,
    selection,
    volume: builder.finish(options.sanity),
    unreadable: inventory.unreadable,
  };
}
