import type { CtVolume } from '@app/dicom';
import type { TriageAnalysis, VolumeAnalyzer } from '@app/inference';

function count(mask: Uint8Array, within?: Uint8Array): number {
  return mask.reduce((sum, value, index) => sum + (value && (!within || within[index]) ? 1 : 0), 0);
}

/**
 * A stand-in for the model in unit tests: lung = HU in [-950, -700] (the phantom's lungs
 * are -850, air -1000), split left/right at the middle column; lesion = lung voxels in
 * the middle third of the slices. Numbers follow from the masks like the real model's.
 */
export class ThresholdAnalyzer implements VolumeAnalyzer {
  readonly model = { id: 'threshold-test-double', name: 'Threshold test double', version: '1.0.0' };
  readonly executionProviders = ['cpu'] as const;
  calls = 0;

  constructor(private readonly delayMs = 0) {}

  async analyze(volume: CtVolume): Promise<TriageAnalysis> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const { columns, rows, slices, spacing } = volume.geometry;
    const n = columns * rows * slices;
    const rightLung = new Uint8Array(n);
    const leftLung = new Uint8Array(n);
    const lesion = new Uint8Array(n);
    for (let k = 0; k < slices; k++) {
      for (let j = 0; j < rows; j++) {
        for (let i = 0; i < columns; i++) {
          const v = k * rows * columns + j * columns + i;
          const hu = volume.hu[v];
          if (hu < -950 || hu > -700) continue;
          // Patient right is image left in the usual axial orientation.
          (i < columns / 2 ? rightLung : leftLung)[v] = 1;
          if (k >= slices / 3 && k < (2 * slices) / 3) lesion[v] = 1;
        }
      }
    }
    const ml = (spacing[0] * spacing[1] * spacing[2]) / 1000;
    const region = (name: 'left' | 'right' | 'both', lungVoxels: number, lesionVoxels: number) => ({
      region: name,
      lungVolumeMl: lungVoxels * ml,
      lesionVolumeMl: lesionVoxels * ml,
      percentAffected: lungVoxels ? (100 * lesionVoxels) / lungVoxels : 0,
    });
    const left = region('left', count(leftLung), count(lesion, leftLung));
    const right = region('right', count(rightLung), count(lesion, rightLung));
    const both = region('both', count(leftLung) + count(rightLung), count(lesion, leftLung) + count(lesion, rightLung));
    const timings = { preprocessMs: 0, lungsMs: 0, backboneMs: 0, classifyMs: 0, postprocessMs: 0, totalMs: 0 };
    return {
      measurements: {
        model: this.model,
        covidProbability: 0.8,
        severityPercent: Math.max(left.percentAffected, right.percentAffected),
        lungs: [left, right, both],
      },
      masks: { rightLung, leftLung, lesion },
      timings,
      lungBox: { rows: [0, rows], cols: [0, columns], slices: [0, slices] },
    };
  }

  async close(): Promise<void> {}
}
