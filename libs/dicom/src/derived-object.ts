import { PermanentError } from '@app/errors';
import { JsonAttributes, type DicomAttributes } from './attributes.js';
import type { EncodedDicomObject } from './dicom-object.js';
import type { Dataset } from './part10-writer.js';
import { deterministicUid } from './uid.js';

/**
 * What every object derived from a source CT (our SEG and SR) shares: the Patient and
 * General Study modules copied from the source, a character set that holds both the
 * copied strings and ours, who made it (equipment), its UIDs, its disclaimer, and the
 * error for input the encoders cannot use.
 */

/** The encoders' input is unusable (mask size, missing UIDs, …): a programming or pipeline error. Permanent. */
export class DerivedObjectInputError extends PermanentError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** In every derived object's descriptions: the model is a demonstration. */
export const NOT_FOR_CLINICAL_USE = 'NOT FOR CLINICAL USE';
/** The SR's stated disclaimer, as a sentence. */
export const DISCLAIMER =
  'NOT FOR CLINICAL USE. Automated research output of a COVID-19 chest CT triage model; not verified by a physician.';

/** General and Enhanced General Equipment (PS3.3 C.7.5.1, C.7.5.2): who made the object. */
export interface Equipment {
  manufacturer: string;
  manufacturerModelName: string;
  deviceSerialNumber: string;
  softwareVersions: string | string[];
}

/** Our equipment for an encoder (`modelName`, e.g. "covid-ct-triage SEG writer") and model, with the caller's overrides. */
export function ourEquipment(
  modelName: string,
  model: { id: string; version: string },
  overrides: Partial<Equipment> = {},
): Equipment {
  return {
    manufacturer: 'covid-ct-triage',
    manufacturerModelName: modelName,
    deviceSerialNumber: '1',
    softwareVersions: [`${model.id} ${model.version}`],
    ...overrides,
  };
}

/**
 * A derived object's UIDs depend only on what it is derived from and by which model, so
 * that processing a study twice writes the same objects (an archive then sees a
 * duplicate, not a second one). `variant` tells apart objects of one series (e.g. SEG types).
 */
export function derivedObjectUids(
  sourceSeriesInstanceUid: string,
  model: { id: string; version: string },
  modality: string,
  ...variant: string[]
): { seriesInstanceUid: string; sopInstanceUid: string } {
  const base = [sourceSeriesInstanceUid, model.id, model.version, modality];
  return {
    seriesInstanceUid: deterministicUid(...base, 'series'),
    sopInstanceUid: deterministicUid(...base, 'instance', ...variant),
  };
}

/** Copied always; written empty when the source lacks them (Type 2, e.g. PatientName in the real data). */
const COPIED_TYPE2 = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
] as const;
const COPIED_IF_PRESENT = [
  'IssuerOfPatientID',
  'PatientAge',
  'PatientSize',
  'PatientWeight',
  'PatientIdentityRemoved',
  'DeidentificationMethod',
  'StudyDescription',
] as const;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
export const dicomDate = (d: Date) => `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
export const dicomTime = (d: Date) => `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;

const isAscii = (text: string) => Buffer.byteLength(text, 'utf8') === text.length;
const isLatin1 = (text: string) => Buffer.from(text, 'latin1').toString('latin1') === text;
const utf8AsLatin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
const unchanged = (text: string) => text;

interface TextPlan {
  charset: string[] | undefined;
  copiedText: (s: string) => string;
  ourText: (s: string) => string;
}

/**
 * Our Part 10 writer stores text as Latin-1 bytes. Strings from a Part 10 source were
 * read as Latin-1 too, so copying them keeps their bytes and their SpecificCharacterSet
 * stays right. Strings from DICOM JSON, and our own, are Unicode: non-ASCII ones are
 * written as UTF-8 (ISO_IR 192) unless Latin-1 (ISO_IR 100) holds them.
 */
