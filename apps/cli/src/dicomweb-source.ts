import { loadConfigFromEnvironment } from '@app/config';
import { httpAuthProvider, noAuth, trustCertificateAuthorities } from '@app/credentials';
import { createDicomwebClient, type DicomwebClient } from '@app/dicomweb';
import { DicomwebStudySource, parseStudyUrl, type StudySource } from '@app/ingest';

/**
 * A DICOMweb client for the CLI, on `baseUrl` (default DICOMWEB_BASE_URL). The configured
 * credentials (DICOMWEB_AUTH and friends) go to DICOMWEB_BASE_URL only: a study URL naming
 * another server or another root is fetched without them, so a typo or a pasted link can never
 * hand the archive's password to a third party.
 */
export function cliDicomwebClient(baseUrl?: string): DicomwebClient {
  const config = loadConfigFromEnvironment();
  if (config.https.caFile) trustCertificateAuthorities(config.https.caFile);
  const root = baseUrl ?? config.dicomweb.baseUrl;
  const configured = sameRoot(root, config.dicomweb.baseUrl);
  if (!configured && config.dicomweb.auth.kind !== 'none') {
    process.stderr.write(`note: ${new URL(root).origin} is not DICOMWEB_BASE_URL; no credentials are sent to it\n`);
  }
  return createDicomwebClient({
    baseUrl: root,
    auth: configured ? httpAuthProvider(config.dicomweb.auth, { settings: 'DICOMWEB' }) : noAuth(),
    timeoutMs: config.dicomweb.timeoutMs,
  });
}

/** A study URL (<dicomweb-root>/studies/<uid>). */
export function dicomwebStudySource(url: string): StudySource {
  const { baseUrl, studyInstanceUid } = parseStudyUrl(url);
  return new DicomwebStudySource(cliDicomwebClient(baseUrl), studyInstanceUid);
}

/** Same scheme, host, port and path (case-insensitive host, trailing slashes ignored). */
export function sameRoot(a: string, b: string): boolean {
  return serviceRoot(a) === serviceRoot(b);
}

function serviceRoot(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}
