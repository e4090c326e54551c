import { describe, expect, it } from 'vitest';
import { countVoxels, measureLungs, voxelVolumeMl } from './lung-measurements.js';

describe('lung measurements', () => {
  it('computes the voxel volume in mL from the source spacing', () => {
    expect(voxelVolumeMl({ spacing: [0.75, 0.8, 2.5] })).toBeCloseTo(0.0015, 12);
  });

  it('counts lesion voxels per lung from the masks', () => {
    //                 voxel:   0  1  2  3  4  5  6  7
    const rightLung = Uint8Array.of(1, 1, 1, 1, 0, 0, 0, 0);
    const leftLung = Uint8Array.of(0, 0, 0, 0, 1, 1, 0, 0);
    const lesion = Uint8Array.of(1, 0, 1, 0, 0, 1, 0, 0);
    expect(countVoxels({ rightLung, leftLung, lesion })).toEqual({
      rightLung: 4,
      leftLung: 2,
      rightLesion: 2,
      leftLesion: 1,
    });
  });

  it('gives volumes, per-lung and whole-lung percentages, and severity as the worse lung', () => {
    // Right lung 1500 voxels with 300 lesion voxels (20 %), left 1000 with 250 (25 %); 2 µL voxels.
    const m = measureLungs({ rightLung: 1500, rightLesion: 300, leftLung: 1000, leftLesion: 250 }, 0.002);
    const by = Object.fromEntries(m.lungs.map((l) => [l.region, l]));
    expect(m.lungs.map((l) => l.region)).toEqual(['left', 'right', 'both']);
    expect(by.right.lungVolumeMl).toBeCloseTo(3, 12);
    expect(by.right.lesionVolumeMl).toBeCloseTo(0.6, 12);
    expect(by.right.percentAffected).toBeCloseTo(20, 12);
    expect(by.left.lungVolumeMl).toBeCloseTo(2, 12);
    expect(by.left.lesionVolumeMl).toBeCloseTo(0.5, 12);
    expect(by.left.percentAffected).toBeCloseTo(25, 12);
    expect(by.both.lungVolumeMl).toBeCloseTo(5, 12);
    expect(by.both.lesionVolumeMl).toBeCloseTo(1.1, 12);
    expect(by.both.percentAffected).toBeCloseTo(22, 12); // 550 / 2500, not the mean of 20 and 25
    expect(m.severityPercent).toBeCloseTo(25, 12);
  });

  it('counts an empty lung as 0 % affected', () => {
    const m = measureLungs({ rightLung: 0, rightLesion: 0, leftLung: 10, leftLesion: 1 }, 1);
    expect(m.lungs.find((l) => l.region === 'right')).toEqual({
      region: 'right',
      lungVolumeMl: 0,
      lesionVolumeMl: 0,
      percentAffected: 0,
    });
    expect(m.severityPercent).toBeCloseTo(10, 12);
  });
});
