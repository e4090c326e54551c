import type { CtVolume, Vec3 } from '@app/dicom';
import { describe, expect, it } from 'vitest';
import {
  applyWindow,
  NonAxialVolumeError,
  resampleInPlane,
  sourceCoordinate,
  toModelLayout,
  type ModelDims,
} from './preprocess.js';

/** Model-layout truth: rows A→P (3), cols R→L (4), slices head→feet (5). */
const TRUTH: ModelDims = { rows: 3, cols: 4, slices: 5 };
const truthValue = (r: number, c: number, s: number) => 100 * s + 10 * r + c;

const axisOf = (d: Vec3) => d.findIndex((v) => v !== 0);

/**
 * A CtVolume of the TRUTH anatomy stored along the given LPS directions: voxel
 * (i, j, k) sits at i·d0 + j·d1 + k·d2 (axis-aligned unit vectors), and its value is
 * truthValue at that voxel's anatomical (A→P, R→L, head→feet) index.
 */
function syntheticVolume(directions: [Vec3, Vec3, Vec3], spacing: Vec3 = [0.7, 0.8, 2.5]): CtVolume {
  const lpsSize = [TRUTH.cols, TRUTH.rows, TRUTH.slices]; // extents along X (R→L), Y (A→P), Z
  const [columns, rows, slices] = directions.map((d) => lpsSize[axisOf(d)]);
  const hu = new Float32Array(columns * rows * slices);
  for (let k = 0; k < slices; k++) {
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++) {
        const p = [0, 1, 2].map((a) => i * directions[0][a] + j * directions[1][a] + k * directions[2][a]);
        const min = [0, 1, 2].map((a) =>
          Math.min(...directions.map((d, n) => d[a] * ([columns, rows, slices][n] - 1))),
        );
        const [x, y, z] = p.map((v, a) => v - min[a]);
        hu[k * rows * columns + j * columns + i] = truthValue(y, x, TRUTH.slices - 1 - z);
      }
    }
  }
  return {
    geometry: {
      columns,
      rows,
      slices,
      spacing,
      origin: [0, 0, 0],
      directions,
      imageOrientation: [...directions[0], ...directions[1]],
      affine: [],
      frameOfReferenceUid: '1.2.3',
    },
    hu,
    slices: [],
    huRange: { min: 0, max: 0 },
    transferSyntaxes: [],
    warnings: [],
  };
}

const X: Vec3 = [1, 0, 0];
const Y: Vec3 = [0, 1, 0];
const Z: Vec3 = [0, 0, 1];
const neg = (v: Vec3): Vec3 => [-v[0] || 0, -v[1] || 0, -v[2] || 0];

const IN_PLANE: [string, Vec3, Vec3][] = [
  ['standard (row → left, col → posterior)', X, Y],
  ['row flipped', neg(X), Y],
  ['col flipped', X, neg(Y)],
  ['both flipped', neg(X), neg(Y)],
  ['transposed', Y, X],
  ['transposed, row flipped', neg(Y), X],
  ['transposed, col flipped', Y, neg(X)],
  ['transposed, both flipped', neg(Y), neg(X)],
];
const CASES = IN_PLANE.flatMap(([name, row, col]) => [
  { name: `${name}, feet-first (k → head)`, directions: [row, col, Z] as [Vec3, Vec3, Vec3] },
  { name: `${name}, head-first (k → feet)`, directions: [row, col, neg(Z)] as [Vec3, Vec3, Vec3] },
]);

function truthArray(): Float32Array {
  const out = new Float32Array(TRUTH.rows * TRUTH.cols * TRUTH.slices);
  for (let s = 0; s < TRUTH.slices; s++)
    for (let r = 0; r < TRUTH.rows; r++)
      for (let c = 0; c < TRUTH.cols; c++) out[s * TRUTH.rows * TRUTH.cols + r * TRUTH.cols + c] = truthValue(r, c, s);
  return out;
}

