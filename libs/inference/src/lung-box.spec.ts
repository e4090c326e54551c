import { describe, expect, it } from 'vitest';
import { checkPoolableVolume, findLungBox, LungBoxTooSmallError, NoLungsFoundError } from './lung-box.js';

const dims = { rows: 20, cols: 30, slices: 12 };
const at = (r: number, c: number, s: number) => (s * dims.rows + r) * dims.cols + c;

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function withVoxels(voxels: [number, number, number][], value = 0.9): Float32Array {
  const p = new Float32Array(dims.rows * dims.cols * dims.slices).fill(0.1);
  for (const [r, c, s] of voxels) p[at(r, c, s)] = value;
  return p;
}

describe('findLungBox', () => {
  it('is the tight half-open 3D box of the voxels above the threshold, from scattered voxels', () => {
    // Three voxels that never share a row, col or slice: the box is spanned by all of them.
    const p = withVoxels([
      [2, 25, 3],
      [15, 4, 11],
      [9, 12, 0],
    ]);
    expect(findLungBox(p, dims, 0.5)).toEqual({ rows: [2, 16], cols: [4, 26], slices: [0, 12] });
  });

  it('uses a strict threshold', () => {
    const p = withVoxels(
      [
        [0, 0, 0],
        [19, 29, 11],
      ],
      0.5,
    );
    expect(() => findLungBox(p, dims, 0.5)).toThrow(NoLungsFoundError);
  });

  it('reports an empty lung mask as NO_LUNGS_FOUND', () => {
    const error = thrown(() => findLungBox(withVoxels([]), dims, 0.5));
    expect(error).toBeInstanceOf(NoLungsFoundError);
    expect(error).toMatchObject({ code: 'NO_LUNGS_FOUND', transient: false });
    expect(String(error)).toMatch(/no lungs found/);
  });

  it('refuses a box shorter than 8 along any axis, naming the axis', () => {
    const p = withVoxels([
      [2, 3, 4],
      [15, 20, 10],
    ]); // slices 4..10: 7
    expect(() => findLungBox(p, dims, 0.5)).toThrow(LungBoxTooSmallError);
    expect(() => findLungBox(p, dims, 0.5)).toThrow(/14×18×7 .*too short: slices/);
    expect(thrown(() => findLungBox(p, dims, 0.5))).toMatchObject({
      code: 'NO_LUNGS_FOUND',
      shape: { rows: 14, cols: 18, slices: 7 },
    });
    // One more slice and it is accepted.
    const ok = withVoxels([
      [2, 3, 3],
      [15, 20, 10],
    ]);
    expect(findLungBox(ok, dims, 0.5).slices).toEqual([3, 11]);
  });
});

describe('checkPoolableVolume', () => {
  it('refuses a volume with fewer than 8 slices as INVALID_GEOMETRY', () => {
    expect(() => checkPoolableVolume({ rows: 200, cols: 200, slices: 7 })).toThrow(/too short: slices/);
    expect(thrown(() => checkPoolableVolume({ rows: 200, cols: 200, slices: 7 }))).toMatchObject({
      code: 'INVALID_GEOMETRY',
    });
    expect(() => checkPoolableVolume({ rows: 8, cols: 8, slices: 8 })).not.toThrow();
  });
});
