/**
 * DICOM Segmentation (SEG) encoder: lung and lesion masks of a CT volume as one
 * BINARY or LABELMAP multi-frame object. See docs/seg.md.
 */
export { Codes, COVID_LESION, LEFT_LUNG, RIGHT_LUNG } from './codes.js';
export type { SegmentDescriptor } from './codes.js';
export { BitPacker, labelFrames, unpackBits } from './pixels.js';
export { DEFAULT_SEG_SERIES_NUMBER, encodeSegmentation, segmentNumberOf, segUids } from './encode-segmentation.js';
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
