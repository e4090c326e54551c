import { describe, expect, it } from 'vitest';
import { mulberry32, splitLungs, twoMeans } from './lung-split.js';
import { AXIAL_ORIENTATIONS, axialVolume, neg, X, Y, Z } from './testing/axial-volume.js';

/** Two lungs as balls of radius 14 mm at x = ∓25 mm (patient right at negative x, LPS). */
const RIGHT_CENTRE = [-25, 4, 0];
const LEFT_CENTRE = [25, -2, 3];
const inBall = (p: number[], c: number[], r = 14) =>
  (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2 <= r * r;
const lungHu = (x: number, y: number, z: number) =>
  inBall([x, y, z], RIGHT_CENTRE) ? 1 : inBall([x, y, z], LEFT_CENTRE, 11) ? 2 : 0;

describe('mulberry32', () => {
  it('is the published generator: the same stream for seed 42 everywhere (infer.py checks these too)', () => {
    const random = mulberry32(42);
    const first = Array.from({ length: 5 }, () => random() * 2 ** 32);
    expect(first).toEqual([2581720956, 1925393290, 3661312704, 2876485805, 750819978]);
  });
});

describe('twoMeans', () => {
  it('finds two synthetic blobs, deterministically', () => {
    const random = mulberry32(7);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const points = new Float64Array(3 * 400);
    for (let i = 0; i < 400; i++) {
      const centre = i % 3 === 0 ? [-40, 10, -5] : [35, -5, 20]; // unequal sizes, interleaved
      for (let a = 0; a < 3; a++) points[3 * i + a] = centre[a] + 4 * gauss();
    }
    const result = twoMeans(points);
    // Point 0 is in the first blob: every point shares its label exactly when it shares its blob.
    const same = Array.from(result.labels).every((label, i) => (label === result.labels[0]) === (i % 3 === 0));
    expect(same).toBe(true);
    const centres = result.centres.map((c) => Array.from(c)).toSorted((a, b) => a[0] - b[0]);
    expect(centres[0][0]).toBeCloseTo(-40, 0);
    expect(centres[1][0]).toBeCloseTo(35, 0);
    expect(twoMeans(points)).toEqual(result);
  });

  it('survives identical points (one cluster stays empty)', () => {
    const result = twoMeans(new Float64Array([1, 2, 3, 1, 2, 3, 1, 2, 3]));
    expect(Array.from(result.labels)).toEqual([0, 0, 0]);
  });
});

describe('splitLungs', () => {
  it.each(AXIAL_ORIENTATIONS.filter((_, i) => i % 3 === 0))(
    '$name: names the lungs from patient x, not from array index',
    ({ directions }) => {
      const volume = axialVolume({ directions, sizes: [48, 48, 20], spacing: [2, 2, 2.5], hu: lungHu });
      const lung = Uint8Array.from(volume.hu, (v) => (v > 0 ? 1 : 0));
      const split = splitLungs(lung, volume.geometry);
      expect(split.rightLung).toEqual(Uint8Array.from(volume.hu, (v) => (v === 1 ? 1 : 0)));
      expect(split.leftLung).toEqual(Uint8Array.from(volume.hu, (v) => (v === 2 ? 1 : 0)));
      // Centres are means of the every-30th sample: near, not at, the ball centres.
      expect(Math.abs(split.rightCentreMm[0] - RIGHT_CENTRE[0])).toBeLessThan(3);
      expect(Math.abs(split.leftCentreMm[0] - LEFT_CENTRE[0])).toBeLessThan(3);
    },
  );

  it('gives the same masks in every storage order (mapped back to patient space)', () => {
    const counts = [
      [X, Y, Z],
      [neg(X), neg(Y), neg(Z)],
    ].map((directions) => {
      const volume = axialVolume({
        directions: directions as (typeof AXIAL_ORIENTATIONS)[0]['directions'],
        sizes: [48, 48, 20],
        spacing: [2, 2, 2.5],
        hu: lungHu,
      });
      const split = splitLungs(
        Uint8Array.from(volume.hu, (v) => (v > 0 ? 1 : 0)),
        volume.geometry,
      );
      return [split.rightLung, split.leftLung].map((m) => m.reduce((a, b) => a + b, 0));
    });
    expect(counts[0][0]).toBeGreaterThan(counts[0][1]); // the right ball is larger
    expect(counts[1]).toEqual(counts[0]);
  });

  it('returns two empty lungs for an empty mask', () => {
    const volume = axialVolume({ directions: [X, Y, Z], sizes: [8, 8, 8], spacing: [1, 1, 1], hu: () => 0 });
    const split = splitLungs(new Uint8Array(512), volume.geometry);
    expect(split.rightLung.some((v) => v)).toBe(false);
    expect(split.leftLung.some((v) => v)).toBe(false);
  });
});
