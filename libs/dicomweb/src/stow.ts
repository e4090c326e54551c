import { readPart10 } from '@app/dicom';
import { firstNumber, firstString, items, TAG, type DicomJsonDataset } from './dicom-json.js';

/**
 * STOW-RS: what each instance is (so that the server's answer can be matched to
 * what we sent) and how to read the answer
 * (PS3.18 10.5.3: ReferencedSOPSequence, FailedSOPSequence).
 */

export interface StoredInstance {
  /** Position in the array given to store(); absent if the server acknowledged a UID we did not send. */
  index?: number;
  sopInstanceUid: string;
  sopClassUid?: string;
  retrieveUrl?: string;
  /** The server already had it (Azure 45070 / DIMSE 0x0111); counted as stored. */
  duplicate: boolean;
  /** WarningReason (0008,1196) when the server stored it with a warning (e.g. coerced elements). */
  warningReason?: number;
}

export interface FailedInstance {
  /** Position in the array given to store(), when known. */
  index?: number;
  sopInstanceUid?: string;
  sopClassUid?: string;
  /** FailureReason (0008,1197), when the server gave one. */
  reason?: number;
  /** Human-readable, without patient data. */
  description: string;
}

export interface StoreResult {
  /** HTTP status of the STOW response (200 all stored, 202 some failed, 400/409 none or some). */
  status: number;
  stored: StoredInstance[];
  failed: FailedInstance[];
  /** True when every instance was stored (duplicates included). */
  ok: boolean;
}

/** Identity of one instance to store. */
export interface InstanceIdentity {
  sopInstanceUid?: string;
  sopClassUid?: string;
  transferSyntaxUid?: string;
}

/**
 * What an instance is, for matching the server's answer to what was sent: the File
 * Meta Information, else the dataset's own SOP UIDs (real archives hold files whose
 * meta lacks MediaStorageSOPInstanceUID). {} when the bytes are not DICOM.
 */
export function identifyInstance(bytes: Uint8Array): InstanceIdentity {
  try {
    const { meta, dataset, transferSyntaxUid } = readPart10(bytes, { untilPixelData: true });
    return {
      sopInstanceUid: meta.string('MediaStorageSOPInstanceUID') || dataset.string('SOPInstanceUID'),
      sopClassUid: meta.string('MediaStorageSOPClassUID') || dataset.string('SOPClassUID'),
      transferSyntaxUid,
    };
  } catch {
    return {};
  }
}

/** Failure and warning reasons of PS3.18 Table I.2-3 / PS3.4 B.2.3, and Azure's extensions. */
const REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0111: 'duplicate SOP instance',
  0x0117: 'invalid SOP instance',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xa901: 'study instance UID does not match the request', // Azure 43265
  0xb000: 'coercion of data elements',
  0xb006: 'elements discarded',
  0xb007: 'data set does not match SOP class (warning)',
  0xc000: 'cannot understand',
  0xc122: 'transfer syntax not supported',
  45070: 'instance already stored', // Azure
  45071: 'instance being processed', // Azure
};

/** The reasons that mean "the server already has this instance": success for an idempotent writer. */
export const DUPLICATE_REASONS: ReadonlySet<number> = new Set([0x0111, 45070]);

export function describeReason(reason: number): string {
  const hex = `0x${reason.toString(16).toUpperCase().padStart(4, '0')}`;
  return `FailureReason ${reason} (${hex}${REASONS[reason] ? ` ${REASONS[reason]}` : ''})`;
}

/** True for a body that looks like a STOW response dataset. */
export function isStoreResponse(body: unknown): body is DicomJsonDataset {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    (TAG.ReferencedSOPSequence in body || TAG.FailedSOPSequence in body)
  );
}

/**
 * Matches the server's answer to what was sent. Instances the server does not
 * mention count as stored only on a 200 without any body; otherwise they failed
 * (Orthanc answers a non-DICOM part with a 400 that lists nothing).
 */
export function interpretStoreResponse(
  status: number,
  body: DicomJsonDataset | undefined,
  sent: readonly InstanceIdentity[],
): StoreResult {
  const unclaimed = new Map<string, number[]>();
  sent.forEach((identity, index) => {
    if (!identity.sopInstanceUid) return;
    const list = unclaimed.get(identity.sopInstanceUid) ?? [];
    list.push(index);
    unclaimed.set(identity.sopInstanceUid, list);
  });
  const accounted = new Set<number>();
  const claim = (uid: string | undefined): number | undefined => {
    if (!uid) return undefined;
    const index = unclaimed.get(uid)?.shift();
    if (index !== undefined) accounted.add(index);
    return index;
  };

  const stored: StoredInstance[] = [];
  const failed: FailedInstance[] = [];
  const store = (index: number | undefined, uid: string, item: DicomJsonDataset, duplicate: boolean) => {
    const entry: StoredInstance = { sopInstanceUid: uid, duplicate };
    if (index !== undefined) entry.index = index;
    const sopClassUid =
      firstString(item, TAG.ReferencedSOPClassUID) ?? (index === undefined ? undefined : sent[index]?.sopClassUid);
    if (sopClassUid) entry.sopClassUid = sopClassUid;
    const retrieveUrl = firstString(item, TAG.RetrieveURL);
    if (retrieveUrl) entry.retrieveUrl = retrieveUrl;
    const warningReason = firstNumber(item, TAG.WarningReason);
    if (warningReason !== undefined) entry.warningReason = warningReason;
    stored.push(entry);
  };

  if (body) {
    for (const item of items(body, TAG.ReferencedSOPSequence)) {
      const uid = firstString(item, TAG.ReferencedSOPInstanceUID);
      if (uid) store(claim(uid), uid, item, false);
    }
    for (const item of items(body, TAG.FailedSOPSequence)) {
      const uid = firstString(item, TAG.ReferencedSOPInstanceUID);
      const reason = firstNumber(item, TAG.FailureReason);
      const index = claim(uid);
      if (uid && reason !== undefined && DUPLICATE_REASONS.has(reason)) {
        store(index, uid, item, true);
        continue;
      }
      const entry: FailedInstance = {
        description: reason === undefined ? 'rejected without a FailureReason' : describeReason(reason),
      };
      if (index !== undefined) entry.index = index;
      if (uid) entry.sopInstanceUid = uid;
      const sopClassUid = firstString(item, TAG.ReferencedSOPClassUID);
      if (sopClassUid) entry.sopClassUid = sopClassUid;
      if (reason !== undefined) entry.reason = reason;
      failed.push(entry);
    }
  }

  sent.forEach((identity, index) => {
    if (accounted.has(index)) return;
    if (!body && status === 200 && identity.sopInstanceUid) {
      stored.push({ index, sopInstanceUid: identity.sopInstanceUid, duplicate: false });
      return;
    }
    const entry: FailedInstance = {
      index,
      description: identity.sopInstanceUid
        ? `not acknowledged in the STOW response (HTTP ${status})`
        : `not a DICOM Part 10 file (no File Meta Information); not acknowledged (HTTP ${status})`,
    };
    if (identity.sopInstanceUid) entry.sopInstanceUid = identity.sopInstanceUid;
    if (identity.sopClassUid) entry.sopClassUid = identity.sopClassUid;
    failed.push(entry);
  });

  stored.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
  failed.sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
  return { status, stored, failed, ok: failed.length === 0 };
}
