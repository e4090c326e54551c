/**
 * The data elements this project writes, by keyword (PS3.6). Writing by keyword
 * keeps datasets readable; a keyword missing here is a programming error and throws.
 */
// prettier-ignore
export type VR =
  | 'AE' | 'AS' | 'AT' | 'CS' | 'DA' | 'DS' | 'DT' | 'FD' | 'FL' | 'IS' | 'LO' | 'LT' | 'OB' | 'OD' | 'OF'
  | 'OL' | 'OV' | 'OW' | 'PN' | 'SH' | 'SL' | 'SQ' | 'SS' | 'ST' | 'SV' | 'TM' | 'UC' | 'UI' | 'UL' | 'UN'
  | 'UR' | 'US' | 'UT' | 'UV';

export interface DictionaryEntry {
  tag: number;
  vr: VR;
}

// prettier-ignore
const ENTRIES: Record<string, [number, VR]> = {
  // File meta information (group 0002)
  FileMetaInformationGroupLength: [0x00020000, 'UL'],
  FileMetaInformationVersion: [0x00020001, 'OB'],
  MediaStorageSOPClassUID: [0x00020002, 'UI'],
  MediaStorageSOPInstanceUID: [0x00020003, 'UI'],
  TransferSyntaxUID: [0x00020010, 'UI'],
  ImplementationClassUID: [0x00020012, 'UI'],
  ImplementationVersionName: [0x00020013, 'SH'],
  // SOP common, general study/series/equipment/image
  SpecificCharacterSet: [0x00080005, 'CS'],
  ImageType: [0x00080008, 'CS'],
  InstanceCreationDate: [0x00080012, 'DA'],
  InstanceCreationTime: [0x00080013, 'TM'],
  SOPClassUID: [0x00080016, 'UI'],
  SOPInstanceUID: [0x00080018, 'UI'],
  StudyDate: [0x00080020, 'DA'],
  SeriesDate: [0x00080021, 'DA'],
  ContentDate: [0x00080023, 'DA'],
  StudyTime: [0x00080030, 'TM'],
  SeriesTime: [0x00080031, 'TM'],
  ContentTime: [0x00080033, 'TM'],
  AccessionNumber: [0x00080050, 'SH'],
  Modality: [0x00080060, 'CS'],
  Manufacturer: [0x00080070, 'LO'],
  ReferringPhysicianName: [0x00080090, 'PN'],
  CodeValue: [0x00080100, 'SH'],
  CodingSchemeDesignator: [0x00080102, 'SH'],
  CodeMeaning: [0x00080104, 'LO'],
  StudyDescription: [0x00081030, 'LO'],
  SeriesDescription: [0x0008103e, 'LO'],
  ManufacturerModelName: [0x00081090, 'LO'],
  ReferencedSeriesSequence: [0x00081115, 'SQ'],
  ReferencedSOPClassUID: [0x00081150, 'UI'],
  ReferencedSOPInstanceUID: [0x00081155, 'UI'],
  DerivationDescription: [0x00082111, 'ST'],
  FrameType: [0x00089007, 'CS'],
  // Patient
  PatientName: [0x00100010, 'PN'],
  PatientID: [0x00100020, 'LO'],
  PatientBirthDate: [0x00100030, 'DA'],
  PatientSex: [0x00100040, 'CS'],
  // CT acquisition and image
  BodyPartExamined: [0x00180015, 'CS'],
  SliceThickness: [0x00180050, 'DS'],
  KVP: [0x00180060, 'DS'],
  SpacingBetweenSlices: [0x00180088, 'DS'],
  DataCollectionDiameter: [0x00180090, 'DS'],
  ReconstructionDiameter: [0x00181100, 'DS'],
  SoftwareVersions: [0x00181020, 'LO'],
  GantryDetectorTilt: [0x00181120, 'DS'],
  ConvolutionKernel: [0x00181210, 'SH'],
  PatientPosition: [0x00185100, 'CS'],
  CTImageFrameTypeSequence: [0x00189329, 'SQ'],
  StudyInstanceUID: [0x0020000d, 'UI'],
  SeriesInstanceUID: [0x0020000e, 'UI'],
  StudyID: [0x00200010, 'SH'],
  SeriesNumber: [0x00200011, 'IS'],
  AcquisitionNumber: [0x00200012, 'IS'],
  InstanceNumber: [0x00200013, 'IS'],
  ImagePositionPatient: [0x00200032, 'DS'],
  ImageOrientationPatient: [0x00200037, 'DS'],
  FrameOfReferenceUID: [0x00200052, 'UI'],
  PositionReferenceIndicator: [0x00201040, 'LO'],
  SliceLocation: [0x00201041, 'DS'],
  // QIDO-RS return keys (PS3.18 table 10.6.1-5/-6): what a study and a series hold.
  NumberOfStudyRelatedSeries: [0x00201206, 'IS'],
  NumberOfStudyRelatedInstances: [0x00201208, 'IS'],
  NumberOfSeriesRelatedInstances: [0x00201209, 'IS'],
  PlanePositionSequence: [0x00209113, 'SQ'],
  PlaneOrientationSequence: [0x00209116, 'SQ'],
  // Image pixel
  SamplesPerPixel: [0x00280002, 'US'],
  PhotometricInterpretation: [0x00280004, 'CS'],
  PlanarConfiguration: [0x00280006, 'US'],
  NumberOfFrames: [0x00280008, 'IS'],
  Rows: [0x00280010, 'US'],
  Columns: [0x00280011, 'US'],
  PixelSpacing: [0x00280030, 'DS'],
  BitsAllocated: [0x00280100, 'US'],
  BitsStored: [0x00280101, 'US'],
  HighBit: [0x00280102, 'US'],
  PixelRepresentation: [0x00280103, 'US'],
  WindowCenter: [0x00281050, 'DS'],
  WindowWidth: [0x00281051, 'DS'],
  RescaleIntercept: [0x00281052, 'DS'],
  RescaleSlope: [0x00281053, 'DS'],
  RescaleType: [0x00281054, 'LO'],
  PixelMeasuresSequence: [0x00289110, 'SQ'],
  PixelValueTransformationSequence: [0x00289145, 'SQ'],
  SharedFunctionalGroupsSequence: [0x52009229, 'SQ'],
  PerFrameFunctionalGroupsSequence: [0x52009230, 'SQ'],
  ExtendedOffsetTable: [0x7fe00001, 'OV'],
  ExtendedOffsetTableLengths: [0x7fe00002, 'OV'],
  PixelData: [0x7fe00010, 'OW'],
  // Derived objects (SEG): references, derivation, equipment, patient study, de-identification
  ReferencedInstanceSequence: [0x0008114a, 'SQ'],
  ReferencedFrameNumber: [0x00081160, 'IS'],
  SourceImageSequence: [0x00082112, 'SQ'],
  DerivationImageSequence: [0x00089124, 'SQ'],
  DerivationCodeSequence: [0x00089215, 'SQ'],
  IssuerOfPatientID: [0x00100021, 'LO'],
  PatientAge: [0x00101010, 'AS'],
  PatientSize: [0x00101020, 'DS'],
  PatientWeight: [0x00101030, 'DS'],
  PatientIdentityRemoved: [0x00120062, 'CS'],
  DeidentificationMethod: [0x00120063, 'LO'],
  DeviceSerialNumber: [0x00181000, 'LO'],
  SpatialLocationsPreserved: [0x0028135a, 'CS'],
  PixelPaddingValue: [0x00280120, 'US'], // US or SS by PixelRepresentation: we write US (SEG label maps)
  LossyImageCompression: [0x00282110, 'CS'],
  PurposeOfReferenceCodeSequence: [0x0040a170, 'SQ'],
  PresentationLUTShape: [0x20500020, 'CS'],
  // Multi-frame functional groups and dimensions (PS3.3 C.7.6.16, C.7.6.17)
  FrameContentSequence: [0x00209111, 'SQ'],
  DimensionIndexValues: [0x00209157, 'UL'],
  DimensionOrganizationUID: [0x00209164, 'UI'],
  DimensionIndexPointer: [0x00209165, 'AT'],
  FunctionalGroupPointer: [0x00209167, 'AT'],
  DimensionOrganizationSequence: [0x00209221, 'SQ'],
  DimensionIndexSequence: [0x00209222, 'SQ'],
  DimensionOrganizationType: [0x00209311, 'CS'],
  DimensionDescriptionLabel: [0x00209421, 'LO'],
  // Segmentation (PS3.3 C.8.20)
  SegmentationType: [0x00620001, 'CS'],
  SegmentSequence: [0x00620002, 'SQ'],
  SegmentedPropertyCategoryCodeSequence: [0x00620003, 'SQ'],
  SegmentNumber: [0x00620004, 'US'],
  SegmentLabel: [0x00620005, 'LO'],
  SegmentDescription: [0x00620006, 'ST'],
  SegmentationAlgorithmIdentificationSequence: [0x00620007, 'SQ'],
  SegmentAlgorithmType: [0x00620008, 'CS'],
  SegmentAlgorithmName: [0x00620009, 'LO'],
  SegmentIdentificationSequence: [0x0062000a, 'SQ'],
  ReferencedSegmentNumber: [0x0062000b, 'US'],
  RecommendedDisplayCIELabValue: [0x0062000d, 'US'],
  SegmentedPropertyTypeCodeSequence: [0x0062000f, 'SQ'],
  SegmentedPropertyTypeModifierCodeSequence: [0x00620011, 'SQ'],
  SegmentsOverlap: [0x00620013, 'CS'],
  AlgorithmFamilyCodeSequence: [0x0066002f, 'SQ'],
  AlgorithmVersion: [0x00660031, 'LO'],
  AlgorithmName: [0x00660036, 'LO'],
  ContentLabel: [0x00700080, 'CS'],
  ContentDescription: [0x00700081, 'LO'],
  ContentCreatorName: [0x00700084, 'PN'],
  // Structured Reporting (PS3.3 C.17: SR Document General and Content, C.18 content items; SOP Common coding schemes)
  ReferencedPerformedProcedureStepSequence: [0x00081111, 'SQ'],
  ReferencedSOPSequence: [0x00081199, 'SQ'],
  CodingSchemeVersion: [0x00080103, 'SH'],
  MappingResource: [0x00080105, 'CS'],
  CodingSchemeUID: [0x0008010c, 'UI'],
  CodingSchemeIdentificationSequence: [0x00080110, 'SQ'],
  CodingSchemeRegistry: [0x00080112, 'LO'],
  CodingSchemeName: [0x00080115, 'ST'],
  CodingSchemeResponsibleOrganization: [0x00080116, 'ST'],
  MeasurementUnitsCodeSequence: [0x004008ea, 'SQ'],
  RelationshipType: [0x0040a010, 'CS'],
  ValueType: [0x0040a040, 'CS'],
  ConceptNameCodeSequence: [0x0040a043, 'SQ'],
  ContinuityOfContent: [0x0040a050, 'CS'],
  UID: [0x0040a124, 'UI'],
  TextValue: [0x0040a160, 'UT'],
  FloatingPointValue: [0x0040a161, 'FD'],
  ConceptCodeSequence: [0x0040a168, 'SQ'],
  MeasuredValueSequence: [0x0040a300, 'SQ'],
  NumericValue: [0x0040a30a, 'DS'],
  PerformedProcedureCodeSequence: [0x0040a372, 'SQ'],
  CurrentRequestedProcedureEvidenceSequence: [0x0040a375, 'SQ'],
  CompletionFlag: [0x0040a491, 'CS'],
  VerificationFlag: [0x0040a493, 'CS'],
  PreliminaryFlag: [0x0040a496, 'CS'],
  ContentTemplateSequence: [0x0040a504, 'SQ'],
  ContentSequence: [0x0040a730, 'SQ'],
  TemplateIdentifier: [0x0040db00, 'CS'],
};

const BY_KEYWORD = new Map<string, DictionaryEntry>(
  Object.entries(ENTRIES).map(([keyword, [tag, vr]]) => [keyword, { tag, vr }]),
);

const VR_BY_TAG = new Map<number, VR>(Object.values(ENTRIES).map(([tag, vr]) => [tag, vr]));

export function lookupKeyword(keyword: string): DictionaryEntry {
  const entry = BY_KEYWORD.get(keyword);
  if (!entry) throw new Error(`DICOM keyword not in the project's dictionary: ${keyword}`);
  return entry;
}

/** The VR of a tag for Implicit VR files; tags we never read come back as UN (raw bytes). */
export function vrOfTag(tag: number): VR {
  if ((tag & 0xffff) === 0 && tag >>> 16 !== 0xfffe) return 'UL'; // group lengths
  return VR_BY_TAG.get(tag) ?? 'UN';
}
