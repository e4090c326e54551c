import {
  DerivedObjectInputError,
  derivedObjectHeader,
  derivedObjectUids,
  encodedDerivedObject,
  NOT_FOR_CLINICAL_USE,
  ourEquipment,
  SopClass,
  writePart10,
  type Dataset,
  type DicomAttributes,
  type DicomObjectRef,
  type EncodedDicomObject,
  type Equipment,
} from '@app/dicom';
import type { ModelIdentity, TriageMeasurements } from '@app/triage-contracts';
import { checkReportInput, checkText } from './check-report-input.js';
import { LOCAL_SCHEME } from './codes.js';
import { reportContent } from './report-content.js';

/**
 * DICOM SR encoder: the model's measurements of one study as a TID 1500 Imaging
 * Measurement Report in a Comprehensive SR (no SCOORD3D is used, so the 3D SOP class
 * is not needed), each region tied to our SEG by segment number. See docs/sr.md.
 */

export const DEFAULT_SR_SERIES_NUMBER = 9002;

export type SrSourceInstance = Pick<DicomObjectRef, 'sopClassUid' | 'sopInstanceUid'>;

/**
 * The SEG the measurements were computed from (its reference; SOP class default Segmentation
 * Storage, BINARY) and the numbers it gave the segments, read off its encoding.
 */
export interface SrSegmentationReference
  extends Pick<DicomObjectRef, 'seriesInstanceUid' | 'sopInstanceUid'>, Partial<Pick<DicomObjectRef, 'sopClassUid'>> {
  segmentNumbers: { leftLung: number; rightLung: number; lesion: number };
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
  equipment?: Partial<Equipment>;
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

/** Same inputs, same UIDs: a study processed twice gives the archive a duplicate, not a second report. */
export function srUids(
  sourceSeriesInstanceUid: string,
  model: Pick<ModelIdentity, 'id' | 'version'>,
): { seriesInstanceUid: string; sopInstanceUid: string } {
  return derivedObjectUids(sourceSeriesInstanceUid, model, 'SR');
}

export function encodeMeasurementReport(input: SrInput): EncodedDicomObject {
  const { sourceInstance: source, measurements } = input;
  const options = input.options ?? {};
  const { model } = measurements;
  const checked = checkReportInput(input);
  const { studyInstanceUid, sourceSeriesUid, instances, segmentation } = checked;

  const { seriesInstanceUid, sopInstanceUid } = srUids(sourceSeriesUid, model);
  if (seriesInstanceUid === segmentation.seriesInstanceUid) {
    throw new DerivedObjectInputError('the SEG and the SR cannot share a series');
  }
  const equipment = ourEquipment('covid-ct-triage SR writer', model, options.equipment);
  checkText('Manufacturer', equipment.manufacturer, 64);
  checkText('ManufacturerModelName', equipment.manufacturerModelName, 64);
  checkText('DeviceSerialNumber', equipment.deviceSerialNumber, 64);
  [equipment.softwareVersions].flat().forEach((version) => checkText('SoftwareVersions', version, 64));
  const sopClassUid = SopClass.ComprehensiveSR;
  const identity = {
    modality: 'SR',
    sopClassUid,
    sopInstanceUid,
    studyInstanceUid,
    seriesInstanceUid,
    seriesNumber: options.seriesNumber ?? DEFAULT_SR_SERIES_NUMBER,
    instanceNumber: options.instanceNumber ?? 1,
    seriesDescription: `AI triage measurements SR - ${NOT_FOR_CLINICAL_USE}`,
    contentDateTime: options.contentDateTime ?? new Date(),
  } as const;
  const text = derivedObjectHeader(source, identity, equipment, [model.name, model.version, model.id]);

  const dataset: Dataset = {
    ...text.attributes,
    CodingSchemeIdentificationSequence: [
      {
        CodingSchemeDesignator: LOCAL_SCHEME.designator,
        CodingSchemeVersion: LOCAL_SCHEME.version,
        CodingSchemeName: LOCAL_SCHEME.name,
        CodingSchemeResponsibleOrganization: LOCAL_SCHEME.responsibleOrganization,
      },
    ],
    ReferencedPerformedProcedureStepSequence: [],
    ...reportContent({
      measurements,
      byRegion: checked.byRegion,
      sopInstanceUid,
      sourceSeriesUid,
      instances,
      segmentation,
      segmentNumbers: input.segmentation.segmentNumbers,
      manufacturer: equipment.manufacturer,
      ourText: text.ourText,
    }),
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
            SeriesInstanceUID: segmentation.seriesInstanceUid,
            ReferencedSOPSequence: [
              {
                ReferencedSOPClassUID: segmentation.sopClassUid,
                ReferencedSOPInstanceUID: segmentation.sopInstanceUid,
              },
            ],
          },
        ],
      },
    ],
    CompletionFlag: checked.completionFlag,
    VerificationFlag: 'UNVERIFIED',
    PreliminaryFlag: 'PRELIMINARY',
    PerformedProcedureCodeSequence: [],
  };

  return encodedDerivedObject(identity, writePart10(dataset));
}
