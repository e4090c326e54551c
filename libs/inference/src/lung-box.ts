import { PermanentError } from '@app/errors';
import type { ModelDims } from './preprocess.js';
import { PYRAMID_MIN_AXIS } from './pyramid-pooling.js';

/**
 * The lung crop of paper-method.md §3.4: the tight 3D bounding box of the thresholded
 * lung probability on the 2 mm grid, no margin, no connected-component filtering.
 */

/** Half-open ranges [start, stop) along model rows, cols and slices of the 2 mm grid. */
export interface LungBox {
  rows: [number, number];
  cols: [number, number];
  slices: [number, number];
}

/** The lung network found no lung voxel: the study cannot be triaged. */
export class NoLungsFoundError extends PermanentError {
  constructor(message: string) {
    super('NO_LUNGS_FOUND', message);
  }
}

/**
 * The lung box (or the whole volume) is shorter than the pyramid pooling allows along
 * some axis. On the box it means the "lungs" are a few stray voxels or the scan covers too
 * few slices of them, so NO_LUNGS_FOUND; on the whole volume the series itself is too
 * small to be a chest CT, so INVALID_GEOMETRY.
 */
export class LungBoxTooSmallError extends PermanentError {
  constructor(
    code: 'NO_LUNGS_FOUND' | 'INVALID_GEOMETRY',
    message: string,
    readonly shape: ModelDims,
  ) {
    super(code, message);
  }
}

export const boxDims = (box: LungBox): ModelDims => ({
  rows: box.rows[1] - box.rows[0],
  cols: box.cols[1] - box.cols[0],
  slices: box.slices[1] - box.slices[0],
});

const shapeText = (d: ModelDims) => `${d.rows}×${d.cols}×${d.slices} (rows×cols×slices)`;

function tooShortAxes(d: ModelDims, min: number): string[] {
  return (['rows', 'cols', 'slices'] as const).filter((axis) => d[axis] < min);
}

/** Refuses a 2 mm volume that no lung box inside it could make poolable. */
export function checkPoolableVolume(dims: ModelDims, min = PYRAMID_MIN_AXIS): void {
  const short = tooShortAxes(dims, min);
  if (short.length > 0) {
    throw new LungBoxTooSmallError(
      'INVALID_GEOMETRY',
      `the volume is ${shapeText(dims)} on the 2 mm grid; the classification head's pyramid pooling needs ` +
        `at least ${min} along every axis (too short: ${short.join(', ')})`,
      dims,
    );
  }
}

/**
 * Tight box of `probability > threshold` over a model-layout 2 mm volume
 * (value (r, c, s) at s·rows·cols + r·cols + c). Throws NoLungsFoundError when empty and
 * LungBoxTooSmallError when an axis of the box is shorter than `min`.
 */
export function findLungBox(
  probability: Float32Array,
  dims: ModelDims,
  threshold: number,
  min = PYRAMID_MIN_AXIS,
): LungBox {
  const { rows, cols, slices } = dims;
  if (probability.length !== rows * cols * slices) {
    throw new RangeError(`lung probability has ${probability.length} values, dims say ${shapeText(dims)}`);
  }
  let r0 = rows;
  let r1 = -1;
  let c0 = cols;
  let c1 = -1;
  let s0 = slices;
  let s1 = -1;
  let p = 0;
  for (let s = 0; s < slices; s++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, p++) {
        if (!(probability[p] > threshold)) continue;
        if (r < r0) r0 = r;
        if (r > r1) r1 = r;
        if (c < c0) c0 = c;
        if (c > c1) c1 = c;
        if (s < s0) s0 = s;
        s1 = s;
      }
    }
  }
  if (s1 < 0) {
    throw new NoLungsFoundError(
      `no voxel of the ${shapeText(dims)} volume has a lung probability above ${threshold}: no lungs found`,
    );
  }
  const box: LungBox = { rows: [r0, r1 + 1], cols: [c0, c1 + 1], slices: [s0, s1 + 1] };
  const d = boxDims(box);
  const short = tooShortAxes(d, min);
  if (short.length > 0) {
    throw new LungBoxTooSmallError(
      'NO_LUNGS_FOUND',
      `the lung box is ${shapeText(d)} on the 2 mm grid; the classification head's pyramid pooling needs at ` +
        `least ${min} along every axis (too short: ${short.join(', ')}): lungs too small or too few slices`,
      d,
    );
  }
  return box;
}
