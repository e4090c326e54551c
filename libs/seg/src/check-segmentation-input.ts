import { DerivedObjectInputError } from '@app/dicom';
import type { SegInput, SegmentationType } from './encode-segmentation.js';

/** The UIDs the SEG needs from its source, once the input is known to be usable. */
export interface CheckedSegSource {
  studyInstanceUid: string;
  sourceSeriesUid: string;
  frameOfReferenceUid: string;
}

function checkLength(what: string, text: string, max: number): string {
  if (text.length > max) throw new DerivedObjectInputError(`${what} is longer than ${max} characters: ${text}`);
  return text;
}

/** Refuses input no valid SEG can be made of (mask sizes, missing UIDs, long strings). */
export function checkSegmentationInput(input: SegInput, type: SegmentationType): CheckedSegSource {
  const { volume, sourceInstance: source, algorithm, segments } = input;
  const { geometry } = volume;
  const { columns, rows } = geometry;
  const sliceCount = volume.slices.length;
  const voxels = rows * columns * sliceCount;

  if (segments.length === 0) throw new DerivedObjectInputError('a SEG needs at least one segment');
  if (type === 'LABELMAP' && segments.length > 255) {
    throw new DerivedObjectInputError(`an 8-bit LABELMAP holds at most 255 segments, not ${segments.length}`);
  }
  if (sliceCount === 0 || sliceCount !== geometry.slices) {
    throw new DerivedObjectInputError(`the volume lists ${sliceCount} slices but its geometry ${geometry.slices}`);
  }
  segments.forEach((segment, s) => {
    if (!(segment.mask instanceof Uint8Array)) {
      throw new DerivedObjectInputError(`segment ${s + 1} mask is not a Uint8Array`);
    }
    if (segment.mask.length !== voxels) {
      throw new DerivedObjectInputError(
        `segment ${s + 1} (${segment.label}) mask has ${segment.mask.length} voxels, the volume ${columns}x${rows}x${sliceCount} = ${voxels}`,
      );
    }
  });
  const studyInstanceUid = source.string('StudyInstanceUID');
  const sourceSeriesUid = source.string('SeriesInstanceUID');
  if (!studyInstanceUid || !sourceSeriesUid) {
    throw new DerivedObjectInputError('the source instance has no StudyInstanceUID or SeriesInstanceUID');
  }
  const sourceSop = source.string('SOPInstanceUID');
  if (!sourceSop || !volume.slices.some((slice) => slice.source.sopInstanceUid === sourceSop)) {
    throw new DerivedObjectInputError(
      `the source instance ${sourceSop ?? '(no SOPInstanceUID)'} is not a slice of the volume`,
    );
  }
  if (!geometry.frameOfReferenceUid) throw new DerivedObjectInputError('the volume has no FrameOfReferenceUID');
  checkLength('AlgorithmName', algorithm.name, 64);
  checkLength('AlgorithmVersion', algorithm.version, 64);
  segments.forEach((segment) => checkLength('SegmentLabel', segment.label, 64));
  return { studyInstanceUid, sourceSeriesUid, frameOfReferenceUid: geometry.frameOfReferenceUid };
}