describe('toModelLayout', () => {
  it.each(CASES)('lands $name in the paper layout', ({ directions }) => {
    const volume = syntheticVolume(directions);
    const model = toModelLayout(volume);
    expect(model.dims).toEqual(TRUTH);
    expect([...model.data]).toEqual([...truthArray()]);
    // spacing follows the axes: X and Y in-plane spacing, Z the slice spacing
    const spacingOf = (lps: number) => volume.geometry.spacing[directions.findIndex((d) => d[lps] !== 0)];
    expect(model.spacing).toEqual([spacingOf(1), spacingOf(0), spacingOf(2)]);
    // the index mapping and the inverse scatter agree with the source
    expect(volume.hu[model.sourceIndex(2, 1, 3)]).toBe(truthValue(2, 1, 3));
    expect([...model.toSourceLayout(model.data)]).toEqual([...volume.hu]);
  });

  it('puts a marker at the anterior, patient-right, most cranial voxel at model index (0, 0, 0)', () => {
    for (const { directions } of CASES) {
      const volume = syntheticVolume(directions);
      volume.hu.fill(0);
      // LPS: anterior = −Y, right = −X, cranial = +Z: the voxel minimising y and x and maximising z
      const { columns, rows, slices } = volume.geometry;
      let best = { score: -Infinity, index: -1 };
      for (let k = 0; k < slices; k++)
        for (let j = 0; j < rows; j++)
          for (let i = 0; i < columns; i++) {
            const p = [0, 1, 2].map((a) => i * directions[0][a] + j * directions[1][a] + k * directions[2][a]);
            const score = -p[1] * 1e4 - p[0] * 1e2 + p[2];
            if (score > best.score) best = { score, index: k * rows * columns + j * columns + i };
          }
      volume.hu[best.index] = 1000;
      const model = toModelLayout(volume);
      expect(model.data[0]).toBe(1000);
      expect(model.data.reduce((n, v) => n + (v === 1000 ? 1 : 0), 0)).toBe(1);
    }
  });

  it('scatters a Uint8 mask back to the source layout', () => {
    const volume = syntheticVolume([neg(Y), X, neg(Z)]);
    const model = toModelLayout(volume);
    const mask = new Uint8Array(model.data.length);
    mask[model.data.length - 1] = 1; // posterior, patient-left, most caudal
    const back = model.toSourceLayout(mask);
    expect(back).toBeInstanceOf(Uint8Array);
    expect(volume.hu[back.indexOf(1)]).toBe(truthValue(TRUTH.rows - 1, TRUTH.cols - 1, TRUTH.slices - 1));
    expect(() => model.toSourceLayout(new Uint8Array(3))).toThrow(RangeError);
  });

  it('refuses a sagittal, a coronal and an oblique series', () => {
    expect(() => toModelLayout(syntheticVolume([Y, neg(Z), X]))).toThrow(/sagittal series, not axial/);
    expect(() => toModelLayout(syntheticVolume([X, neg(Z), Y]))).toThrow(/coronal series, not axial/);
    const oblique = syntheticVolume([X, Y, Z]);
    oblique.geometry.directions = [[Math.SQRT1_2, Math.SQRT1_2, 0], [-Math.SQRT1_2, Math.SQRT1_2, 0], Z];
    expect(() => toModelLayout(oblique)).toThrow(NonAxialVolumeError);
    expect(() => toModelLayout(oblique)).toThrow(/oblique/);
  });

  it('accepts a few degrees of tilt', () => {
    const volume = syntheticVolume([X, Y, Z]);
    const a = (5 * Math.PI) / 180;
    volume.geometry.directions = [X, [0, Math.cos(a), Math.sin(a)], [0, -Math.sin(a), Math.cos(a)]];
    expect(toModelLayout(volume).dims).toEqual(TRUTH);
  });
});

