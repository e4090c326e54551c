import { PermanentError } from '@app/errors';

/**
 * Resource paths below the service root. Every UID is checked before it goes
 * into a URL: it came from outside and may be anything, `../` included.
 */

/** UID syntax (PS3.5 9.1), without the 64-character limit. */
export const UID = /^[0-9]+(?:\.[0-9]+)*$/;

export function studyPath(studyUid: string): string {
  return `/studies/${uid(studyUid, 'StudyInstanceUID')}`;
}

export function seriesPath(studyUid: string, seriesUid: string): string {
  return `${studyPath(studyUid)}/series/${uid(seriesUid, 'SeriesInstanceUID')}`;
}

export function instancePath(studyUid: string, seriesUid: string, sopUid: string): string {
  return `${seriesPath(studyUid, seriesUid)}/instances/${uid(sopUid, 'SOPInstanceUID')}`;
}

function uid(value: string, name: string): string {
  if (typeof value !== 'string' || value.length > 64 || !UID.test(value)) {
    // The value itself is not repeated: it came from outside and may be anything.
    throw new PermanentError('MALFORMED_EVENT', `${name} is not a valid DICOM UID`);
  }
  return value;
}
