/**
 * The DICOM JSON model (PS3.18 F.2) as plain objects: what QIDO-RS and WADO-RS
 * metadata return and what the STOW-RS response is. Keys are upper-case
 * 8-digit hex tags ("0020000D").
 */
export interface DicomJsonElement {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

export type DicomJsonDataset = Record<string, DicomJsonElement>;

/** Tags this library reads itself. */
export const TAG = {
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  RetrieveURL: '00081190',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  FailureReason: '00081197',
  WarningReason: '00081196',
} as const;

export function isDicomJsonDataset(value: unknown): value is DicomJsonDataset {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The element's values, or [] when it is absent or empty. */
export function values(dataset: DicomJsonDataset, tag: string): unknown[] {
  const element = dataset[tag];
  return element && Array.isArray(element.Value) ? element.Value : [];
}

export function firstString(dataset: DicomJsonDataset, tag: string): string | undefined {
  const value = values(dataset, tag)[0];
  return typeof value === 'string' ? value : undefined;
}

export function firstNumber(dataset: DicomJsonDataset, tag: string): number | undefined {
  const value = values(dataset, tag)[0];
  return typeof value === 'number' ? value : undefined;
}

/** The items of a sequence element (SQ). */
export function items(dataset: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  return values(dataset, tag).filter(isDicomJsonDataset);
}
