export { JsonAttributes, jsonKey, tagOf } from './attributes.js';
export { codeItem } from './coded-concept.js';
export type { CodedConcept } from './coded-concept.js';
export type { DicomAttributes } from './attributes.js';
export { lookupKeyword } from './dictionary.js';
export type { VR } from './dictionary.js';
export {
  DerivedObjectInputError,
  derivedObjectHeader,
  derivedObjectUids,
  encodedDerivedObject,
  DISCLAIMER,
  NOT_FOR_CLINICAL_USE,
  ourEquipment,
} from './derived-object.js';
export type { DerivedObjectHeader, DerivedObjectIdentity, Equipment } from './derived-object.js';
export { dicomObjectRef } from './dicom-object.js';
export type { DicomObjectRef, EncodedDicomObject } from './dicom-object.js';
export { frameBytes } from './frames.js';
export type { Vec3 } from './geometry.js';
export { CorruptInstanceError, readPart10 } from './part10-reader.js';
export type { Part10Dataset, Part10File, ReadOptions } from './part10-reader.js';
export {
  encodeDataset,
  EXPLICIT_VR_LITTLE_ENDIAN,
  formatDecimalString,
  IMPLEMENTATION_CLASS_UID,
  writePart10,
} from './part10-writer.js';
export type { Dataset, ElementValue, ExplicitValue } from './part10-writer.js';
export * from './pixel/index.js';
export { DEFAULT_SELECTION_RULES, NoUsableSeriesError, orientationOf, selectSeries } from './series/select-series.js';
export type {
  RejectedSeries,
  SelectedSeries,
  SeriesCandidate,
  SeriesSelection,
  SeriesSelectionRules,
} from './series/select-series.js';
export { SopClass } from './sop-classes.js';
export { deterministicUid, deterministicUuid, isDicomUid, newUid } from './uid.js';
export { DEFAULT_SANITY_RULES, ImplausibleVolumeError, VolumeBuilder } from './volume/ct-volume.js';
export type { CtVolume, VolumeSanityRules } from './volume/ct-volume.js';
export { DEFAULT_TOLERANCES, InvalidGeometryError, planVolume } from './volume/plan-volume.js';
export type {
  GeometryTolerances,
  PlannedSlice,
  SliceSource,
  VolumeGeometry,
  VolumePlan,
} from './volume/plan-volume.js';
