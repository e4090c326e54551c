// The archive side of `npm run bench:e2e`: puts the real series into Orthanc once and makes
// independent copies of its study (new Study, Series and SOP Instance UIDs, same pixels) with
// Orthanc's own /modify, so that every measured triage is a first triage: no duplicate STOW,
// no existing FHIR report, no "already triaged" shortcut in the worker. `npm run bench:memory`
// stores its own fresh copies (storeInstances) and deletes them the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPart10 } from '../../dist/libs/dicom/src/index.js';
import { httpAuthProvider } from '../../dist/libs/credentials/src/index.js';
import { createDicomwebClient } from '../../dist/libs/dicomweb/src/index.js';
import { loadConfigFromEnvironment } from '../../dist/libs/config/src/index.js';

const { ORTHANC_URL, ORTHANC_USERNAME, ORTHANC_PASSWORD } = process.env;
const authorization = `Basic ${Buffer.from(`${ORTHANC_USERNAME}:${ORTHANC_PASSWORD}`).toString('base64')}`;

async function orthanc(method, path, body) {
  const response = await fetch(`${ORTHANC_URL}${path}`, {
    method,
    headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(300_000),
  });
  if (!response.ok) throw new Error(`Orthanc ${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.headers.get('content-type')?.includes('json') ? response.json() : response.text();
}

/** STOW-RS of Part 10 files in batches of 50 (idempotent); returns the study's UID and Orthanc id. */
export async function storeInstances(files) {
  const studyInstanceUid = readPart10(files[0], { untilPixelData: true }).dataset.string('StudyInstanceUID');
  const config = loadConfigFromEnvironment();
  const client = createDicomwebClient({
    baseUrl: config.dicomweb.baseUrl,
    auth: httpAuthProvider(config.dicomweb.auth, { settings: 'DICOMWEB' }),
    timeoutMs: 120_000,
  });
  for (let start = 0; start < files.length; start += 50) {
    const result = await client.store(files.slice(start, start + 50));
    if (result.failed.length) throw new Error(`STOW refused ${result.failed.length} instances of ${studyInstanceUid}`);
  }
  const [found] = (await orthanc('POST', '/tools/lookup', studyInstanceUid)).filter((r) => r.Type === 'Study');
  return { studyInstanceUid, orthancId: found.ID, instances: files.length };
}

/** STOW-RS of every .dcm file of the folder (idempotent); returns the study's UID and Orthanc id. */
export function storeSeries(folder) {
  const files = readdirSync(folder)
    .filter((name) => name.endsWith('.dcm'))
    .map((name) => readFileSync(join(folder, name)));
  return storeInstances(files);
}

/** A copy of the study with fresh UIDs at every level; returns its UID and Orthanc id. */
export async function copyStudy(orthancId, label) {
  const { ID } = await orthanc('POST', `/studies/${orthancId}/modify`, {
    Replace: { StudyDescription: `bench:e2e copy ${label}` },
  });
  const study = await orthanc('GET', `/studies/${ID}`);
  return { studyInstanceUid: study.MainDicomTags.StudyInstanceUID, orthancId: ID };
}

export const deleteStudy = (orthancId) => orthanc('DELETE', `/studies/${orthancId}`);
