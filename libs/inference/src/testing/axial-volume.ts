import type { CtVolume, Vec3 } from '@app/dicom';

/**
 * Test helper: a CtVolume stored along any axis-aligned LPS directions, centred on `centre`,
 * whose HU at each voxel is `hu(x, y, z)` of the voxel centre's patient position (mm).
 * The anatomy is fixed in patient space, so every storage order shows the same patient.
 */
export interface AxialVolumeOptions {
  directions: [Vec3, Vec3, Vec3];
  /** Voxels along i (columns), j (rows), k (slices). */
  sizes: [number, number, number];
  spacing: Vec3;
  centre?: Vec3;
  hu: (x: number, y: number, z: number) => number;
}

export function axialVolume(options: AxialVolumeOptions): CtVolume {
  const { directions, sizes, spacing, hu } = options;
  const centre = options.centre ?? [0, 0, 0];
  const [columns, rows, slices] = sizes;
  const step = directions.map((d, n) => d.map((v) => v * spacing[n]));
  const origin = [0, 1, 2].map(
    (a) => centre[a] - step.reduce((sum, s, n) => sum + (s[a] * (sizes[n] - 1)) / 2, 0),
  ) as Vec3;
  const data = new Float32Array(columns * rows * slices);
  let q = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < slices; k++) {
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++, q++) {
        const [x, y, z] = [0, 1, 2].map((a) => origin[a] + i * step[0][a] + j * step[1][a] + k * step[2][a]);
        data[q] = hu(x, y, z);
        min = Math.min(min, data[q]);
        max = Math.max(max, data[q]);
      }
    }
  }
  const affine = [...[0, 1, 2].flatMap((a) => [step[0][a], step[1][a], step[2][a], origin[a]]), 0, 0, 0, 1];
  return {
    geometry: {
      columns,
      rows,
      slices,
      spacing,
      origin,
      directions,
      imageOrientation: [...directions[0], ...directions[1]],
      affine,
      frameOfReferenceUid: '1.2.826.0.1.3680043.8.498.1',
    },
    hu: data,
    slices: [],
    huRange: { min, max },
    transferSyntaxes: [],
    warnings: [],
  };
}

export const X: Vec3 = [1, 0, 0];
export const Y: Vec3 = [0, 1, 0];
export const Z: Vec3 = [0, 0, 1];
export const neg = (v: Vec3): Vec3 => [-v[0] || 0, -v[1] || 0, -v[2] || 0];

/** The 16 axial storage orders: in-plane flips and transposes, head-first and feet-first slices. */
export const AXIAL_ORIENTATIONS: { name: string; directions: [Vec3, Vec3, Vec3] }[] = (
  [
    ['standard', X, Y],
    ['row flipped', neg(X), Y],
    ['col flipped', X, neg(Y)],
    ['both flipped', neg(X), neg(Y)],
    ['transposed', Y, X],
    ['transposed, row flipped', neg(Y), X],
    ['transposed, col flipped', Y, neg(X)],
    ['transposed, both flipped', neg(Y), neg(X)],
  ] as [string, Vec3, Vec3][]
).flatMap(([name, row, col]) => [
  { name: `${name}, feet-first`, directions: [row, col, Z] as [Vec3, Vec3, Vec3] },
  { name: `${name}, head-first`, directions: [row, col, neg(Z)] as [Vec3, Vec3, Vec3] },
]);
