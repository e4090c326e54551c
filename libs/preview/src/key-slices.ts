/** The voxel grid and masks a preview reads: the CtVolume layout, voxel (i, j, k) at k·rows·columns + j·columns + i. */
export interface PreviewGrid {
  columns: number;
  rows: number;
  slices: number;
}

export interface PreviewMasks {
  rightLung: Uint8Array;
  leftLung: Uint8Array;
  lesion: Uint8Array;
}

export interface KeySlice {
  /** Slice index k in the volume. */
  k: number;
  lungVoxels: number;
  lesionVoxels: number;
}

export function assertMaskSizes(grid: PreviewGrid, masks: PreviewMasks): void {
  const voxels = grid.columns * grid.rows * grid.slices;
  for (const [name, mask] of Object.entries(masks)) {
    if (mask.length !== voxels) {
      throw new RangeError(`${name} mask has ${mask.length} voxels, the volume ${voxels}`);
    }
  }
}

/** Lung and lesion voxels of each slice. */
export function sliceCounts(grid: PreviewGrid, masks: PreviewMasks): KeySlice[] {
  assertMaskSizes(grid, masks);
  const area = grid.columns * grid.rows;
  const counts: KeySlice[] = [];
  for (let k = 0; k < grid.slices; k++) {
    let lungVoxels = 0;
    let lesionVoxels = 0;
    for (let p = k * area; p < (k + 1) * area; p++) {
      if (masks.rightLung[p] || masks.leftLung[p]) lungVoxels++;
      if (masks.lesion[p]) lesionVoxels++;
    }
    counts.push({ k, lungVoxels, lesionVoxels });
  }
  return counts;
}

/**
 * Up to `count` slices spread evenly over the lungs' extent (the whole volume when the
 * model found no lung): the extent is cut into `count` equal runs and each run shows its
 * slice with the most lesion, or its middle slice when it has none. So a reader sees
 * both the lungs' full height and the worst of the disease. Returned in volume order.
 */
export function chooseKeySlices(grid: PreviewGrid, masks: PreviewMasks, count: number): KeySlice[] {
  const counts = sliceCounts(grid, masks);
  const withLung = counts.filter((c) => c.lungVoxels > 0);
  const first = withLung.length > 0 ? withLung[0].k : 0;
  const last = withLung.length > 0 ? withLung.at(-1)!.k : grid.slices - 1;
  const extent = last - first + 1;
  const tiles = Math.max(1, Math.min(count, extent));
  const chosen: KeySlice[] = [];
  for (let b = 0; b < tiles; b++) {
    const start = first + Math.floor((b * extent) / tiles);
    const end = first + Math.floor(((b + 1) * extent) / tiles); // exclusive
    let pick = counts[start + Math.floor((end - start - 1) / 2)];
    for (let k = start; k < end; k++) {
      if (counts[k].lesionVoxels > pick.lesionVoxels) pick = counts[k];
    }
    chosen.push(pick);
  }
  return chosen;
}
