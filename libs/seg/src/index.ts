/**
 * DICOM Segmentation (SEG) writer: lung and lesion masks of a CT volume as one
 * BINARY or LABELMAP multi-frame object. See docs/seg.md.
 */
export { codeItem, Codes, COVID_LESION, LEFT_LUNG, RIGHT_LUNG } from './codes.js';
export type { CodedConcept, SegmentDescriptor } from './codes.js';
export { BitPacker, labelFrames, unpackBits } from './pixels.js';
export {
  DEFAULT_SEG_SERIES_NUMBER,
  NOT_FOR_CLINICAL_USE,
  SegInputError,
  SegSopClass,
  segUids,
  writeSegmentation,
} from './seg-writer.js';
export type {
  SegAlgorithm,
  SegEquipment,
  SegInput,
  SegmentationType,
  SegOptions,
  SegResult,
  SegSegment,
  SegSourceVolume,
} from './seg-writer.js';
