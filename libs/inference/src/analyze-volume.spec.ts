import type { CtVolume } from '@app/dicom';
import { describe, expect, it } from 'vitest';
import { LungBoxTooSmallError, NoLungsFoundError } from './lung-box.js';
import { PAPER_WINDOW } from './preprocess.js';
import { AXIAL_ORIENTATIONS, axialVolume } from './testing/axial-volume.js';
import type { TriageGraphs } from './triage-graphs.js';
import { analyzeVolume, type PipelineSettings } from './analyze-volume.js';

/**
 * The whole pipeline with fake graphs whose answers follow the windowed input, so every
 * number can be derived by hand. Chest: soft tissue (40 HU) everywhere, two lungs (−850 HU)
 * as ellipsoids of semi-axes 12 × 25 × 15 mm at x = ∓20 mm (patient right at negative x), a
 * ground-glass block (−300 HU) of 12 × 16 × 10 mm in the right lung. 1 mm pixels, 2.5 mm slices:
 * the block's edges fall on 2 mm pixel edges, so its 2 mm pixels are pure.
 */
const LESION = { x: [-26, -14], y: [-8, 8], z: [-5, 5] };
const inLung = (x: number, y: number, z: number, cx: number) =>
  ((x - cx) / 12) ** 2 + (y / 25) ** 2 + (z / 15) ** 2 <= 1;
const inLesion = (x: number, y: number, z: number) =>
  x >= LESION.x[0] && x < LESION.x[1] && y >= LESION.y[0] && y < LESION.y[1] && z >= LESION.z[0] && z < LESION.z[1];
const chestHu = (x: number, y: number, z: number) =>
  inLesion(x, y, z) ? -300 : inLung(x, y, z, -20) || inLung(x, y, z, 20) ? -850 : 40;

const window = (hu: number) => (hu + 1000) / 1300; // lung 0.115, lesion 0.538, tissue 0.8

/** Fake graphs: lung where the windowed value is in (0.05, 0.6), lesion where in (0.5, 0.6). */
function fakeGraphs(calls: { lungs: number[]; backbone: number[] }): TriageGraphs {
  return {
    async lungLogits({ data, dims }) {
      calls.lungs.push(dims[0]);
      return Float32Array.from(data, (w) => (w > 0.05 && w < 0.6 ? 10 : -10));
    },
    async backboneSeg({ data, dims }) {
      const [n, , h, w] = dims;
      calls.backbone.push(n);
      const fm = new Float32Array(n * 8 * h * w);
      for (let b = 0; b < n; b++)
        for (let c = 0; c < 8; c++)
          for (let p = 0; p < h * w; p++) fm[(b * 8 + c) * h * w + p] = data[b * h * w + p] * (c + 1);
      return { fm, lesionLogits: Float32Array.from(data, (v) => (v > 0.5 && v < 0.6 ? 0 : -10)) };
    },
    async covidLogit(features) {
      expect(features).toHaveLength(4680);
      return 2 * features[0] - 1; // level 1, channel 0: the largest windowed value in the box
    },
    async close() {},
  };
}

const SETTINGS: PipelineSettings = {
  model: { id: 'fake', name: 'fake graphs', version: '0' },
  thresholds: { lungs: 0.5, lesions: 0.2 },
  window: PAPER_WINDOW,
  inPlaneSpacingMm: 2,
  batchSlices: 5,
};

const chest = (
  directions = AXIAL_ORIENTATIONS[0].directions,
  hu: (x: number, y: number, z: number) => number = chestHu,
  slices = 16,
): CtVolume => axialVolume({ directions, sizes: [96, 96, slices], spacing: [1, 1, 2.5], hu });

const count = (mask: Uint8Array) => mask.reduce((a, b) => a + b, 0);

