import type { LungBox } from './lung-box.js';
import type { ModelDims, ResampledAxis } from './preprocess.js';

/**
 * Paper-method.md §4, first step: probabilities computed on the 2 mm grid are brought back
 * to the source grid by linear interpolation, inside the lung box only, and thresholded there.
 *
 * Geometry: resampleInPlane aligns pixel centres, so 2 mm index o sits at source coordinate
 * (o + ½)·scale − ½; inverted, source index x sits at 2 mm coordinate u = (x + ½)/scale − ½.
 * A source voxel is inside the box when its centre lies inside the box's physical extent,
 * i.e. boxStart ≤ u + ½ < boxStop. Only those voxels are computed; all others stay 0.
 *
 * The lesion probability exists only inside the box (the backbone saw the crop), so outside it
 * counts as 0: the paper's zero padding, which softens the box border by half a 2 mm pixel.
 * The lung probability exists on the whole 2 mm grid and is used as it is (edge-replicated
 * beyond the grid's first and last pixel centres).
 */

/** How the source indices of one model axis sample the 2 mm grid. */
export interface BackMapAxis {
  /** Source indices [start, stop) whose centres lie inside the box. */
  start: number;
  stop: number;
  /** Per source index in [start, stop): the 2 mm neighbours in the full grid, clamped to it. */
  gridLower: Int32Array;
  gridUpper: Int32Array;
  /** The same neighbours as box-local indices, or −1 outside the box (zero padding). */
  boxLower: Int32Array;
  boxUpper: Int32Array;
  /** Weight of the upper neighbour; the lower one gets 1 − frac. */
  frac: Float64Array;
}

export function backMapAxis(axis: ResampledAxis, boxStart: number, boxStop: number): BackMapAxis {
  const centre = (x: number) => (x + 0.5) / axis.scale; // = u + ½, in 2 mm pixels from the grid edge
  let start = 0;
  while (start < axis.inputLength && centre(start) < boxStart) start++;
  let stop = start;
  while (stop < axis.inputLength && centre(stop) < boxStop) stop++;
  const n = stop - start;
  const table: BackMapAxis = {
    start,
    stop,
    gridLower: new Int32Array(n),
    gridUpper: new Int32Array(n),
    boxLower: new Int32Array(n),
    boxUpper: new Int32Array(n),
    frac: new Float64Array(n),
  };
  const last = axis.outputLength - 1;
  const inBox = (o: number) => (o >= boxStart && o < boxStop ? o - boxStart : -1);
  for (let x = start; x < stop; x++) {
    const u = centre(x) - 0.5;
    const lower = Math.floor(u);
    const t = x - start;
    table.frac[t] = u - lower;
    table.gridLower[t] = Math.min(Math.max(lower, 0), last);
    table.gridUpper[t] = Math.min(Math.max(lower + 1, 0), last);
    table.boxLower[t] = inBox(lower);
    table.boxUpper[t] = inBox(lower + 1);
  }
  return table;
}

export interface BackMapInput {
  /** Source-resolution model layout: dims and the model → CtVolume index map (see toModelLayout). */
  layout: { dims: ModelDims; sourceIndex(r: number, c: number, s: number): number };
  /** The in-plane resampling that produced the 2 mm grid. */
  grid: { rows: ResampledAxis; cols: ResampledAxis };
  box: LungBox;
  /** P(lung) on the whole 2 mm grid, model layout. */
  lungProbability: Float32Array;
  /** P(lesion) on the box only, box-local model layout (box rows × box cols × box slices). */
  lesionProbability: Float32Array;
  thresholds: { lungs: number; lesions: number };
}

/** 0/1 masks in the CtVolume layout; the lesion mask is restricted to the lung mask. */
export interface SourceMasks {
  lung: Uint8Array;
  lesion: Uint8Array;
}

export function backMapMasks(input: BackMapInput): SourceMasks {
  const { layout, grid, box, lungProbability, lesionProbability, thresholds } = input;
  const { rows, cols, slices } = layout.dims;
  const rowMap = backMapAxis(grid.rows, box.rows[0], box.rows[1]);
  const colMap = backMapAxis(grid.cols, box.cols[0], box.cols[1]);
  const gridCols = grid.cols.outputLength;
  const gridPlane = grid.rows.outputLength * gridCols;
  const boxCols = box.cols[1] - box.cols[0];
  const boxPlane = (box.rows[1] - box.rows[0]) * boxCols;
  if (lungProbability.length !== gridPlane * slices) throw new RangeError('lung probability does not fit the grid');
  if (lesionProbability.length !== boxPlane * (box.slices[1] - box.slices[0])) {
    throw new RangeError('lesion probability does not fit the lung box');
  }
  const lung = new Uint8Array(rows * cols * slices);
  const lesion = new Uint8Array(rows * cols * slices);
  const lesionAt = (base: number, r: number, c: number) =>
    r < 0 || c < 0 ? 0 : lesionProbability[base + r * boxCols + c];

  for (let s = box.slices[0]; s < box.slices[1]; s++) {
    const gridBase = s * gridPlane;
    const boxBase = (s - box.slices[0]) * boxPlane;
    for (let ri = 0; ri < rowMap.stop - rowMap.start; ri++) {
      const fr = rowMap.frac[ri];
      const gTop = gridBase + rowMap.gridLower[ri] * gridCols;
      const gBottom = gridBase + rowMap.gridUpper[ri] * gridCols;
      const bTop = rowMap.boxLower[ri];
      const bBottom = rowMap.boxUpper[ri];
      for (let ci = 0; ci < colMap.stop - colMap.start; ci++) {
        const fc = colMap.frac[ci];
        const gl = colMap.gridLower[ci];
        const gu = colMap.gridUpper[ci];
        const lungTop = lungProbability[gTop + gl] * (1 - fc) + lungProbability[gTop + gu] * fc;
        const lungBottom = lungProbability[gBottom + gl] * (1 - fc) + lungProbability[gBottom + gu] * fc;
        if (!(lungTop * (1 - fr) + lungBottom * fr > thresholds.lungs)) continue;
        const q = layout.sourceIndex(rowMap.start + ri, colMap.start + ci, s);
        lung[q] = 1;
        const bl = colMap.boxLower[ci];
        const bu = colMap.boxUpper[ci];
        const top = lesionAt(boxBase, bTop, bl) * (1 - fc) + lesionAt(boxBase, bTop, bu) * fc;
        const bottom = lesionAt(boxBase, bBottom, bl) * (1 - fc) + lesionAt(boxBase, bBottom, bu) * fc;
        if (top * (1 - fr) + bottom * fr > thresholds.lesions) lesion[q] = 1;
      }
    }
  }
  return { lung, lesion };
}
