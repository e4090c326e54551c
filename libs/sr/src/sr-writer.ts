import {
  derivedObjectHeader,
  deterministicUid,
  dicomDate,
  dicomTime,
  isDicomUid,
  writePart10,
  type Dataset,
  type DicomAttributes,
} from '@app/dicom';
import { PermanentError } from '@app/errors';
import {
  LUNG_REGIONS,
  type LungRegion,
  type LungRegionMeasurement,
  type ModelIdentity,
  type TriageMeasurements,
} from '@app/triage-contracts';
import { LOCAL_SCHEME, SrCodes, Units, type SrCode } from './codes.js';
import { codeContent, container, imageContent, numContent, textContent, uidrefContent } from './content.js';

/**
 * DICOM SR writer: the model's measurements of one study as a TID 1500 Imaging
 * Measurement Report in a Comprehensive SR (no SCOORD3D is used, so the 3D SOP class
 * is not needed), each region tied to our SEG by segment number. See docs/sr.md.
 */

export const SrSopClass = {
  ComprehensiveSR: '1.2.840.10008.5.1.4.1.1.88.33',
} as const;

export const SEGMENTATION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
export const DEFAULT_SR_SERIES_NUMBER = 9002;
export const NOT_FOR_CLINICAL_USE = 'NOT FOR CLINICAL USE';
export const DISCLAIMER =
  'NOT FOR CLINICAL USE. Automated research output of a COVID-19 chest CT triage model; not verified by a physician.';

/** The input is unusable (missing UIDs, impossible numbers, …): a programming or pipeline error. Permanent. */
export class SrInputError extends PermanentError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

export interface SrSourceInstance {
  sopClassUid: string;
  sopInstanceUid: string;
}

/** The SEG the measurements were computed from (what writeSegmentation returned, plus its segment numbers). */
export interface SrSegmentationReference {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** Default: Segmentation Storage (BINARY). */
  sopClassUid?: string;
  segmentNumbers: { leftLung: number; rightLung: number; lesion: number };
}

export interface SrEquipment {
  manufacturer: string;
  manufacturerModelName: string;
  deviceSerialNumber: string;
  softwareVersions: string | string[];
}

export interface SrOptions {
  /** ContentDate/Time (and series and instance creation), default now; fix it for byte-identical output. */
  contentDateTime?: Date;
  /** SeriesNumber, default 9002. */
  seriesNumber?: number;
  /** InstanceNumber, default 1. */
  instanceNumber?: number;
  /** CompletionFlag, default COMPLETE: the report holds every measurement the model makes. */
  completionFlag?: 'PARTIAL' | 'COMPLETE';
  equipment?: Partial<SrEquipment>;
}

export interface SrInput {
  /** One instance of the source series: patient and study attributes are copied from it. */
  sourceInstance: DicomAttributes;
  /** The series the model read: listed in the Image Library and in the evidence. */
  sourceSeries: { seriesInstanceUid: string; instances: readonly SrSourceInstance[] };
  segmentation: SrSegmentationReference;
  measurements: TriageMeasurements;
  options?: SrOptions;
}

export interface SrResult {
  /** The Part 10 file, Explicit VR Little Endian. */
  bytes: Buffer;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

/** Same inputs, same UIDs: a study processed twice gives the archive a duplicate, not a second report. */
export function srUids(
  sourceSeriesInstanceUid: string,
  model: Pick<ModelIdentity, 'id' | 'version'>,
): { seriesInstanceUid: string; sopInstanceUid: string } {
  const base = [sourceSeriesInstanceUid, model.id, model.version, 'SR'];
  return {
    seriesInstanceUid: deterministicUid(...base, 'series'),
    sopInstanceUid: deterministicUid(...base, 'instance'),
  };
}

/** The device observer is the model: one UID per model id and version, across studies. */
export function deviceObserverUid(model: Pick<ModelIdentity, 'id' | 'version'>): string {
  return deterministicUid('device-observer', model.id, model.version);
}

/** Tracking identifiers of the measurement groups, in document order. */
export const TRACKING_IDENTIFIERS = {
  lung: { left: 'Left lung', right: 'Right lung', both: 'Both lungs' },
  lesion: {
    left: 'COVID-19 lesion, left lung',
    right: 'COVID-19 lesion, right lung',
    both: 'COVID-19 lesion, both lungs',
  },
  study: 'COVID-19 triage, study level',
} as const;

const LATERALITY: Record<LungRegion, SrCode> = { left: SrCodes.left, right: SrCodes.right, both: SrCodes.bilateral };

/** Finding Site: lung, with the region's laterality (CID 244; both lungs: Bilateral). */
const lungSite = (region: LungRegion) =>
  codeContent('HAS CONCEPT MOD', SrCodes.findingSite, SrCodes.lung, [
    codeContent('HAS CONCEPT MOD', SrCodes.laterality, LATERALITY[region]),
  ]);

// ---------------------------------------------------------------- input checks

function checkText(what: string, text: string, max: number): string {
  if (typeof text !== 'string' || text.trim().length === 0) throw new SrInputError(`${what} is empty`);
  if (text.length > max) throw new SrInputError(`${what} is longer than ${max} characters: ${text}`);
  return text;
}

function checkUid(what: string, uid: string | undefined): string {
  if (!uid || !isDicomUid(uid)) throw new SrInputError(`${what} is not a UID: ${uid}`);
  return uid;
}

function checkNumber(what: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new SrInputError(`${what} must be a number from ${min} to ${max}, not ${value}`);
  }
  return value;
}

