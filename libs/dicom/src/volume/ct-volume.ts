import { PermanentError } from '@app/errors';
import { frameBytes } from '../frames.js';
import { CorruptInstanceError, type Part10File } from '../part10-reader.js';
import { inThreadDecoder, type FrameDecoder, type PixelDescription } from '../pixel/index.js';
import type { PlannedSlice, VolumeGeometry, VolumePlan } from './plan-volume.js';

/**
 * A CT volume in Hounsfield units, filled instance by instance as they arrive
 * (in any order) so that only one instance's bytes are held at a time.
 */

export interface CtVolume {
  geometry: VolumeGeometry;
  /** HU at (i, j, k) is hu[k * rows * columns + j * columns + i]. */
  hu: Int16Array | Float32Array;
  slices: PlannedSlice[];
  huRange: { min: number; max: number };
  transferSyntaxes: string[];
  warnings: string[];
}

/** The decoded volume cannot be a CT: a decoder failure or a wrong series. Permanent. */
export class ImplausibleVolumeError extends PermanentError {
  constructor(message: string) {
    super('CORRUPT_INSTANCE', message);
  }
}

export interface VolumeSanityRules {
  /** Lowest plausible HU; scanners pad outside the field of view with -1024 … -3024. */
  minHu: number;
  /** Highest plausible HU (metal on extended-scale scanners). */
  maxHu: number;
  /** A chest CT holds air: some voxel must be below this HU. */
  airBelowHu: number;
  /** …and soft tissue or bone: some voxel must be above this HU. */
  tissueAboveHu: number;
}

export const DEFAULT_SANITY_RULES: VolumeSanityRules = {
  minHu: -3100,
  maxHu: 31000,
  airBelowHu: -500,
  tissueAboveHu: -200,
};

function pixelDescription(file: Part10File): PixelDescription {
  const d = file.dataset;
  const samplesPerPixel = d.number('SamplesPerPixel') ?? 1;
  if (samplesPerPixel !== 1)
    throw new CorruptInstanceError(`${samplesPerPixel} samples per pixel: not a grayscale CT image`);
  const bitsAllocated = d.number('BitsAllocated') ?? 16;
  return {
    rows: d.number('Rows') ?? 0,
    columns: d.number('Columns') ?? 0,
    samplesPerPixel,
    bitsAllocated,
    bitsStored: d.number('BitsStored') ?? bitsAllocated,
    highBit: d.number('HighBit') ?? bitsAllocated - 1,
    pixelRepresentation: d.number('PixelRepresentation') === 1 ? 1 : 0,
    photometricInterpretation: d.string('PhotometricInterpretation') ?? 'MONOCHROME2',
  };
}

const sliceKey = (sopInstanceUid: string, frameNumber?: number) => `${sopInstanceUid}#${frameNumber ?? 0}`;

export class VolumeBuilder {
  private readonly hu: Int16Array | Float32Array;
  private readonly indexByKey = new Map<string, number>();
  private readonly filled: Uint8Array;
  private readonly transferSyntaxes = new Set<string>();
  /** The true extremes of every frame (values beyond Int16 are clamped when stored, but count here). */
  private range = { min: Infinity, max: -Infinity };

  constructor(
    private readonly plan: VolumePlan,
    private readonly decoder: FrameDecoder = inThreadDecoder,
  ) {
    const { columns, rows, slices } = plan.geometry;
    const integral = plan.slices.every((s) => Number.isInteger(s.rescaleSlope) && Number.isInteger(s.rescaleIntercept));
    // Int16 halves the memory of Float32 and holds every HU a scanner writes with an integer rescale.
    this.hu = integral ? new Int16Array(columns * rows * slices) : new Float32Array(columns * rows * slices);
    this.filled = new Uint8Array(slices);
    plan.slices.forEach((slice, k) =>
      this.indexByKey.set(sliceKey(slice.source.sopInstanceUid, slice.source.frameNumber), k),
    );
  }

  /** Decodes every frame of an instance of the planned series into its place. */
  async addInstance(file: Part10File): Promise<void> {
    const sopInstanceUid = file.dataset.string('SOPInstanceUID') ?? '';
    const frames = frameBytes(file);
    const pixel = pixelDescription(file);
    const { columns, rows } = this.plan.geometry;
    if (pixel.rows !== rows || pixel.columns !== columns) {
      throw new CorruptInstanceError(
        `instance ${sopInstanceUid} is ${pixel.rows}x${pixel.columns}, the plan ${rows}x${columns}`,
      );
    }
    this.transferSyntaxes.add(file.transferSyntaxUid);
    const multiFrame = file.dataset.sequence('PerFrameFunctionalGroupsSequence').length > 0;
    for (let f = 0; f < frames.length; f++) {
      const k = this.indexByKey.get(sliceKey(sopInstanceUid, multiFrame ? f + 1 : undefined));
      if (k === undefined) continue; // an instance the plan dropped as a duplicate
      const { rescaleSlope: slope, rescaleIntercept: intercept } = this.plan.slices[k];
      // Rescaled on the decoding threads; here only a copy into place.
      const output = this.hu instanceof Float32Array ? 'float32' : 'int16';
      const frame = await this.decoder.decodeRescaled(file.transferSyntaxUid, frames[f], pixel, {
        slope,
        intercept,
        output,
      });
      this.hu.set(frame.values, k * rows * columns);
      this.range = { min: Math.min(this.range.min, frame.min), max: Math.max(this.range.max, frame.max) };
      this.filled[k] = 1;
    }
  }

  /** Checks that every slice arrived and that the values look like a CT, then hands the volume over. */
  finish(rules: VolumeSanityRules = DEFAULT_SANITY_RULES): CtVolume {
    const missing = this.filled.reduce((count, done) => count + (done ? 0 : 1), 0);
    if (missing > 0) throw new CorruptInstanceError(`${missing} of ${this.filled.length} slices never arrived`);
    const { min, max } = this.range;
    // The same verdicts as a pass over every voxel: a value counts as air first, else as tissue.
    const air = min < rules.airBelowHu;
    const tissue = max > rules.tissueAboveHu && max >= rules.airBelowHu;
    const range = `HU ${min} … ${max}`;
    if (min === max)
      throw new ImplausibleVolumeError(`the volume is constant (${range}): decoding failed or the series is blank`);
    if (min < rules.minHu || max > rules.maxHu) {
      throw new ImplausibleVolumeError(
        `implausible ${range} (expected ${rules.minHu} … ${rules.maxHu}): wrong signedness or rescale?`,
      );
    }
    if (!air || !tissue) {
      throw new ImplausibleVolumeError(
        `${range} lacks ${air ? 'soft tissue' : 'air'}: not a chest CT, or a decoder failure`,
      );
    }
    return {
      geometry: this.plan.geometry,
      hu: this.hu,
      slices: this.plan.slices,
      huRange: { min, max },
      transferSyntaxes: [...this.transferSyntaxes],
      warnings: [...this.plan.warnings],
    };
  }
}