describe('analyzeVolume (fake graphs)', () => {
  it('measures the hand-computable chest', async () => {
    const calls = { lungs: [] as number[], backbone: [] as number[] };
    const volume = chest();
    const { measurements, masks, timings, lungBox } = await analyzeVolume(volume, fakeGraphs(calls), SETTINGS);

    // Batches: 16 slices in 5 + 5 + 5 + 1; the box's 12 slices (|z| ≤ 13.75 mm) in 5 + 5 + 2.
    expect(calls.lungs).toEqual([5, 5, 5, 1]);
    expect(lungBox.slices).toEqual([2, 14]);
    expect(calls.backbone).toEqual([5, 5, 2]);
    // In-plane box on the 2 mm grid (from −48 mm): x from −32 to 32 mm, y from −25 to 25 mm.
    expect(lungBox.cols[1] - lungBox.cols[0]).toBeGreaterThanOrEqual(31);
    expect(lungBox.cols[1] - lungBox.cols[0]).toBeLessThanOrEqual(33);
    expect(lungBox.rows[1] - lungBox.rows[0]).toBeGreaterThanOrEqual(24);
    expect(lungBox.rows[1] - lungBox.rows[0]).toBeLessThanOrEqual(26);

    // P(COVID) = sigmoid(2 · max windowed value in the box − 1); the mediastinum is soft tissue.
    expect(measurements.covidProbability).toBeCloseTo(1 / (1 + Math.exp(-(2 * Math.fround(window(40)) - 1))), 6);

    // The lesion is exact: 12 × 16 pixels × 4 slices of 1 × 1 × 2.5 mm, all in the right lung.
    const truthLesion = Uint8Array.from({ length: volume.hu.length }, (_, q) => (volume.hu[q] === -300 ? 1 : 0));
    expect(count(truthLesion)).toBe(768);
    expect(masks.lesion).toEqual(truthLesion);
    const by = Object.fromEntries(measurements.lungs.map((l) => [l.region, l]));
    expect(by.right.lesionVolumeMl).toBeCloseTo(1.92, 10);
    expect(by.left.lesionVolumeMl).toBe(0);

    // Lungs: each ellipsoid is 4/3·π·12·25·15 mm³ = 18.85 mL; sampled at 2.5 mm slices and 2 mm
    // pixels the masks land within a few per cent, and the two lungs mirror each other.
    const analytic = ((4 / 3) * Math.PI * 12 * 25 * 15) / 1000;
    for (const side of [by.right, by.left]) expect(Math.abs(side.lungVolumeMl / analytic - 1)).toBeLessThan(0.08);
    expect(count(masks.rightLung)).toBe(count(masks.leftLung));
    const voxelMl = 0.0025;
    expect(by.right.lungVolumeMl).toBeCloseTo(count(masks.rightLung) * voxelMl, 10);
    expect(by.both.lungVolumeMl).toBeCloseTo(by.right.lungVolumeMl + by.left.lungVolumeMl, 10);
    expect(by.right.percentAffected).toBeCloseTo((100 * 768) / count(masks.rightLung), 10);
    expect(by.both.percentAffected).toBeCloseTo((100 * 768) / (2 * count(masks.rightLung)), 10);
    expect(measurements.severityPercent).toBe(by.right.percentAffected);

    // Masks: right and left disjoint, lesion inside the lungs, right lung at negative patient x.
    for (let q = 0; q < volume.hu.length; q++) {
      if (masks.rightLung[q] && masks.leftLung[q]) throw new Error(`voxel ${q} in both lungs`);
      if (masks.lesion[q] && !masks.rightLung[q] && !masks.leftLung[q])
        throw new Error(`lesion voxel ${q} outside the lungs`);
    }
    expect(masks.rightLung[48 * 96 + 28 + 8 * 96 * 96]).toBe(1); // i = 28 → x = −19.5 mm, slice z = 1.25

    expect(measurements.model).toEqual(SETTINGS.model);
    for (const value of Object.values(timings)) expect(value).toBeGreaterThanOrEqual(0);
    expect(timings.totalMs).toBeGreaterThanOrEqual(timings.lungsMs + timings.backboneMs);
  });

  it.each(AXIAL_ORIENTATIONS.filter((_, i) => i % 5 === 1))(
    '$name: the same measurements, and the masks on the same anatomy',
    async ({ directions }) => {
      const reference = await analyzeVolume(chest(), fakeGraphs({ lungs: [], backbone: [] }), SETTINGS);
      const volume = chest(directions);
      const result = await analyzeVolume(volume, fakeGraphs({ lungs: [], backbone: [] }), SETTINGS);
      expect(result.measurements).toEqual(reference.measurements);
      expect(result.lungBox).toEqual(reference.lungBox);
      expect(result.masks.lesion).toEqual(Uint8Array.from(volume.hu, (v) => (v === -300 ? 1 : 0)));
    },
  );

  it('reports NO_LUNGS_FOUND for a volume of air', async () => {
    const error = await analyzeVolume(
      chest(undefined, () => -1000),
      fakeGraphs({ lungs: [], backbone: [] }),
      SETTINGS,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoLungsFoundError);
    expect(error).toMatchObject({ code: 'NO_LUNGS_FOUND', transient: false });
  });

  it('refuses lungs seen on fewer than 8 slices, and a series of fewer than 8 slices', async () => {
    const thin = (x: number, y: number, z: number) => (Math.abs(z) < 8 ? chestHu(x, y, z) : 40); // 6 slices of lung
    await expect(
      analyzeVolume(chest(undefined, thin), fakeGraphs({ lungs: [], backbone: [] }), SETTINGS),
    ).rejects.toThrow(LungBoxTooSmallError);
    const calls = { lungs: [] as number[], backbone: [] as number[] };
    await expect(analyzeVolume(chest(undefined, chestHu, 7), fakeGraphs(calls), SETTINGS)).rejects.toMatchObject({
      code: 'INVALID_GEOMETRY',
    });
    expect(calls.lungs).toEqual([]); // refused before any inference
  });

  it('refuses a batch size that is not a positive integer', async () => {
    await expect(
      analyzeVolume(chest(), fakeGraphs({ lungs: [], backbone: [] }), { ...SETTINGS, batchSlices: 2.5 }),
    ).rejects.toThrow(RangeError);
  });
});
