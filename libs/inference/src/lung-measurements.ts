import type { VolumeGeometry } from '@app/dicom';
import type { TriageMasks } from './triage-analysis.js';
import type { LungRegionMeasurement } from '@app/triage-contracts';

/**
 * Volumes and percentages of paper-method.md §4 from the final masks: per lung, both lungs,
 * and the paper's severity, the larger of the two lungs' lesion fractions
 * max_i vol(lesion ∩ lung_i) / vol(lung_i), in percent. A lung with no voxels counts 0 %.
 */

/** Volume of one voxel of the source grid in mL (mm³ / 1000). */
export const voxelVolumeMl = (geometry: Pick<VolumeGeometry, 'spacing'>) =>
  (geometry.spacing[0] * geometry.spacing[1] * geometry.spacing[2]) / 1000;

export interface VoxelCounts {
  rightLung: number;
  leftLung: number;
  /** Lesion voxels inside each lung. */
  rightLesion: number;
  leftLesion: number;
}

export function countVoxels(masks: TriageMasks): VoxelCounts {
  const { rightLung, leftLung, lesion } = masks;
  if (rightLung.length !== lesion.length || leftLung.length !== lesion.length) {
    throw new RangeError('masks of different sizes');
  }
  const counts: VoxelCounts = { rightLung: 0, leftLung: 0, rightLesion: 0, leftLesion: 0 };
  for (let q = 0; q < lesion.length; q++) {
    if (rightLung[q]) {
      counts.rightLung++;
      if (lesion[q]) counts.rightLesion++;
    } else if (leftLung[q]) {
      counts.leftLung++;
      if (lesion[q]) counts.leftLesion++;
    }
  }
  return counts;
}

const percent = (lesion: number, lung: number) => (lung > 0 ? (100 * lesion) / lung : 0);

export function measureLungs(
  counts: VoxelCounts,
  voxelMl: number,
): { severityPercent: number; lungs: LungRegionMeasurement[] } {
  const region = (name: LungRegionMeasurement['region'], lung: number, lesion: number): LungRegionMeasurement => ({
    region: name,
    lungVolumeMl: lung * voxelMl,
    lesionVolumeMl: lesion * voxelMl,
    percentAffected: percent(lesion, lung),
  });
  const right = region('right', counts.rightLung, counts.rightLesion);
  const left = region('left', counts.leftLung, counts.leftLesion);
  const both = region('both', counts.rightLung + counts.leftLung, counts.rightLesion + counts.leftLesion);
  return { severityPercent: Math.max(right.percentAffected, left.percentAffected), lungs: [left, right, both] };
}
