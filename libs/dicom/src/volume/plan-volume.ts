import { PermanentError } from '@app/errors';
import type { DicomAttributes } from '../attributes.js';
import { dot, norm, sameOrientation, sliceNormal, type Vec3 } from '../geometry.js';

/**
 * Turns the instances of one series into a volume plan: slices sorted by their
 * position along the slice normal (never by InstanceNumber or file name), with
 * orientation, spacing, gaps, duplicates and gantry tilt checked. Works for
 * classic CT (one slice per instance) and Enhanced CT (one slice per frame).
 */

/** The series does not form one regular 3D grid. Permanent. */
export class InvalidGeometryError extends PermanentError {
  constructor(message: string) {
    super('INVALID_GEOMETRY', message);
  }
}

export interface GeometryTolerances {
  /** Two slices closer than this along the normal share a position, mm. */
  samePositionMm: number;
  /** A step may differ from the median step by this fraction before the series counts as irregular. */
  spacingRelative: number;
  /** In-plane drift between consecutive slices (gantry tilt) tolerated, mm. */
  inPlaneShiftMm: number;
}

export const DEFAULT_TOLERANCES: GeometryTolerances = {
  samePositionMm: 0.01,
  spacingRelative: 0.05,
  inPlaneShiftMm: 0.05,
};

/** Where a slice of the volume comes from: what a DICOM SEG's Derivation Image must reference. */
export interface SliceSource {
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based frame number within a multi-frame instance; undefined for single-frame instances. */
  frameNumber?: number;
}

