/**
 * DICOM SR encoder: the triage measurements of one study as a TID 1500 Imaging
 * Measurement Report (Comprehensive SR) that references our SEG. See docs/sr.md.
 */
export { LOCAL_SCHEME, SrCodes, Units } from './codes.js';
export type { SrCode } from './codes.js';
export { DEFAULT_SR_SERIES_NUMBER, encodeMeasurementReport, srUids } from './encode-measurement-report.js';
export type { SrInput, SrOptions, SrSegmentationReference, SrSourceInstance } from './encode-measurement-report.js';
export { deviceObserverUid, TRACKING_IDENTIFIERS } from './report-content.js';
