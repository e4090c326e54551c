import { describe, expect, it } from 'vitest';
import { readPart10 } from '../part10-reader.js';
import { syntheticEnhancedCt } from '../phantom/synthetic-enhanced-ct.js';
import { syntheticCtSeries, type SyntheticCtOptions } from '../phantom/synthetic-ct.js';
import { InvalidGeometryError, planVolume } from './plan-volume.js';

function instancesOf(options: SyntheticCtOptions, shuffle?: (n: number) => number[]) {
  const series = syntheticCtSeries({ rows: 8, columns: 8, slices: 10, ...options });
  const parsed = series.instances.map((i) => readPart10(i.bytes).dataset);
  const order = shuffle ? shuffle(parsed.length) : parsed.map((_, i) => i);
  return { series, instances: order.map((i) => parsed[i]) };
}

const reversed = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
const scrambled = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) % n);

function expectGeometryError(run: () => unknown, message: RegExp) {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(InvalidGeometryError);
  expect((error as Error).message).toMatch(message);
  expect(error).toMatchObject({ code: 'INVALID_GEOMETRY', transient: false });
}

describe('planVolume', () => {
  it.each([
    ['head-first, in order', -1 as const, undefined],
    ['head-first, reversed file order', -1 as const, reversed],
    ['feet-first, scrambled file order', 1 as const, scrambled],
  ])('%s: sorts by position along the normal', (_, sliceDirection, shuffle) => {
    const { series, instances } = instancesOf({ sliceDirection, sliceSpacing: 2.5, origin: [-3, -3, -50] }, shuffle);
    const plan = planVolume(instances);
    const z = plan.slices.map((s) => s.position[2]);
    expect(z).toEqual(z.toSorted((a, b) => a - b));
    expect(plan.geometry.slices).toBe(10);
    expect(plan.geometry.spacing).toEqual([0.75, 0.75, 2.5]);
    expect(plan.geometry.directions[2]).toEqual([0, 0, 1]);
    expect(plan.geometry.origin[2]).toBe(Math.min(...series.instances.map((i) => i.position[2])));
    // The affine maps voxel (0,0,k) onto slice k's ImagePositionPatient.
    const a = plan.geometry.affine;
    plan.slices.forEach((slice, k) => expect(a[2 * 4 + 2] * k + a[2 * 4 + 3]).toBeCloseTo(slice.position[2], 6));
    // Every slice keeps its source instance, for the SEG's references.
    const byUid = new Map(series.instances.map((i) => [i.sopInstanceUid, i.position[2]]));
    for (const slice of plan.slices) expect(byUid.get(slice.source.sopInstanceUid)).toBe(slice.position[2]);
  });

  it('handles an oblique orientation by projecting on its normal', () => {
    const { instances } = instancesOf({ orientation: [1, 0, 0, 0, 0.8, -0.6], sliceDirection: 1 }, scrambled);
    const plan = planVolume(instances);
    // (1,0,0) × (0,0.8,-0.6) = (0,0.6,0.8)
    expect(plan.geometry.directions[2][1]).toBeCloseTo(0.6, 9);
    expect(plan.geometry.directions[2][2]).toBeCloseTo(0.8, 9);
    const d = plan.slices.map((s) => 0.6 * s.position[1] + 0.8 * s.position[2]);
    expect(d).toEqual(d.toSorted((a, b) => a - b));
    expect(plan.geometry.spacing[2]).toBeCloseTo(2, 9);
  });

  it('fails on a gap and says where', () => {
    const { instances } = instancesOf({ omitSlices: [4, 5] });
    expectGeometryError(() => planVolume(instances), /gap of 6 mm .*about 2 missing slice/);
  });

  it('drops a repeated SOP Instance UID with a warning', () => {
    const { instances } = instancesOf({});
    const plan = planVolume([...instances, instances[3]]);
    expect(plan.geometry.slices).toBe(10);
    expect(plan.warnings.join()).toMatch(/duplicate SOP Instance UID/);
  });

  it('fails when two different instances share a position', () => {
    const a = instancesOf({ origin: [0, 0, 0] });
    const b = instancesOf({ origin: [0, 0, 0], seriesInstanceUid: a.series.seriesInstanceUid });
    expectGeometryError(() => planVolume([...a.instances, b.instances[2]]), /share the position/);
  });

  it('fails on a sheared (tilted) stack and on a declared gantry tilt', () => {
    expectGeometryError(() => planVolume(instancesOf({ shearMmPerSlice: [0, 0.5] }).instances), /sideways/);
    expectGeometryError(
      () => planVolume(instancesOf({ attributes: { GantryDetectorTilt: 15 } }).instances),
      /gantry tilt of 15/,
    );
  });

  it('fails on irregular spacing and mixed orientations', () => {
    const { instances } = instancesOf({});
    const moved = instancesOf({ origin: [-24, -24, -100 - 2 * 3 - 0.7], slices: 1 }).instances[0];
    expectGeometryError(() => planVolume([...instances.filter((_, i) => i !== 3), moved]), /irregular|gap/);
    const tilted = instancesOf({ orientation: [1, 0, 0, 0, 0.96, -0.28], slices: 1, origin: [0, 0, 10] }).instances[0];
    expectGeometryError(() => planVolume([...instances, tilted]), /different orientations/);
  });

  it('plans a multi-frame Enhanced CT with frames stored out of order', () => {
    const frameOrder = [3, 0, 2, 1, 5, 4, 7, 6, 9, 8];
    const { instance, sopInstanceUid, series } = syntheticEnhancedCt({ rows: 8, columns: 8, slices: 10, frameOrder });
    const plan = planVolume([readPart10(instance).dataset]);
    expect(plan.geometry.slices).toBe(10);
    expect(plan.slices.every((s) => s.source.sopInstanceUid === sopInstanceUid)).toBe(true);
    // Slice k comes from the frame that holds the k-th lowest position.
    const lowestFirst = series.instances.map((i, index) => ({ z: i.position[2], index })).toSorted((a, b) => a.z - b.z);
    expect(plan.slices.map((s) => s.source.frameNumber)).toEqual(
      lowestFirst.map(({ index }) => frameOrder.indexOf(index) + 1),
    );
    expect(plan.slices[0].rescaleIntercept).toBe(-1024);
  });

  // Frames without a functional group have no known position: planning only the others used to
  // triage a partial volume (the unplanned frames were skipped as if duplicates).
  it.each([7, 0, 12])('fails on a 10-frame instance with %i per-frame functional groups', (groups) => {
    const positions = syntheticCtSeries({ rows: 2, columns: 2, slices: 12 }).instances.map((i) => i.position);
    const { instance } = syntheticEnhancedCt({
      rows: 8,
      columns: 8,
      slices: 10,
      instanceAttributes: {
        PerFrameFunctionalGroupsSequence: positions
          .slice(0, groups)
          .map((position) => ({ PlanePositionSequence: [{ ImagePositionPatient: position }] })),
      },
    });
    expectGeometryError(
      () => planVolume([readPart10(instance).dataset]),
      new RegExp(`${groups} per-frame functional groups for 10 frames`),
    );
  });
});
