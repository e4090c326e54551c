import { createHash, randomUUID } from 'node:crypto';

/** A DICOM UID (PS3.5 9.1): numeric components without leading zeros, dot-separated, at most 64 characters. */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export function isDicomUid(value: string): boolean {
  return value.length <= 64 && DICOM_UID.test(value);
}

/**
 * UIDs under the 2.25 arc (PS3.5 B.2): a UUID written as one decimal integer.
 * No registered root is needed and the result always fits in 64 characters.
 */
function uuidHexToUid(hex: string): string {
  return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
}

export function newUid(): string {
  return uuidHexToUid(randomUUID().replaceAll('-', ''));
}

/** A name-based UUID (RFC 9562 version 8, from SHA-256) as 32 hex digits. */
function nameBasedUuidHex(parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  // Set the version (8, custom) and variant bits, as for any UUID.
  digest[6] = (digest[6] & 0x0f) | 0x80;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  return digest.subarray(0, 16).toString('hex');
}

/**
 * The same inputs always give the same UID (a name-based UUID from SHA-256), so
 * that processing a study twice writes the same objects rather than new ones.
 */
export function deterministicUid(...parts: string[]): string {
  return uuidHexToUid(nameBasedUuidHex(parts));
}

/** The same name-based UUID in its usual text form (event ids). */
export function deterministicUuid(...parts: string[]): string {
  const hex = nameBasedUuidHex(parts);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
