import { createHash } from 'node:crypto';

/** The namespace of our name-based UUIDs (RFC 9562 version 5); never change it, fullUrls depend on it. */
export const UUID_NAMESPACE = '49e23fba-0b15-4358-bfde-9face200bb3e';

/** A name-based (SHA-1, version 5) UUID: the same name always gives the same UUID. */
export function uuidV5(name: string, namespace: string = UUID_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error('namespace must be a UUID');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The key of our report of a study by a model: its DiagnosticReport identifier value, and the prefix of its Observations'. */
export function triageReportKey(studyInstanceUid: string, model: { id: string; version: string }): string {
  return `${studyInstanceUid}/${model.id}/${model.version}`;
}

/** Our DiagnosticReport's identifier under the deployment's base identifier system. */
export function triageReportIdentifier(
  identifierSystem: string,
  studyInstanceUid: string,
  model: { id: string; version: string },
): { system: string; value: string } {
  return {
    system: `${identifierSystem.replace(/\/+$/, '')}/triage-report`,
    value: triageReportKey(studyInstanceUid, model),
  };
}

/** The bundle-local fullUrl of the resource that carries this identifier. */
export function fullUrlFor(resourceType: string, identifier: { system: string; value: string }): string {
  return `urn:uuid:${uuidV5(`${resourceType}|${identifier.system}|${identifier.value}`)}`;
}

/** Escapes the characters a token search value treats specially (FHIR search §"Escaping"). */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\|,$]/g, (c) => `\\${c}`);
}

/** `identifier=<system>|<value>`, escaped and URL-encoded, for `Bundle.entry.request.ifNoneExist`. */
export function identifierQuery(identifier: { system: string; value: string }): string {
  return `identifier=${encodeURIComponent(`${escapeSearchValue(identifier.system)}|${escapeSearchValue(identifier.value)}`)}`;
}

/** A DICOM UID as a FHIR Identifier. */
export function dicomUidIdentifier(uid: string): { system: string; value: string } {
  return { system: 'urn:dicom:uid', value: `urn:oid:${uid}` };
}
