/**
 * DICOM SR writer: the triage measurements of one study as a TID 1500 Imaging
 * Measurement Report (Comprehensive SR) that references our SEG. See docs/sr.md.
 */
export { LOCAL_SCHEME, SrCodes, Units } from './codes.js';
export type { SrCode } from './codes.js';
export {
  DEFAULT_SR_SERIES_NUMBER,
  deviceObserverUid,
  DISCLAIMER,
  NOT_FOR_CLINICAL_USE,
  SEGMENTATION_SOP_CLASS,
  SrInputError,
  SrSopClass,
  srUids,
  TRACKING_IDENTIFIERS,
  writeMeasurementReport,
} from './sr-writer.js';
export type {
  SrEquipment,
  SrInput,
  SrOptions,
  SrResult,
  SrSegmentationReference,
  SrSourceInstance,
} from './sr-writer.js';
