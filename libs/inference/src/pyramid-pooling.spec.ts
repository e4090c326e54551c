import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PYRAMID_FEATURE_SIZE, PyramidPooler, pyramidWindows } from './pyramid-pooling.js';

interface GoldenCase {
  shape: [number, number, number, number];
  input: number[];
  expected: number[];
}

const GOLDEN = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../training/golden/pyramid_pool.json', import.meta.url)), 'utf8'),
) as { featureSize: number; cases: GoldenCase[] };

/** Slice d, shape (C, H, W), of a (C, H, W, D) C-order volume. */
function sliceOf(volume: ArrayLike<number>, [c, h, w, d]: readonly number[], k: number): Float32Array {
  const out = new Float32Array(c * h * w);
  for (let i = 0; i < out.length; i++) out[i] = volume[i * d + k];
  return out;
}

function pool(testCase: GoldenCase, order: number[]): Float32Array {
  const [c, h, w, d] = testCase.shape;
  const pooler = new PyramidPooler({ height: h, width: w, depth: d, channels: c });
  for (const k of order) pooler.addSlice(k, sliceOf(testCase.input, testCase.shape, k));
  return pooler.features();
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

describe('pyramidWindows', () => {
  it('gives overlapping windows for L = 10, l = 4 (notes §1)', () => {
    expect(pyramidWindows(10, 4)).toEqual([
      { start: 0, stop: 4 },
      { start: 2, stop: 6 },
      { start: 4, stop: 8 },
      { start: 6, stop: 10 },
    ]);
  });

  it('gives exactly l windows covering the axis', () => {
    for (const length of [8, 9, 10, 13, 17, 150]) {
      for (const bins of [1, 2, 4, 8]) {
        const ws = pyramidWindows(length, bins);
        expect(ws).toHaveLength(bins);
        expect(ws[0].start).toBe(0);
        expect(ws.at(-1)!.stop).toBe(length);
      }
    }
  });
});

describe('PyramidPooler', () => {
  it('has 4680 features for 8 channels', () => {
    expect(PYRAMID_FEATURE_SIZE).toBe(4680);
    expect(GOLDEN.featureSize).toBe(4680);
    expect(new PyramidPooler({ height: 8, width: 8, depth: 8 }).featureSize).toBe(4680);
  });

  it('has golden cases to check', () => {
    expect(GOLDEN.cases.length).toBeGreaterThanOrEqual(3);
  });

  for (const [n, testCase] of GOLDEN.cases.entries()) {
    const label = testCase.shape.join('×');

    it(`matches the golden vector exactly, case ${n} (${label}), slices in order`, () => {
      const got = pool(testCase, range(testCase.shape[3]));
      expect(got).toHaveLength(testCase.expected.length);
      expect(Array.from(got)).toEqual(testCase.expected);
    });

    it(`matches the golden vector exactly, case ${n} (${label}), slices out of order`, () => {
      const d = testCase.shape[3];
      // Deterministic shuffle: odd slices backwards, then even slices.
      const order = [
        ...range(d)
          .filter((k) => k % 2 === 1)
          .toReversed(),
        ...range(d).filter((k) => k % 2 === 0),
      ];
      expect(order.toSorted((a, b) => a - b)).toEqual(range(d));
      expect(Array.from(pool(testCase, order))).toEqual(testCase.expected);
    });
  }

  it('lets one slice feed several overlapping d-bins (L = 10, l = 4)', () => {
    // Volume 8×8×10, one channel, zero everywhere but one voxel in slice 5, which lies in d-bins 1 [2,6) and 2 [4,8).
    const pooler = new PyramidPooler({ height: 8, width: 8, depth: 10, channels: 1 });
    for (let d = 0; d < 10; d++) {
      const fm = new Float32Array(64);
      if (d === 5) fm[0] = 7;
      pooler.addSlice(d, fm);
    }
    const f = pooler.features();
    expect(f).toHaveLength(585);
    // Level 4 starts after 1 + 8 bins; voxel (h=0, w=0) lies in h-bin 0 and w-bin 0 only.
    const level4 = f.subarray(9, 9 + 64);
    expect(Array.from(level4.subarray(0, 4))).toEqual([0, 7, 7, 0]);
    // Level 2 windows of 10: [0,5) [5,10); of 8: [0,4) [4,8).
    expect(Array.from(f.subarray(1, 9))).toEqual([0, 7, 0, 0, 0, 0, 0, 0]);
    expect(f[0]).toBe(7);
  });

  it('rejects axes shorter than 8, slices included', () => {
    expect(() => new PyramidPooler({ height: 8, width: 8, depth: 7 })).toThrow(/depth \(slices\) = 7/);
    expect(() => new PyramidPooler({ height: 7, width: 8, depth: 8 })).toThrow(/>= 8.*height = 7/);
    expect(() => new PyramidPooler({ height: 8, width: 3, depth: 8 })).toThrow(/width = 3/);
  });

  it('refuses features() while slices are missing', () => {
    const pooler = new PyramidPooler({ height: 8, width: 8, depth: 9 });
    for (const d of [0, 1, 2, 4, 5, 6, 7]) pooler.addSlice(d, new Float32Array(8 * 64));
    expect(pooler.slicesAdded).toBe(7);
    expect(() => pooler.features()).toThrow('2 of 9 slices missing (3, 8)');
  });

  it('rejects bad slice indices, duplicate slices and wrong slice sizes', () => {
    const pooler = new PyramidPooler({ height: 8, width: 9, depth: 8 });
    expect(() => pooler.addSlice(8, new Float32Array(8 * 72))).toThrow(/outside \[0, 8\)/);
    expect(() => pooler.addSlice(-1, new Float32Array(8 * 72))).toThrow(/outside/);
    expect(() => pooler.addSlice(0, new Float32Array(8 * 64))).toThrow(/expected 8×8×9/);
    pooler.addSlice(0, new Float32Array(8 * 72));
    expect(() => pooler.addSlice(0, new Float32Array(8 * 72))).toThrow(/already added/);
  });
});