function planText(source: DicomAttributes, copied: string[], ours: string[]): TextPlan | undefined {
  const sourceCharset = source.strings('SpecificCharacterSet');
  if (source instanceof JsonAttributes) {
    const all = [...copied, ...ours];
    if (all.every(isAscii)) return { charset: undefined, copiedText: unchanged, ourText: unchanged };
    if (all.every(isLatin1)) return { charset: ['ISO_IR 100'], copiedText: unchanged, ourText: unchanged };
    return { charset: ['ISO_IR 192'], copiedText: utf8AsLatin1, ourText: utf8AsLatin1 };
  }
  const charset = sourceCharset.length > 0 ? sourceCharset : undefined;
  if (ours.every(isAscii)) return { charset, copiedText: unchanged, ourText: unchanged };
  if (sourceCharset.includes('ISO_IR 192')) return { charset, copiedText: unchanged, ourText: utf8AsLatin1 };
  const sourceIsLatin1 =
    sourceCharset.length === 0 || (sourceCharset.length === 1 && sourceCharset[0] === 'ISO_IR 100');
  if (sourceIsLatin1 && ours.every(isLatin1) && copied.every((s) => sourceCharset.length > 0 || isAscii(s))) {
    return { charset: ['ISO_IR 100'], copiedText: unchanged, ourText: unchanged };
  }
  return undefined;
}

/** What the new object is: its identity and the General Series and SOP Common values of it. */
export interface DerivedObjectIdentity {
  modality: 'SEG' | 'SR';
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number;
  instanceNumber: number;
  /** Written as given (ASCII). */
  seriesDescription: string;
  /** Content, series and instance creation date and time. */
  contentDateTime: Date;
}

export interface DerivedObjectHeader {
  /**
   * The attributes every derived object has: character set, SOP Common, General Series,
   * General Equipment, the copied Patient and General Study, content date and time.
   */
  attributes: Dataset;
  /** Encodes one of our own strings for the object's character set. */
  ourText: (text: string) => string;
}

/**
 * The header of an object derived from `source` and made by `equipment`, given the other
 * strings we will add (`ours`). Throws a DerivedObjectInputError when no character set
 * holds both the source's strings and ours.
 */
export function derivedObjectHeader(
  source: DicomAttributes,
  identity: DerivedObjectIdentity,
  equipment: Equipment,
  ours: string[],
): DerivedObjectHeader {
  const softwareVersions = [equipment.softwareVersions].flat();
  const ourAll = [
    ...ours,
    equipment.manufacturer,
    equipment.manufacturerModelName,
    equipment.deviceSerialNumber,
    ...softwareVersions,
  ];
  const values = new Map<string, string[]>();
  for (const keyword of [...COPIED_TYPE2, ...COPIED_IF_PRESENT]) {
    const found = source.strings(keyword);
    if (found.length > 0 || (COPIED_TYPE2 as readonly string[]).includes(keyword)) values.set(keyword, found);
  }
  const plan = planText(source, [...values.values()].flat(), ourAll);
  if (!plan) {
    const charset = source.strings('SpecificCharacterSet').join('\\');
    throw new DerivedObjectInputError(
      `cannot write non-ASCII text into an object whose source uses the character set ${charset}`,
    );
  }
  const copied: Dataset = {};
  for (const [keyword, found] of values) copied[keyword] = found.map(plan.copiedText);
  const date = dicomDate(identity.contentDateTime);
  const time = dicomTime(identity.contentDateTime);
  const attributes: Dataset = {
    SpecificCharacterSet: plan.charset,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: identity.sopClassUid,
    SOPInstanceUID: identity.sopInstanceUid,
    SeriesDate: date,
    SeriesTime: time,
    ContentDate: date,
    ContentTime: time,
    Modality: identity.modality,
    SeriesDescription: identity.seriesDescription,
    ...copied,
    Manufacturer: plan.ourText(equipment.manufacturer),
    ManufacturerModelName: plan.ourText(equipment.manufacturerModelName),
    DeviceSerialNumber: plan.ourText(equipment.deviceSerialNumber),
    SoftwareVersions: softwareVersions.map(plan.ourText),
    StudyInstanceUID: identity.studyInstanceUid,
    SeriesInstanceUID: identity.seriesInstanceUid,
    SeriesNumber: identity.seriesNumber,
    InstanceNumber: identity.instanceNumber,
  };
  return { attributes, ourText: plan.ourText };
}

/** What an encoder returns: the object's identity with its Part 10 bytes. */
export function encodedDerivedObject(identity: DerivedObjectIdentity, bytes: Buffer): EncodedDicomObject {
  return {
    kind: identity.modality,
    bytes,
    studyInstanceUid: identity.studyInstanceUid,
    seriesInstanceUid: identity.seriesInstanceUid,
    sopInstanceUid: identity.sopInstanceUid,
    sopClassUid: identity.sopClassUid,
  };
}
