import type { CtVolume } from '@app/dicom';
import { PermanentError } from '@app/errors';

/**
 * Preprocessing of paper-method.md §3, steps 1–3: array layout, in-plane resampling
 * to 2 × 2 mm, HU window. Lung crop and inference live elsewhere.
 *
 * Memory layout of every model-layout array here: a stack of slices, each a row-major
 * (rows × cols) image, i.e. value (r, c, s) is at `data[s * rows * cols + r * cols + c]`.
 * That is the paper's (rows, cols, slices) volume with the slice axis outermost, so
 * slice s is one contiguous [1, 1, rows, cols] tensor for the ONNX graphs.
 */

/** The volume is not an axial stack: the model's position-specific layout cannot be built. */
export class NonAxialVolumeError extends PermanentError {
  constructor(message: string) {
    super('INVALID_GEOMETRY', message);
  }
}

export interface ModelDims {
  rows: number;
  cols: number;
  slices: number;
}

/** Which source axis (0 = i, 1 = j, 2 = k of CtVolume) a model axis runs along, and whether reversed. */
export interface AxisMapping {
  sourceAxis: 0 | 1 | 2;
  flipped: boolean;
}

export interface ModelLayoutVolume {
  /** HU in model layout (see the file comment). */
  data: Float32Array;
  dims: ModelDims;
  /** Spacing between rows, between cols, between slices, mm. */
  spacing: [number, number, number];
  /** For model rows (A→P), cols (R→L), slices (head→feet): the source axis and direction. */
  axes: [AxisMapping, AxisMapping, AxisMapping];
  /** Source (CtVolume) linear index of model voxel (r, c, s). */
  sourceIndex(r: number, c: number, s: number): number;
  /** Scatters a model-layout array (a mask, a probability map) back into the CtVolume's (i, j, k) layout. */
  toSourceLayout<T extends Float32Array | Uint8Array>(modelData: T): T;
}

/**
 * A direction vector must lie within about 37° of a patient axis (dominant component ≥ 0.8);
 * axial series are at most a few degrees off, gantry tilt included.
 */
const AXIS_ALIGNMENT = 0.8;
/** LPS component that the model axis increases along: rows +Y (posterior), cols +X (left), slices −Z (feet). */
const MODEL_AXES: readonly { lps: 0 | 1 | 2; sign: 1 | -1; label: string }[] = [
  { lps: 1, sign: 1, label: 'rows anterior→posterior' },
  { lps: 0, sign: 1, label: 'cols right→left' },
  { lps: 2, sign: -1, label: 'slices head→feet' },
];

function dominantAxis(v: readonly number[]): { lps: 0 | 1 | 2; sign: 1 | -1; magnitude: number } {
  let lps: 0 | 1 | 2 = 0;
  for (const a of [1, 2] as const) if (Math.abs(v[a]) > Math.abs(v[lps])) lps = a;
  return { lps, sign: v[lps] < 0 ? -1 : 1, magnitude: Math.abs(v[lps]) };
}

/**
 * Reorders an axial CtVolume into the paper's layout (rows anterior→posterior, cols
 * patient right→left, slices head→feet) from its direction vectors: any in-plane
 * flip or transpose, head-first or feet-first slice order. Refuses anything whose
 * slice direction is not head–foot.
 */
