import { describe, expect, it } from 'vitest';
import { backMapAxis, backMapMasks } from './back-mapping.js';
import { findLungBox } from './lung-box.js';
import { resampleInPlane, toModelLayout, type ResampledAxis } from './preprocess.js';
import { AXIAL_ORIENTATIONS, axialVolume } from './testing/axial-volume.js';

/**
 * A 64 × 64 mm field at 1 mm pixels, 16 slices of 2.5 mm, centred on the origin: the 2 mm
 * grid's pixel edges sit at even mm from −32, so a block whose edges are even mm is exactly
 * representable on both grids and must survive the round trip voxel for voxel.
 */
const BLOCK = { x: [-26, -10], y: [-8, 14], z: [-11, 11] }; // LPS mm; x < 0 is patient right
const inBlock = (x: number, y: number, z: number) =>
  x >= BLOCK.x[0] && x < BLOCK.x[1] && y >= BLOCK.y[0] && y < BLOCK.y[1] && z >= BLOCK.z[0] && z < BLOCK.z[1];

describe('backMapAxis', () => {
  const axis: ResampledAxis = { inputLength: 10, outputLength: 5, scale: 2 };

  it('keeps the source voxels whose centres lie in the box extent and weights their 2 mm neighbours', () => {
    const map = backMapAxis(axis, 1, 3); // 2 mm pixels 1 and 2 cover source voxels 2..5
    expect([map.start, map.stop]).toEqual([2, 6]);
    // Source x sits at 2 mm coordinate (x + ½)/2 − ½: 0.75, 1.25, 1.75, 2.25.
    expect(Array.from(map.gridLower)).toEqual([0, 1, 1, 2]);
    expect(Array.from(map.frac)).toEqual([0.75, 0.25, 0.75, 0.25]);
    // Box-local neighbours: 2 mm pixel 0 and 3 are outside the box (−1: zero padding).
    expect(Array.from(map.boxLower)).toEqual([-1, 0, 0, 1]);
    expect(Array.from(map.boxUpper)).toEqual([0, 1, 1, -1]);
  });

  it('clamps the full-grid neighbours at the grid edges', () => {
    const map = backMapAxis(axis, 0, 5);
    expect([map.start, map.stop]).toEqual([0, 10]);
    expect(map.gridLower[0]).toBe(0); // u = −0.25
    expect(map.gridUpper[9]).toBe(4); // u = 4.25
    expect(map.boxLower[0]).toBe(-1);
    expect(map.boxUpper[9]).toBe(-1);
  });

  it('handles a non-integer scale (0.75 mm pixels) without leaving gaps', () => {
    const real: ResampledAxis = { inputLength: 512, outputLength: 192, scale: 2 / 0.75 };
    const map = backMapAxis(real, 40, 150);
    // Voxel centres (x + ½)·0.75 mm inside [80, 300) mm.
    expect(map.start).toBe(Math.ceil(80 / 0.75 - 0.5));
    expect(map.stop).toBe(Math.ceil(300 / 0.75 - 0.5));
    for (let t = 0; t < map.stop - map.start; t++) {
      expect(map.frac[t]).toBeGreaterThanOrEqual(0);
      expect(map.frac[t]).toBeLessThan(1);
    }
  });
});

describe('backMapMasks round trip through the 2 mm grid', () => {
  it.each(AXIAL_ORIENTATIONS)('$name: a block in patient space comes back voxel for voxel', ({ directions }) => {
    const volume = axialVolume({
      directions,
      sizes: [64, 64, 16],
      spacing: [1, 1, 2.5],
      hu: (x, y, z) => (inBlock(x, y, z) ? 1 : 0),
    });
    const layout = toModelLayout(volume);
    const grid = resampleInPlane(layout.data, layout.dims, [layout.spacing[0], layout.spacing[1]], 2, 0);
    expect(grid.dims).toEqual({ rows: 32, cols: 32, slices: 16 });

    // The box on the 2 mm grid, from the anatomy alone: rows A→P from y = −32, cols R→L from
    // x = −32, slices head→feet from z = +18.75 (slice centres at ±1.25, ±3.75, …, ±18.75).
    const box = findLungBox(grid.data, grid.dims, 0.5);
    expect(box).toEqual({ rows: [12, 23], cols: [3, 11], slices: [4, 12] });

    // The lesion map lives on the box only (box-local layout), as the backbone returns it.
    const [h, w, d] = [box.rows[1] - box.rows[0], box.cols[1] - box.cols[0], box.slices[1] - box.slices[0]];
    const lesionProbability = new Float32Array(h * w * d);
    for (let s = 0; s < d; s++)
      for (let r = 0; r < h; r++)
        for (let c = 0; c < w; c++)
          lesionProbability[(s * h + r) * w + c] =
            grid.data[((box.slices[0] + s) * 32 + box.rows[0] + r) * 32 + box.cols[0] + c] * 0.5;

    const masks = backMapMasks({
      layout,
      grid,
      box,
      lungProbability: grid.data,
      lesionProbability,
      thresholds: { lungs: 0.5, lesions: 0.2 },
    });
    const truth = Uint8Array.from(volume.hu, (v) => v);
    expect(truth.reduce((a, b) => a + b, 0)).toBe(16 * 22 * 8);
    expect(masks.lung).toEqual(truth);
    // P(lesion) = 0.5 inside: the zero padding halves it at most to 0.375 > 0.2 on the inner
    // border voxels and 0.125 < 0.2 just outside, so the lesion mask is the block too.
    expect(masks.lesion).toEqual(truth);
  });

  it('computes nothing outside the box', () => {
    const volume = axialVolume({
      directions: AXIAL_ORIENTATIONS[0].directions,
      sizes: [64, 64, 12],
      spacing: [1, 1, 2.5],
      hu: () => 1,
    });
    const layout = toModelLayout(volume);
    const grid = resampleInPlane(layout.data, layout.dims, [1, 1], 2, 0);
    const box = {
      rows: [4, 12] as [number, number],
      cols: [8, 20] as [number, number],
      slices: [3, 11] as [number, number],
    };
    const masks = backMapMasks({
      layout,
      grid,
      box,
      lungProbability: grid.data, // 1 everywhere
      lesionProbability: new Float32Array(8 * 12 * 8).fill(1),
      thresholds: { lungs: 0.5, lesions: 0.2 },
    });
    // 8 × 12 two-mm pixels = 16 × 24 source voxels per slice, 8 slices.
    expect(masks.lung.reduce((a, b) => a + b, 0)).toBe(16 * 24 * 8);
    expect(masks.lesion.reduce((a, b) => a + b, 0)).toBe(16 * 24 * 8);
  });
});
