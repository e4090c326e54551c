import type { SeriesCandidate } from '@app/dicom';

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
 * The memory of one study: `admit` reserves the chosen series' share (from headers, before
 * its volume is allocated or a pixel fetched), `release` gives it back. `release` is safe to
 * call whether or not a reservation was made, and more than once.
 */
export interface MemoryAdmission {
  admit(series: SeriesCandidate): Promise<void>;
  release(): void;
}

export function memoryAdmission(reserve: ReserveMemory | undefined, signal?: AbortSignal): MemoryAdmission {
  let release: (() => void) | undefined;
  return {
    async admit(series) {
      if (!reserve) return;
      release?.();
      release = await reserve(seriesFootprint(series), signal);
    },
    release() {
      const done = release;
      release = undefined;
      done?.();
    },
  };
}