function checkMeasurements(measurements: TriageMeasurements): Map<LungRegion, LungRegionMeasurement> {
  const { model } = measurements;
  checkText('model id', model.id, 1024);
  checkText('model name', model.name, 64);
  checkText('model version', model.version, 64);
  checkNumber('covidProbability', measurements.covidProbability, 0, 1);
  checkNumber('severityPercent', measurements.severityPercent, 0, 100);
  const byRegion = new Map<LungRegion, LungRegionMeasurement>();
  for (const lung of measurements.lungs) {
    if (!LUNG_REGIONS.includes(lung.region)) throw new SrInputError(`unknown lung region ${lung.region as string}`);
    if (byRegion.has(lung.region)) throw new SrInputError(`lung region ${lung.region} is measured twice`);
    checkNumber(`${lung.region} lungVolumeMl`, lung.lungVolumeMl, 0, Number.MAX_VALUE);
    checkNumber(`${lung.region} lesionVolumeMl`, lung.lesionVolumeMl, 0, Number.MAX_VALUE);
    checkNumber(`${lung.region} percentAffected`, lung.percentAffected, 0, 100);
    byRegion.set(lung.region, lung);
  }
  const missing = LUNG_REGIONS.filter((region) => !byRegion.has(region));
  if (missing.length > 0) throw new SrInputError(`no measurements for lung region(s) ${missing.join(', ')}`);
  return byRegion;
}

function checkSegmentNumbers(segmentation: SrSegmentationReference): void {
  const numbers = Object.entries(segmentation.segmentNumbers ?? {});
  for (const [name, number] of numbers) {
    if (!Number.isInteger(number) || number < 1 || number > 0xffff) {
      throw new SrInputError(`segment number of ${name} must be an integer from 1 to 65535, not ${number}`);
    }
  }
  if (numbers.length !== 3 || new Set(numbers.map(([, n]) => n)).size !== 3) {
    throw new SrInputError('the left lung, right lung and lesion need three different segment numbers');
  }
}

// ---------------------------------------------------------------- the writer

