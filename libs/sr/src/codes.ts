import type { CodedConcept } from '@app/dicom';

/**
 * Every coded concept the SR writer uses, in one place. Standard codes were checked
 * against the DICOM code dictionary that pydicom 3.0.2 bundles (PS3.16 2025) and
 * against what highdicom 0.28 writes for TID 1500; the meanings are copied from there.
 * See docs/sr.md for why each was chosen.
 */

/** The SR's codes are coded concepts of @app/dicom, of any scheme. */
export type SrCode = CodedConcept;

/**
 * Our local coding scheme (PS3.16 8.2: private designators start with "99") for the
 * quantities no standard code covers. It is declared in the SR's Coding Scheme
 * Identification Sequence.
 */
export const LOCAL_SCHEME = {
  designator: '99COVIDTRIAGE',
  name: 'COVID-19 CT triage local codes',
  version: '1',
  responsibleOrganization: 'covid-ct-triage project (not a registered organization)',
} as const;

export const SrCodes = {
  // TID 1500 Measurement Report and its containers
  imagingMeasurementReport: { value: '126000', scheme: 'DCM', meaning: 'Imaging Measurement Report' },
  languageOfContent: { value: '121049', scheme: 'DCM', meaning: 'Language of Content Item and Descendants' },
  english: { value: 'en-US', scheme: 'RFC5646', meaning: 'English (United States)' },
  procedureReported: { value: '121058', scheme: 'DCM', meaning: 'Procedure reported' },
  /** CID 100 is extensible; DICOM gives this LOINC code the meaning "CT Chest Report" (CID 7000). */
  ctChest: { value: '24627-2', scheme: 'LN', meaning: 'CT Chest Report' },
  imageLibrary: { value: '111028', scheme: 'DCM', meaning: 'Image Library' },
  imageLibraryGroup: { value: '126200', scheme: 'DCM', meaning: 'Image Library Group' },
  source: { value: '260753009', scheme: 'SCT', meaning: 'Source' },
  imagingMeasurements: { value: '126010', scheme: 'DCM', meaning: 'Imaging Measurements' },
  measurementGroup: { value: '125007', scheme: 'DCM', meaning: 'Measurement Group' },
  qualitativeEvaluations: { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' },
  comment: { value: '121106', scheme: 'DCM', meaning: 'Comment' },
  // TID 1002/1004 observer context
  observerType: { value: '121005', scheme: 'DCM', meaning: 'Observer Type' },
  device: { value: '121007', scheme: 'DCM', meaning: 'Device' },
  deviceObserverUid: { value: '121012', scheme: 'DCM', meaning: 'Device Observer UID' },
  deviceObserverName: { value: '121013', scheme: 'DCM', meaning: 'Device Observer Name' },
  deviceObserverManufacturer: { value: '121014', scheme: 'DCM', meaning: 'Device Observer Manufacturer' },
  deviceObserverModelName: { value: '121015', scheme: 'DCM', meaning: 'Device Observer Model Name' },
  // TID 1411 / 1501 / 4108 / 4019 / 300
  trackingIdentifier: { value: '112039', scheme: 'DCM', meaning: 'Tracking Identifier' },
  trackingUid: { value: '112040', scheme: 'DCM', meaning: 'Tracking Unique Identifier' },
  finding: { value: '121071', scheme: 'DCM', meaning: 'Finding' },
  findingSite: { value: '363698007', scheme: 'SCT', meaning: 'Finding Site' },
  laterality: { value: '272741003', scheme: 'SCT', meaning: 'Laterality' },
  algorithmName: { value: '111001', scheme: 'DCM', meaning: 'Algorithm Name' },
  algorithmVersion: { value: '111003', scheme: 'DCM', meaning: 'Algorithm Version' },
  referencedSegment: { value: '121191', scheme: 'DCM', meaning: 'Referenced Segment' },
  sourceSeriesForSegmentation: { value: '121232', scheme: 'DCM', meaning: 'Source series for segmentation' },
  equivalentMeaningOfConceptName: { value: '121050', scheme: 'DCM', meaning: 'Equivalent Meaning of Concept Name' },
  // Findings, sites, laterality (CID 244)
  lung: { value: '39607008', scheme: 'SCT', meaning: 'Lung' },
  lesion: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' },
  left: { value: '7771000', scheme: 'SCT', meaning: 'Left' },
  right: { value: '24028007', scheme: 'SCT', meaning: 'Right' },
  bilateral: { value: '51440002', scheme: 'SCT', meaning: 'Bilateral' },
  // Quantities
  volume: { value: '118565006', scheme: 'SCT', meaning: 'Volume' },
  probability: { value: '122157', scheme: 'DCM', meaning: 'Probability' },
  percentAffected: {
    value: 'LUNGPCTAFFECTED',
    scheme: LOCAL_SCHEME.designator,
    meaning: 'Percentage of lung volume affected by lesion',
  },
  severity: {
    value: 'SEVERITYPCT',
    scheme: LOCAL_SCHEME.designator,
    meaning: 'COVID-19 severity, percent of the more affected lung',
  },
} as const satisfies Record<string, SrCode>;

/** UCUM units (CID 7181 meanings as pydicom lists them, "mL" as highdicom writes it). */
export const Units = {
  milliliter: { value: 'mL', scheme: 'UCUM', meaning: 'milliliter' },
  percent: { value: '%', scheme: 'UCUM', meaning: 'Percent' },
  /** Probability as a fraction from 0 to 1. */
  noUnits: { value: '1', scheme: 'UCUM', meaning: 'no units' },
} as const satisfies Record<string, SrCode>;
