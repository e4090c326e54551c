import type { SeriesCandidate } from '@app/dicom';
import type { StudySource } from '@app/ingest';

/** The size of the series the pipeline is about to decode, known from headers only. */
export interface SeriesFootprint {
  seriesInstanceUid: string;
  /** Voxels of the volume (rows × columns × frames, summed over the instances). */
  voxels: number;
}

/**
 * Admits a series into memory: may wait until enough is free (backpressure) or throw
 * (too large for this process). Resolves to the function that gives the memory back.
 */
export type ReserveMemory = (footprint: SeriesFootprint, signal?: AbortSignal) => Promise<() => void>;

export function seriesFootprint(series: SeriesCandidate): SeriesFootprint {
  let voxels = 0;
  for (const instance of series.instances) {
    const frames = instance.number('NumberOfFrames') ?? 1;
    voxels += (instance.number('Rows') ?? 0) * (instance.number('Columns') ?? 0) * Math.max(1, frames);
  }
  return { seriesInstanceUid: series.seriesInstanceUid, voxels };
}

/**
 * Wraps a study source so that the chosen series' memory is reserved after the series
 * is selected (headers only) and before its first pixel is fetched. `release` is safe
 * to call whether or not a reservation was made, and more than once.
 */
export function withMemoryReservation(
  source: StudySource,
  reserve: ReserveMemory,
  signal?: AbortSignal,
): { source: StudySource; release: () => void } {
  let release: (() => void) | undefined;
  const guarded: StudySource = {
    label: source.label,
    inventory: () => source.inventory(),
    async *instances(series) {
      release?.();
      release = await reserve(seriesFootprint(series), signal);
      yield* source.instances(series);
    },
  };
  return {
    source: guarded,
    release: () => {
      const done = release;
      release = undefined;
      done?.();
    },
  };
}