function ramp(dims: ModelDims): Float32Array {
  const data = new Float32Array(dims.rows * dims.cols * dims.slices);
  for (let s = 0; s < dims.slices; s++)
    for (let r = 0; r < dims.rows; r++)
      for (let c = 0; c < dims.cols; c++) data[(s * dims.rows + r) * dims.cols + c] = 3 * r + 5 * c + 7 + 100 * s;
  return data;
}

/** The one-pixel border of the 8 × 9 upsampled grid. */
const border = (r: number, c: number) => r === 0 || r === 7 || c === 0 || c === 8;

describe('resampleInPlane', () => {
  it('downsamples a linear ramp exactly at pixel-centre-aligned sample points', () => {
    const dims = { rows: 10, cols: 7, slices: 2 };
    const out = resampleInPlane(ramp(dims), dims, [1, 0.5]);
    // 10 px × 1 mm → 5 px × 2 mm; 7 px × 0.5 mm = 3.5 mm → round(1.75) = 2 px
    expect(out.dims).toEqual({ rows: 5, cols: 2, slices: 2 });
    expect(out.spacing).toEqual([2, 2]);
    for (let s = 0; s < 2; s++)
      for (let r = 0; r < 5; r++)
        for (let c = 0; c < 2; c++) {
          const x = sourceCoordinate(out.rows, r);
          const y = sourceCoordinate(out.cols, c);
          expect(x).toBeCloseTo(2 * r + 0.5, 12);
          expect(y).toBeCloseTo(4 * c + 1.5, 12);
          expect(out.data[(s * 5 + r) * 2 + c]).toBeCloseTo(3 * x + 5 * y + 7 + 100 * s, 4);
        }
  });

  it('upsamples a linear ramp exactly inside and fills the border with the volume minimum', () => {
    const dims = { rows: 4, cols: 6, slices: 2 };
    const data = ramp(dims);
    data[data.length - 1] = -1024; // the minimum sits in the second slice
    const out = resampleInPlane(data, dims, [4, 3]);
    expect(out.dims).toEqual({ rows: 8, cols: 9, slices: 2 });
    expect(out.fill).toBe(-1024);
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 9; c++) {
        const x = sourceCoordinate(out.rows, r);
        const y = sourceCoordinate(out.cols, c);
        // inside the first/last pixel centres exactly where not on the border
        expect(x >= 0 && x <= 3 && y >= 0 && y <= 5).toBe(!border(r, c));
        const expected = border(r, c) ? -1024 : 3 * x + 5 * y + 7;
        expect(out.data[r * 9 + c]).toBeCloseTo(expected, 4); // first slice: untouched by the -1024
      }
  });

  it('keeps the identity when the spacing already is the target, and takes an explicit fill', () => {
    const dims = { rows: 3, cols: 3, slices: 1 };
    const data = ramp(dims);
    expect([...resampleInPlane(data, dims, [2, 2]).data]).toEqual([...data]);
    const up = resampleInPlane(data, dims, [4, 4], 2, -3000);
    expect(up.data[0]).toBe(-3000);
    expect(() => resampleInPlane(data, { rows: 2, cols: 3, slices: 1 }, [1, 1])).toThrow(RangeError);
  });
});

describe('applyWindow', () => {
  it('clips to [-1000, 300] and maps onto [0, 1]', () => {
    const out = applyWindow([-3024, -1000, -350, 300, 3071, -1001, 301]);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(0);
    expect(out[2]).toBeCloseTo(0.5, 6);
    expect(out[3]).toBe(1);
    expect(out[4]).toBe(1);
    expect(out[5]).toBe(0);
    expect(out[6]).toBe(1);
  });

  it('works on Int16 HU and honours another window', () => {
    expect([...applyWindow(Int16Array.of(0, 100, 200), { huMin: 0, huMax: 200, outMin: -1, outMax: 1 })]).toEqual([
      -1, 0, 1,
    ]);
    expect(() => applyWindow([0], { huMin: 1, huMax: 1, outMin: 0, outMax: 1 })).toThrow(RangeError);
  });
});
