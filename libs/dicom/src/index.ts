export { lookupKeyword } from './dictionary.js';
export type { VR } from './dictionary.js';
export {
  encodeDataset,
  EXPLICIT_VR_LITTLE_ENDIAN,
  formatDecimalString,
  IMPLEMENTATION_CLASS_UID,
  writePart10,
} from './part10-writer.js';
export type { Dataset, ElementValue, ExplicitValue } from './part10-writer.js';
export { CT_IMAGE_STORAGE, syntheticCtSeries } from './synthetic-ct.js';
export type { SyntheticCtOptions, SyntheticCtSeries, SyntheticInstance } from './synthetic-ct.js';
export { deterministicUid, newUid } from './uid.js';
