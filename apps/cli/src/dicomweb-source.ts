import { loadConfigFromEnvironment } from '@app/config';
import { authFromConfig, createDicomwebClient } from '@app/dicomweb';
import { DicomwebStudySource, parseStudyUrl, type StudySource } from '@app/ingest';

/** A study URL; credentials and timeouts come from the validated configuration (DICOMWEB_*). */
export function dicomwebStudySource(url: string): StudySource {
  const config = loadConfigFromEnvironment();
  const { baseUrl, studyInstanceUid } = parseStudyUrl(url);
  const client = createDicomwebClient({
    baseUrl,
    auth: authFromConfig(config.dicomweb.auth),
    timeoutMs: config.dicomweb.timeoutMs,
  });
  return new DicomwebStudySource(client, studyInstanceUid);
}
