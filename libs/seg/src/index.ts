/**
 * DICOM Segmentation (SEG) encoder: lung and lesion masks of a CT volume as one
 * BINARY or LABELMAP multi-frame object. See docs/seg.md.
 */
export { codeItem, Codes, COVID_LESION, LEFT_LUNG, RIGHT_LUNG } from './codes.js';
export type { CodedConcept, SegmentDescriptor } from './codes.js';
export { BitPacker, labelFrames, unpackBits } from './pixels.js';
export { encodeSegmentation, segmentNumberOf, segUids } from './encode-segmentation.js';
export type {
  EncodedSegment,
  EncodedSegmentation,
  SegAlgorithm,
  SegInput,
  SegmentationType,
  SegOptions,
  SegSegment,
  SegSourceVolume,
} from './encode-segmentation.js';
export { DEFAULT_SEG_SERIES_NUMBER } from './segmentation-dataset.js';
