import type { VolumeGeometry } from '@app/dicom';

/**
 * The left/right lung split of paper-method.md §4: k-means with k = 2 and seed 42 on the
 * patient coordinates (mm) of every 30th lung voxel, then every lung voxel goes to the
 * nearer centre. The cluster whose centre has the smaller patient x is the RIGHT lung
 * (DICOM LPS: +x points to the patient's left), whatever the array orientation.
 *
 * The authors used scikit-learn's KMeans(random_state=42). We do not reproduce sklearn's
 * random stream (nor its n_init restarts): this is k-means++ seeding driven by our own
 * mulberry32(42) stream, then Lloyd iterations to a fixed point. For two well-separated
 * lungs every sensible start converges to the same split; what matters here is that the
 * result is deterministic and identical in training/covid_triage/infer.py, which mirrors
 * this file operation for operation.
 */

export const LUNG_SPLIT_SEED = 42;
export const LUNG_SPLIT_STRIDE = 30;
const MAX_ITERATIONS = 100;

/** mulberry32: a tiny 32-bit seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Points as x0, y0, z0, x1, y1, z1, … (mm). */
export interface TwoMeans {
  centres: [Float64Array, Float64Array];
  /** Cluster (0 or 1) of each point. */
  labels: Uint8Array;
  iterations: number;
}

const squaredDistance = (p: Float64Array, i: number, c: Float64Array) => {
  const dx = p[3 * i] - c[0];
  const dy = p[3 * i + 1] - c[1];
  const dz = p[3 * i + 2] - c[2];
  return dx * dx + dy * dy + dz * dz;
};

/** k-means with k = 2: k-means++ seeding from `seed`, then Lloyd iterations (ties go to cluster 0). */
export function twoMeans(points: Float64Array, seed = LUNG_SPLIT_SEED): TwoMeans {
  const n = points.length / 3;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`k-means needs at least one 3D point, got ${n}`);
  const random = mulberry32(seed);
  const pick = (i: number) => Float64Array.from(points.subarray(3 * i, 3 * i + 3));
  const first = pick(Math.floor(random() * n));
  // k-means++: the second centre is drawn with probability proportional to the squared distance.
  const d2 = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    d2[i] = squaredDistance(points, i, first);
    total += d2[i];
  }
  const target = random() * total;
  let second = n - 1;
  let running = 0;
  for (let i = 0; i < n; i++) {
    running += d2[i];
    if (running > target) {
      second = i;
      break;
    }
  }
  const centres: [Float64Array, Float64Array] = [first, pick(second)];
  const labels = new Uint8Array(n).fill(255);
  let iterations = 0;
  for (; iterations < MAX_ITERATIONS; iterations++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      const label = squaredDistance(points, i, centres[1]) < squaredDistance(points, i, centres[0]) ? 1 : 0;
      if (label !== labels[i]) {
        labels[i] = label;
        changed = true;
      }
    }
    if (!changed) break;
    const sums = [new Float64Array(3), new Float64Array(3)];
    const counts = [0, 0];
    for (let i = 0; i < n; i++) {
      const sum = sums[labels[i]];
      sum[0] += points[3 * i];
      sum[1] += points[3 * i + 1];
      sum[2] += points[3 * i + 2];
      counts[labels[i]]++;
    }
    // An empty cluster keeps its centre.
    for (const k of [0, 1]) if (counts[k] > 0) for (const a of [0, 1, 2]) centres[k][a] = sums[k][a] / counts[k];
  }
  return { centres, labels, iterations };
}

export interface LungSplit {
  rightLung: Uint8Array;
  leftLung: Uint8Array;
  /** Cluster centres, LPS mm (NaN when a lung is empty). */
  rightCentreMm: [number, number, number];
  leftCentreMm: [number, number, number];
}

/**
 * Splits a CtVolume-layout lung mask (voxel (i, j, k) at k·rows·columns + j·columns + i)
 * into right and left lungs. An empty mask gives two empty lungs.
 */
export function splitLungs(lung: Uint8Array, geometry: VolumeGeometry, stride = LUNG_SPLIT_STRIDE): LungSplit {
  const { columns, rows, slices, origin, directions, spacing } = geometry;
  if (lung.length !== columns * rows * slices) throw new RangeError('lung mask does not fit the volume');
  // Patient position (LPS, mm) of voxel (i, j, k) = origin + i·sᵢ·dᵢ + j·sⱼ·dⱼ + k·sₖ·dₖ, summed in
  // that order (as infer.py), written out per component.
  const [si, sj, sk] = directions.map((d, n) => d.map((v) => v * spacing[n]));
  const [ox, oy, oz] = origin;
  const rightLung = new Uint8Array(lung.length);
  const leftLung = new Uint8Array(lung.length);
  let count = 0;
  for (let q = 0; q < lung.length; q++) if (lung[q]) count++;
  if (count === 0) return { rightLung, leftLung, rightCentreMm: [NaN, NaN, NaN], leftCentreMm: [NaN, NaN, NaN] };

  // Two explicit passes over the lung voxels in CtVolume order (k, then j, then i); no callbacks,
  // so that V8 keeps these loops tight (they visit millions of voxels).
  const sample = new Float64Array(3 * Math.ceil(count / stride));
  let seen = 0;
  for (let k = 0, q = 0; k < slices; k++) {
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++, q++) {
        if (!lung[q]) continue;
        if (seen % stride === 0) {
          const at = 3 * (seen / stride);
          sample[at] = ox + i * si[0] + j * sj[0] + k * sk[0];
          sample[at + 1] = oy + i * si[1] + j * sj[1] + k * sk[1];
          sample[at + 2] = oz + i * si[2] + j * sj[2] + k * sk[2];
        }
        seen++;
      }
    }
  }
  const { centres } = twoMeans(sample);
  const rightIndex = centres[0][0] <= centres[1][0] ? 0 : 1;
  const right = centres[rightIndex];
  const left = centres[1 - rightIndex];
  const [first, second] = rightIndex === 0 ? [rightLung, leftLung] : [leftLung, rightLung];
  const [c0x, c0y, c0z] = centres[0];
  const [c1x, c1y, c1z] = centres[1];
  for (let k = 0, q = 0; k < slices; k++) {
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++, q++) {
        if (!lung[q]) continue;
        const x = ox + i * si[0] + j * sj[0] + k * sk[0];
        const y = oy + i * si[1] + j * sj[1] + k * sk[1];
        const z = oz + i * si[2] + j * sj[2] + k * sk[2];
        // The same rule as the k-means iterations: nearer centre, ties to cluster 0.
        const d0 = (x - c0x) * (x - c0x) + (y - c0y) * (y - c0y) + (z - c0z) * (z - c0z);
        const d1 = (x - c1x) * (x - c1x) + (y - c1y) * (y - c1y) + (z - c1z) * (z - c1z);
        if (d1 < d0) second[q] = 1;
        else first[q] = 1;
      }
    }
  }
  return {
    rightLung,
    leftLung,
    rightCentreMm: [right[0], right[1], right[2]],
    leftCentreMm: [left[0], left[1], left[2]],
  };
}
