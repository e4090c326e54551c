import { DerivedObjectInputError, isDicomUid, SopClass, type DicomObjectRef } from '@app/dicom';
import {
  LUNG_REGIONS,
  type LungRegion,
  type LungRegionMeasurement,
  type TriageMeasurements,
} from '@app/triage-contracts';
import type { SrInput, SrSegmentationReference } from './encode-measurement-report.js';

/** What the report is built from, once the input is known to be usable. */
export interface CheckedReportInput {
  studyInstanceUid: string;
  sourceSeriesUid: string;
  /** SOP Instance UID → SOP Class UID, once each, in first-seen order. */
  instances: Map<string, string>;
  segmentation: DicomObjectRef;
  byRegion: Map<LungRegion, LungRegionMeasurement>;
  completionFlag: 'PARTIAL' | 'COMPLETE';
}

export function checkText(what: string, text: string, max: number): string {
  if (typeof text !== 'string' || text.trim().length === 0) throw new DerivedObjectInputError(`${what} is empty`);
  if (text.length > max) throw new DerivedObjectInputError(`${what} is longer than ${max} characters: ${text}`);
  return text;
}

function checkUid(what: string, uid: string | undefined): string {
  if (!uid || !isDicomUid(uid)) throw new DerivedObjectInputError(`${what} is not a UID: ${uid}`);
  return uid;
}

function checkNumber(what: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new DerivedObjectInputError(`${what} must be a number from ${min} to ${max}, not ${value}`);
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
    if (!LUNG_REGIONS.includes(lung.region)) {
      throw new DerivedObjectInputError(`unknown lung region ${lung.region as string}`);
    }
    if (byRegion.has(lung.region)) throw new DerivedObjectInputError(`lung region ${lung.region} is measured twice`);
    checkNumber(`${lung.region} lungVolumeMl`, lung.lungVolumeMl, 0, Number.MAX_VALUE);
    checkNumber(`${lung.region} lesionVolumeMl`, lung.lesionVolumeMl, 0, Number.MAX_VALUE);
    checkNumber(`${lung.region} percentAffected`, lung.percentAffected, 0, 100);
    byRegion.set(lung.region, lung);
  }
  const missing = LUNG_REGIONS.filter((region) => !byRegion.has(region));
  if (missing.length > 0) throw new DerivedObjectInputError(`no measurements for lung region(s) ${missing.join(', ')}`);
  return byRegion;
}

function checkSegmentNumbers(segmentation: SrSegmentationReference): void {
  const numbers = Object.entries(segmentation.segmentNumbers ?? {});
  for (const [name, number] of numbers) {
    if (!Number.isInteger(number) || number < 1 || number > 0xffff) {
      throw new DerivedObjectInputError(`segment number of ${name} must be an integer from 1 to 65535, not ${number}`);
    }
  }
  if (numbers.length !== 3 || new Set(numbers.map(([, n]) => n)).size !== 3) {
    throw new DerivedObjectInputError('the left lung, right lung and lesion need three different segment numbers');
  }
}

/** Refuses input no valid report can be made of (missing UIDs, impossible numbers, …). */
export function checkReportInput(input: SrInput): CheckedReportInput {
  const { sourceInstance: source, sourceSeries, segmentation } = input;
  const studyInstanceUid = checkUid('the source StudyInstanceUID', source.string('StudyInstanceUID'));
  const sourceSeriesUid = checkUid('the source SeriesInstanceUID', sourceSeries.seriesInstanceUid);
  if (source.string('SeriesInstanceUID') !== sourceSeriesUid) {
    throw new DerivedObjectInputError(
      `the source instance is of series ${source.string('SeriesInstanceUID')}, not ${sourceSeriesUid}`,
    );
  }
  if (sourceSeries.instances.length === 0) throw new DerivedObjectInputError('the source series lists no instances');
  const instances = new Map<string, string>();
  for (const instance of sourceSeries.instances) {
    checkUid('a source SOPClassUID', instance.sopClassUid);
    checkUid('a source SOPInstanceUID', instance.sopInstanceUid);
    instances.set(instance.sopInstanceUid, instance.sopClassUid); // once each, first-seen order
  }
  const seg: DicomObjectRef = {
    sopInstanceUid: checkUid('the SEG SOPInstanceUID', segmentation.sopInstanceUid),
    seriesInstanceUid: checkUid('the SEG SeriesInstanceUID', segmentation.seriesInstanceUid),
    sopClassUid: checkUid('the SEG SOPClassUID', segmentation.sopClassUid ?? SopClass.Segmentation),
  };
  if (seg.seriesInstanceUid === sourceSeriesUid)
    throw new DerivedObjectInputError('the SEG cannot be in the source series');
  checkSegmentNumbers(segmentation);
  const byRegion = checkMeasurements(input.measurements);
  const completionFlag = input.options?.completionFlag ?? 'COMPLETE';
  if (completionFlag !== 'COMPLETE' && completionFlag !== 'PARTIAL') {
    throw new DerivedObjectInputError(`unknown completion flag ${String(completionFlag)}`);
  }
  return { studyInstanceUid, sourceSeriesUid, instances, segmentation: seg, byRegion, completionFlag };
}