export function toModelLayout(volume: CtVolume): ModelLayoutVolume {
  const { columns, rows, slices, directions, spacing } = volume.geometry;
  const sourceSizes = [columns, rows, slices];
  const sourceStrides = [1, columns, rows * columns];
  const dominant = directions.map(dominantAxis);
  const names = ['row direction (i)', 'column direction (j)', 'slice direction (k)'];
  dominant.forEach((d, axis) => {
    if (d.magnitude < AXIS_ALIGNMENT) {
      throw new NonAxialVolumeError(
        `${names[axis]} ${JSON.stringify(directions[axis])} is oblique: not an axial series`,
      );
    }
  });
  if (dominant[2].lps !== 2) {
    throw new NonAxialVolumeError(
      `slice direction ${JSON.stringify(directions[2])} is not head–foot: a ${dominant[2].lps === 0 ? 'sagittal' : 'coronal'} series, not axial`,
    );
  }
  const axes = MODEL_AXES.map((model) => {
    const sourceAxis = dominant.findIndex((d) => d.lps === model.lps);
    if (sourceAxis < 0) throw new NonAxialVolumeError(`no volume axis runs along ${model.label}`);
    return { sourceAxis: sourceAxis as 0 | 1 | 2, flipped: dominant[sourceAxis].sign !== model.sign };
  }) as [AxisMapping, AxisMapping, AxisMapping];

  const dims: ModelDims = {
    rows: sourceSizes[axes[0].sourceAxis],
    cols: sourceSizes[axes[1].sourceAxis],
    slices: sourceSizes[axes[2].sourceAxis],
  };
  // source index = base + r * step[0] + c * step[1] + s * step[2]
  const modelSizes = [dims.rows, dims.cols, dims.slices];
  let base = 0;
  const step = axes.map(({ sourceAxis, flipped }, m) => {
    const stride = sourceStrides[sourceAxis];
    if (!flipped) return stride;
    base += (modelSizes[m] - 1) * stride;
    return -stride;
  });
  const sourceIndex = (r: number, c: number, s: number) => base + r * step[0] + c * step[1] + s * step[2];

  const forEachVoxel = (visit: (modelIndex: number, sourceIndex: number) => void) => {
    let p = 0;
    for (let s = 0; s < dims.slices; s++) {
      for (let r = 0; r < dims.rows; r++) {
        let q = base + s * step[2] + r * step[0];
        for (let c = 0; c < dims.cols; c++, p++, q += step[1]) visit(p, q);
      }
    }
  };

  // Only the size is captured by the closures below, so a caller may drop `data` once resampled.
  const size = columns * rows * slices;
  const data = new Float32Array(size);
  const hu = volume.hu;
  forEachVoxel((p, q) => {
    data[p] = hu[q];
  });

  return {
    data,
    dims,
    spacing: [spacing[axes[0].sourceAxis], spacing[axes[1].sourceAxis], spacing[axes[2].sourceAxis]],
    axes,
    sourceIndex,
    toSourceLayout<T extends Float32Array | Uint8Array>(modelData: T): T {
      if (modelData.length !== size) {
        throw new RangeError(`model-layout array has ${modelData.length} values, expected ${size}`);
      }
      const out = new (modelData.constructor as new (length: number) => T)(modelData.length);
      forEachVoxel((p, q) => {
        out[q] = modelData[p];
      });
      return out;
    },
  };
}

/**
 * How an output axis of resampleInPlane samples its input axis: output index o sits at
 * input coordinate `(o + 0.5) * scale - 0.5` (scale = target / input spacing).
 */
export interface ResampledAxis {
  inputLength: number;
  outputLength: number;
  scale: number;
}

export interface ResampledVolume {
  data: Float32Array;
  dims: ModelDims;
  /** Row and col spacing of the output, mm (the slice spacing is unchanged). */
  spacing: [number, number];
  rows: ResampledAxis;
  cols: ResampledAxis;
  fill: number;
}

/** Input coordinate of output index o. */
export const sourceCoordinate = (axis: ResampledAxis, o: number) => (o + 0.5) * axis.scale - 0.5;

/** Within this of the first or last input sample a coordinate counts as inside (float round-off). */
const EDGE_EPSILON = 1e-6;

function planAxis(inputLength: number, spacingMm: number, targetMm: number): ResampledAxis {
  if (!(spacingMm > 0) || !(targetMm > 0)) throw new RangeError(`spacing ${spacingMm} → ${targetMm} mm`);
  return {
    inputLength,
    outputLength: Math.max(1, Math.round((inputLength * spacingMm) / targetMm)),
    scale: targetMm / spacingMm,
  };
}

/** For each output index: the lower input index, its weight's complement, or -1 outside. */
function axisWeights(axis: ResampledAxis): { lower: Int32Array; frac: Float64Array } {
  const lower = new Int32Array(axis.outputLength);
  const frac = new Float64Array(axis.outputLength);
  const last = axis.inputLength - 1;
  for (let o = 0; o < axis.outputLength; o++) {
    let x = sourceCoordinate(axis, o);
    if (x < -EDGE_EPSILON || x > last + EDGE_EPSILON) {
      lower[o] = -1;
      continue;
    }
    x = Math.min(Math.max(x, 0), last);
    const i0 = Math.min(Math.floor(x), Math.max(last - 1, 0));
    lower[o] = i0;
    frac[o] = x - i0;
  }
  return { lower, frac };
}

