import {
  DEFAULT_SANITY_RULES,
  DEFAULT_SELECTION_RULES,
  DEFAULT_TOLERANCES,
  inThreadDecoder,
  planVolume,
  selectSeries,
  VolumeBuilder,
  type CtVolume,
  type DicomAttributes,
  type FrameDecoder,
  type GeometryTolerances,
  type SeriesCandidate,
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
  /** Decodes frames; a pool of threads decodes as many instances at once as it has threads. */
  decoder: FrameDecoder;
  /**
   * Admits the chosen series (headers only) before its volume is allocated or any pixel is
   * fetched: may wait for memory, or throw when it is too large. Default: admits everything.
   */
  admit: (series: SeriesCandidate) => Promise<void>;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  selection: DEFAULT_SELECTION_RULES,
  tolerances: DEFAULT_TOLERANCES,
  sanity: DEFAULT_SANITY_RULES,
  log: () => undefined,
  decoder: inThreadDecoder,
  admit: async () => undefined,
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
  await options.admit(series);
  const plan = planVolume(series.instances, options.tolerances);
  const builder = new VolumeBuilder(plan, options.decoder);
  await forEachConcurrently(source.instances(series), options.decoder.threads, (file) => builder.addInstance(file));
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

/**
 * Runs `work` on the items as they arrive, at most `limit` at once, so that memory
 * holds at most `limit` instances. The first failure stops the loop and is thrown
 * once the items already started have settled (none is left unhandled).
 */
async function forEachConcurrently<T>(items: AsyncIterable<T>, limit: number, work: (item: T) => Promise<void>) {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for await (const item of items) {
    const task = work(item).then(
      () => undefined,
      (error: unknown) => {
        failure ??= { error };
      },
    );
    running.add(task);
    void task.finally(() => running.delete(task));
    if (running.size >= limit) await Promise.race(running);
    if (failure) break;
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}