export interface PlannedSlice {
  source: SliceSource;
  /** ImagePositionPatient of the slice, mm. */
  position: Vec3;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export interface VolumeGeometry {
  columns: number;
  rows: number;
  slices: number;
  /** Spacing along columns (i), rows (j) and slices (k), mm. */
  spacing: Vec3;
  /** ImagePositionPatient of voxel (0,0,0), mm (DICOM LPS patient space). */
  origin: Vec3;
  /** Unit vectors of increasing i (along a row), j (down a column) and k (next slice). */
  directions: [Vec3, Vec3, Vec3];
  /** ImageOrientationPatient shared by every slice. */
  imageOrientation: number[];
  /** Voxel (i, j, k, 1) → patient (x, y, z, 1), row-major 4×4. */
  affine: number[];
  frameOfReferenceUid: string;
}

export interface VolumePlan {
  geometry: VolumeGeometry;
  /** In volume order: index k is slice k. */
  slices: PlannedSlice[];
  warnings: string[];
}

interface FrameAttributes {
  source: SliceSource;
  position: number[];
  orientation: number[];
  pixelSpacing: number[];
  rescaleSlope: number;
  rescaleIntercept: number;
}

function framesOf(instance: DicomAttributes): FrameAttributes[] {
  const sopInstanceUid = instance.string('SOPInstanceUID') ?? '';
  const sopClassUid = instance.string('SOPClassUID') ?? '';
  const perFrame = instance.sequence('PerFrameFunctionalGroupsSequence');
  // Each frame is positioned by its own group: a frame without one has no known place, and
  // planning only the others would analyse a partial volume.
  const frameCount = instance.number('NumberOfFrames') ?? 1;
  if (perFrame.length === 0 ? frameCount !== 1 : perFrame.length !== frameCount) {
    throw new InvalidGeometryError(
      `instance ${sopInstanceUid} has ${perFrame.length} per-frame functional groups for ${frameCount} frames`,
    );
  }
  if (perFrame.length === 0) {
    return [
      {
        source: { sopClassUid, sopInstanceUid },
        position: instance.numbers('ImagePositionPatient'),
        orientation: instance.numbers('ImageOrientationPatient'),
        pixelSpacing: instance.numbers('PixelSpacing'),
        rescaleSlope: instance.number('RescaleSlope') ?? 1,
        rescaleIntercept: instance.number('RescaleIntercept') ?? 0,
      },
    ];
  }
  // Enhanced CT: each functional group lives per frame or, once for all, in the shared groups.
  const shared = instance.sequence('SharedFunctionalGroupsSequence')[0];
  return perFrame.map((frame, index) => {
    const group = (name: string) => frame.sequence(name)[0] ?? shared?.sequence(name)[0];
    return {
      source: { sopClassUid, sopInstanceUid, frameNumber: index + 1 },
      position: group('PlanePositionSequence')?.numbers('ImagePositionPatient') ?? [],
      orientation: group('PlaneOrientationSequence')?.numbers('ImageOrientationPatient') ?? [],
      pixelSpacing: group('PixelMeasuresSequence')?.numbers('PixelSpacing') ?? [],
      rescaleSlope: group('PixelValueTransformationSequence')?.number('RescaleSlope') ?? 1,
      rescaleIntercept: group('PixelValueTransformationSequence')?.number('RescaleIntercept') ?? 0,
    };
  });
}

const mm = (value: number) => `${Number(value.toFixed(3))} mm`;

export function planVolume(
  instances: DicomAttributes[],
  tolerances: GeometryTolerances = DEFAULT_TOLERANCES,
): VolumePlan {
  const warnings: string[] = [];
  if (instances.length === 0) throw new InvalidGeometryError('the series has no instances');
  const first = instances[0];
  const rows = first.number('Rows') ?? 0;
  const columns = first.number('Columns') ?? 0;

  // Archives sometimes return an instance twice; the same SOP Instance UID is the same image.
  const seen = new Set<string>();
  const unique = instances.filter((instance) => {
    const uid = instance.string('SOPInstanceUID') ?? '';
    if (seen.has(uid)) {
      warnings.push(`duplicate SOP Instance UID ${uid} ignored`);
      return false;
    }
    seen.add(uid);
    return true;
  });
  for (const instance of unique) {
    if (instance.number('Rows') !== rows || instance.number('Columns') !== columns) {
      throw new InvalidGeometryError(
        `instances differ in matrix size (${rows}x${columns} vs ${instance.number('Rows')}x${instance.number('Columns')})`,
      );
    }
    const tilt = instance.number('GantryDetectorTilt');
    if (tilt !== undefined && Math.abs(tilt) > 0.01) {
      throw new InvalidGeometryError(
        `gantry tilt of ${tilt}° is not supported: the slices do not form an orthogonal grid`,
      );
    }
  }

  const frames = unique.flatMap(framesOf);
  const orientation = frames[0].orientation;
  if (orientation.length !== 6) throw new InvalidGeometryError('a slice has no ImageOrientationPatient');
  const [rowCosines, columnCosines] = [orientation.slice(0, 3), orientation.slice(3, 6)];
  if (
    Math.abs(norm(rowCosines) - 1) > 1e-3 ||
    Math.abs(norm(columnCosines) - 1) > 1e-3 ||
    Math.abs(dot(rowCosines, columnCosines)) > 1e-3
  ) {
    throw new InvalidGeometryError('ImageOrientationPatient is not two orthogonal unit vectors');
  }
  for (const frame of frames) {
    if (frame.position.length !== 3) throw new InvalidGeometryError('a slice has no ImagePositionPatient');
    if (!sameOrientation(frame.orientation, orientation))
      throw new InvalidGeometryError('slices have different orientations');
    if (frame.pixelSpacing.length !== 2 || frame.pixelSpacing.some((s) => !(s > 0))) {
      throw new InvalidGeometryError('a slice has no valid PixelSpacing');
    }
    if (frame.pixelSpacing.some((s, i) => Math.abs(s - frames[0].pixelSpacing[i]) > 1e-4)) {
      throw new InvalidGeometryError('slices have different pixel spacings');
    }
  }
  const normal = sliceNormal(orientation);
  const sorted = frames
    .map((frame) => ({ frame, distance: dot(frame.position, normal) }))
    .toSorted((a, b) => a.distance - b.distance);
  if (sorted.length < 2) throw new InvalidGeometryError('a volume needs at least 2 slices');

  const steps = sorted.slice(1).map((entry, i) => entry.distance - sorted[i].distance);
  const duplicate = steps.findIndex((step) => step < tolerances.samePositionMm);
  if (duplicate >= 0) {
    throw new InvalidGeometryError(
      `two different slices share the position ${mm(sorted[duplicate].distance)} along the normal (mixed acquisitions?)`,
    );
  }
  const median = steps.toSorted((a, b) => a - b)[Math.floor(steps.length / 2)];
  steps.forEach((step, i) => {
    if (Math.abs(step - median) <= tolerances.spacingRelative * median) return;
    const where = `between ${mm(sorted[i].distance)} and ${mm(sorted[i + 1].distance)}`;
    if (step > median) {
      const missing = Math.round(step / median) - 1;
      throw new InvalidGeometryError(
        `gap of ${mm(step)} ${where} (${missing > 0 ? `about ${missing} missing slice(s)` : 'irregular step'}; usual step ${mm(median)})`,
      );
    }
    throw new InvalidGeometryError(`irregular slice spacing: ${mm(step)} ${where}, usual step ${mm(median)}`);
  });
  // Consecutive positions must move along the normal only; a sideways drift is a tilted (sheared) stack.
  for (let i = 1; i < sorted.length; i++) {
    const delta = sorted[i].frame.position.map((p, axis) => p - sorted[i - 1].frame.position[axis]);
    const along = dot(delta, normal);
    const sideways = norm(delta.map((d, axis) => d - along * normal[axis]));
    if (sideways > tolerances.inPlaneShiftMm) {
      throw new InvalidGeometryError(
        `slices drift ${mm(sideways)} sideways per step (gantry tilt or a sheared stack): not an orthogonal grid`,
      );
    }
  }

  const rowDirection = orientation.slice(0, 3) as Vec3;
  const columnDirection = orientation.slice(3, 6) as Vec3;
  const [rowSpacing, columnSpacing] = frames[0].pixelSpacing as [number, number];
  const spacing: Vec3 = [columnSpacing, rowSpacing, median];
  const origin = sorted[0].frame.position as Vec3;
  const directions: [Vec3, Vec3, Vec3] = [rowDirection, columnDirection, normal];
  const affine = [
    ...[0, 1, 2].flatMap((axis) => [
      directions[0][axis] * spacing[0],
      directions[1][axis] * spacing[1],
      directions[2][axis] * spacing[2],
      origin[axis],
    ]),
    0,
    0,
    0,
    1,
  ];
  return {
    geometry: {
      columns,
      rows,
      slices: sorted.length,
      spacing,
      origin,
      directions,
      imageOrientation: orientation,
      affine,
      frameOfReferenceUid: first.string('FrameOfReferenceUID') ?? '',
    },
    slices: sorted.map(({ frame }) => ({
      source: frame.source,
      position: frame.position as Vec3,
      rescaleSlope: frame.rescaleSlope,
      rescaleIntercept: frame.rescaleIntercept,
    })),
    warnings,
  };
}