/**
 * Resamples every slice of a model-layout volume to `targetMm` in-plane, bilinearly,
 * leaving the slice axis alone (paper §3.2).
 *
 * Sample-point convention: pixel centres aligned, as in torch `align_corners=false`
 * (which the networks use for their own resizing) or scipy `zoom(grid_mode=True)`.
 * Input pixel n covers [n, n + 1) · spacing, output pixel o covers [o, o + 1) · target,
 * both from the same edge, so output o samples input coordinate (o + ½)·scale − ½ and
 * the field of view is kept: outputLength = round(inputLength · spacing / target).
 * Chosen because it keeps every output pixel at its true physical position (the
 * §4 map-back is then the same rule inverted) whereas corner alignment (scipy's
 * default zoom) shifts the grid by a fraction of a pixel that depends on the matrix
 * size, and never samples outside the input, so a fill value would be meaningless.
 * Samples that fall in the half-pixel border outside the first/last input pixel
 * centre get `fill` (scipy `mode='constant'`: no blending with the fill), which
 * defaults to the volume minimum as the paper says.
 */
export function resampleInPlane(
  data: ArrayLike<number>,
  dims: ModelDims,
  spacing: readonly [number, number],
  targetMm = 2,
  fill: number = volumeMinimum(data),
): ResampledVolume {
  if (data.length !== dims.rows * dims.cols * dims.slices) {
    throw new RangeError(`volume has ${data.length} values, dims say ${dims.rows}×${dims.cols}×${dims.slices}`);
  }
  const rowAxis = planAxis(dims.rows, spacing[0], targetMm);
  const colAxis = planAxis(dims.cols, spacing[1], targetMm);
  const rw = axisWeights(rowAxis);
  const cw = axisWeights(colAxis);
  const outRows = rowAxis.outputLength;
  const outCols = colAxis.outputLength;
  const out = new Float32Array(outRows * outCols * dims.slices);
  const inSlice = dims.rows * dims.cols;
  const last = { r: dims.rows - 1, c: dims.cols - 1 };
  let p = 0;
  for (let s = 0; s < dims.slices; s++) {
    const offset = s * inSlice;
    for (let ro = 0; ro < outRows; ro++) {
      const r0 = rw.lower[ro];
      const fr = rw.frac[ro];
      const r1 = Math.min(r0 + 1, last.r);
      for (let co = 0; co < outCols; co++, p++) {
        const c0 = cw.lower[co];
        if (r0 < 0 || c0 < 0) {
          out[p] = fill;
          continue;
        }
        const fc = cw.frac[co];
        const c1 = Math.min(c0 + 1, last.c);
        const a = offset + r0 * dims.cols;
        const b = offset + r1 * dims.cols;
        const top = data[a + c0] * (1 - fc) + data[a + c1] * fc;
        const bottom = data[b + c0] * (1 - fc) + data[b + c1] * fc;
        out[p] = top * (1 - fr) + bottom * fr;
      }
    }
  }
  return {
    data: out,
    dims: { rows: outRows, cols: outCols, slices: dims.slices },
    spacing: [targetMm, targetMm],
    rows: rowAxis,
    cols: colAxis,
    fill,
  };
}

export function volumeMinimum(data: ArrayLike<number>): number {
  let min = Infinity;
  for (let p = 0; p < data.length; p++) if (data[p] < min) min = data[p];
  return min;
}

export interface HuWindow {
  huMin: number;
  huMax: number;
  outMin: number;
  outMax: number;
}

/** Paper §3.3: clip HU to [−1000, 300], then (x + 1000) / 1300. */
export const PAPER_WINDOW: HuWindow = { huMin: -1000, huMax: 300, outMin: 0, outMax: 1 };

/** Clips to [huMin, huMax] and maps linearly onto [outMin, outMax]; a new array. */
export function applyWindow(values: ArrayLike<number>, window: HuWindow = PAPER_WINDOW): Float32Array {
  const { huMin, huMax, outMin, outMax } = window;
  if (!(huMax > huMin)) throw new RangeError(`window [${huMin}, ${huMax}] is empty`);
  const gain = (outMax - outMin) / (huMax - huMin);
  const out = new Float32Array(values.length);
  for (let p = 0; p < values.length; p++) {
    const x = Math.min(Math.max(values[p], huMin), huMax);
    out[p] = (x - huMin) * gain + outMin;
  }
  return out;
}