export function writeMeasurementReport(input: SrInput): SrResult {
  const { sourceInstance: source, sourceSeries, segmentation, measurements } = input;
  const options = input.options ?? {};
  const { model } = measurements;

  // ---- Check the input ----
  const studyInstanceUid = checkUid('the source StudyInstanceUID', source.string('StudyInstanceUID'));
  const sourceSeriesUid = checkUid('the source SeriesInstanceUID', sourceSeries.seriesInstanceUid);
  if (source.string('SeriesInstanceUID') !== sourceSeriesUid) {
    throw new SrInputError(
      `the source instance is of series ${source.string('SeriesInstanceUID')}, not ${sourceSeriesUid}`,
    );
  }
  if (sourceSeries.instances.length === 0) throw new SrInputError('the source series lists no instances');
  const instances = new Map<string, string>();
  for (const instance of sourceSeries.instances) {
    checkUid('a source SOPClassUID', instance.sopClassUid);
    checkUid('a source SOPInstanceUID', instance.sopInstanceUid);
    instances.set(instance.sopInstanceUid, instance.sopClassUid); // once each, first-seen order
  }
  const segSopInstanceUid = checkUid('the SEG SOPInstanceUID', segmentation.sopInstanceUid);
  const segSeriesUid = checkUid('the SEG SeriesInstanceUID', segmentation.seriesInstanceUid);
  const segSopClassUid = checkUid('the SEG SOPClassUID', segmentation.sopClassUid ?? SEGMENTATION_SOP_CLASS);
  if (segSeriesUid === sourceSeriesUid) throw new SrInputError('the SEG cannot be in the source series');
  checkSegmentNumbers(segmentation);
  const byRegion = checkMeasurements(measurements);
  const completionFlag = options.completionFlag ?? 'COMPLETE';
  if (completionFlag !== 'COMPLETE' && completionFlag !== 'PARTIAL') {
    throw new SrInputError(`unknown completion flag ${String(completionFlag)}`);
  }

  // ---- Identity, text ----
  const { seriesInstanceUid, sopInstanceUid } = srUids(sourceSeriesUid, model);
  if (seriesInstanceUid === segSeriesUid) throw new SrInputError('the SEG and the SR cannot share a series');
  const equipment: SrEquipment = {
    manufacturer: 'covid-ct-triage',
    manufacturerModelName: 'covid-ct-triage SR writer',
    deviceSerialNumber: '1',
    softwareVersions: [`${model.id} ${model.version}`],
    ...options.equipment,
  };
  const softwareVersions = [equipment.softwareVersions].flat();
  checkText('Manufacturer', equipment.manufacturer, 64);
  checkText('ManufacturerModelName', equipment.manufacturerModelName, 64);
  checkText('DeviceSerialNumber', equipment.deviceSerialNumber, 64);
  softwareVersions.forEach((version) => checkText('SoftwareVersions', version, 64));

  const ours = [
    model.name,
    model.version,
    model.id,
    equipment.manufacturer,
    equipment.manufacturerModelName,
    equipment.deviceSerialNumber,
    ...softwareVersions,
  ];
  const text = derivedObjectHeader(source, ours, (message) => new SrInputError(message));
  const copied = text.copied;

  const now = options.contentDateTime ?? new Date();
  const date = dicomDate(now);
  const time = dicomTime(now);

  // ---- Content tree ----
  const algorithm = [
    textContent('HAS CONCEPT MOD', SrCodes.algorithmName, text.ourText(model.name)),
    textContent('HAS CONCEPT MOD', SrCodes.algorithmVersion, text.ourText(model.version)),
  ];
  const tracking = (identifier: string, key: string) => [
    textContent('HAS OBS CONTEXT', SrCodes.trackingIdentifier, identifier),
    uidrefContent('HAS OBS CONTEXT', SrCodes.trackingUid, deterministicUid(sopInstanceUid, 'tracking', key)),
  ];
  const segments = segmentation.segmentNumbers;
  const lungSegments: Record<LungRegion, number[]> = {
    left: [segments.leftLung],
    right: [segments.rightLung],
    both: [segments.leftLung, segments.rightLung],
  };
  const referencedSegment = (segmentNumbers: number[]) => [
    imageContent('CONTAINS', SrCodes.referencedSegment, {
      sopClassUid: segSopClassUid,
      sopInstanceUid: segSopInstanceUid,
      segmentNumbers,
    }),
    uidrefContent('CONTAINS', SrCodes.sourceSeriesForSegmentation, sourceSeriesUid),
  ];

  // TID 1411, one group per region for the lung and one for the lesion inside it.
  const lungGroups = LUNG_REGIONS.map((region) =>
    container(
      'CONTAINS',
      SrCodes.measurementGroup,
      [
        ...tracking(TRACKING_IDENTIFIERS.lung[region], `lung/${region}`),
        codeContent('CONTAINS', SrCodes.finding, SrCodes.lung),
        lungSite(region),
        ...algorithm,
        ...referencedSegment(lungSegments[region]),
        numContent('CONTAINS', SrCodes.volume, byRegion.get(region)!.lungVolumeMl, Units.milliliter),
      ],
      '1411',
    ),
  );
  const lesionGroups = LUNG_REGIONS.map((region) =>
    container(
      'CONTAINS',
      SrCodes.measurementGroup,
      [
        ...tracking(TRACKING_IDENTIFIERS.lesion[region], `lesion/${region}`),
        codeContent('CONTAINS', SrCodes.finding, SrCodes.lesion),
        lungSite(region),
        ...algorithm,
        ...referencedSegment([segments.lesion]),
        numContent('CONTAINS', SrCodes.volume, byRegion.get(region)!.lesionVolumeMl, Units.milliliter),
        numContent('CONTAINS', SrCodes.percentAffected, byRegion.get(region)!.percentAffected, Units.percent),
      ],
      '1411',
    ),
  );
  // TID 1501: the study-level outputs, tied to no region.
  const studyGroup = container(
    'CONTAINS',
    SrCodes.measurementGroup,
    [
      ...tracking(TRACKING_IDENTIFIERS.study, 'study'),
      ...algorithm,
      numContent('CONTAINS', SrCodes.probability, measurements.covidProbability, Units.noUnits, [
        textContent('HAS CONCEPT MOD', SrCodes.equivalentMeaningOfConceptName, 'Probability of COVID-19'),
      ]),
      numContent('CONTAINS', SrCodes.severity, measurements.severityPercent, Units.percent),
    ],
    '1501',
  );

  const root = container(
    undefined,
    SrCodes.imagingMeasurementReport,
    [
      codeContent('HAS CONCEPT MOD', SrCodes.languageOfContent, SrCodes.english),
      // TID 1001 → TID 1002 with a device observer (TID 1004): the model.
      codeContent('HAS OBS CONTEXT', SrCodes.observerType, SrCodes.device),
      uidrefContent('HAS OBS CONTEXT', SrCodes.deviceObserverUid, deviceObserverUid(model)),
      textContent('HAS OBS CONTEXT', SrCodes.deviceObserverName, text.ourText(model.name)),
      textContent('HAS OBS CONTEXT', SrCodes.deviceObserverManufacturer, text.ourText(equipment.manufacturer)),
      textContent('HAS OBS CONTEXT', SrCodes.deviceObserverModelName, text.ourText(model.id)),
      codeContent('HAS CONCEPT MOD', SrCodes.procedureReported, SrCodes.ctChest),
      // TID 1600: every source instance, in one group (they are one series).
      container('CONTAINS', SrCodes.imageLibrary, [
        container(
          'CONTAINS',
          SrCodes.imageLibraryGroup,
          [...instances].map(([uid, sopClass]) =>
            imageContent('CONTAINS', SrCodes.source, { sopClassUid: sopClass, sopInstanceUid: uid }),
          ),
        ),
      ]),
      container('CONTAINS', SrCodes.imagingMeasurements, [...lungGroups, ...lesionGroups, studyGroup]),
      container('CONTAINS', SrCodes.qualitativeEvaluations, [textContent('CONTAINS', SrCodes.comment, DISCLAIMER)]),
    ],
    '1500',
  );

  // ---- The document ----
  const dataset: Dataset = {
    SpecificCharacterSet: text.specificCharacterSet,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: SrSopClass.ComprehensiveSR,
    SOPInstanceUID: sopInstanceUid,
    SeriesDate: date,
    SeriesTime: time,
    ContentDate: date,
    ContentTime: time,
    Modality: 'SR',
    Manufacturer: text.ourText(equipment.manufacturer),
    CodingSchemeIdentificationSequence: [
      {
        CodingSchemeDesignator: LOCAL_SCHEME.designator,
        CodingSchemeVersion: LOCAL_SCHEME.version,
        CodingSchemeName: LOCAL_SCHEME.name,
        CodingSchemeResponsibleOrganization: LOCAL_SCHEME.responsibleOrganization,
      },
    ],
    SeriesDescription: `AI triage measurements SR - ${NOT_FOR_CLINICAL_USE}`,
    ManufacturerModelName: text.ourText(equipment.manufacturerModelName),
    ReferencedPerformedProcedureStepSequence: [],
    ...copied,
    DeviceSerialNumber: text.ourText(equipment.deviceSerialNumber),
    SoftwareVersions: softwareVersions.map(text.ourText),
    StudyInstanceUID: studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: options.seriesNumber ?? DEFAULT_SR_SERIES_NUMBER,
    InstanceNumber: options.instanceNumber ?? 1,
    ...root,
    // Every instance the content references, all of this study (PS3.3 C.17.2.3).
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: studyInstanceUid,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: sourceSeriesUid,
            ReferencedSOPSequence: [...instances].map(([uid, sopClass]) => ({
              ReferencedSOPClassUID: sopClass,
              ReferencedSOPInstanceUID: uid,
            })),
          },
          {
            SeriesInstanceUID: segSeriesUid,
            ReferencedSOPSequence: [
              { ReferencedSOPClassUID: segSopClassUid, ReferencedSOPInstanceUID: segSopInstanceUid },
            ],
          },
        ],
      },
    ],
    CompletionFlag: completionFlag,
    VerificationFlag: 'UNVERIFIED',
    PreliminaryFlag: 'PRELIMINARY',
    PerformedProcedureCodeSequence: [],
  };

  return { bytes: writePart10(dataset), seriesInstanceUid, sopInstanceUid, sopClassUid: SrSopClass.ComprehensiveSR };
}
