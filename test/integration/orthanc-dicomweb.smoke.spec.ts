import { syntheticCtSeries } from '@app/dicom/phantom';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMultipartRelated, parseMultipartRelated } from '../support/multipart.js';
import { assertReachable, stack } from '../support/stack.js';

/** Smoke test of the real Orthanc + DICOMweb plugin: STOW a synthetic series, QIDO it, WADO it back. */
describe('Orthanc DICOMweb (real server)', () => {
  const series = syntheticCtSeries({ slices: 12 });

  beforeAll(async () => {
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  });

  it('refuses requests without credentials', async () => {
    const response = await fetch(`${stack.dicomwebUrl}/studies`);
    expect(response.status).toBe(401);
  });

  it('stores a synthetic CT series with STOW-RS', async () => {
    const { body, contentType } = buildMultipartRelated(series.instances.map((i) => i.bytes));
    const response = await fetch(`${stack.dicomwebUrl}/studies`, {
      method: 'POST',
      headers: {
        'Content-Type': contentType,
        Accept: 'application/dicom+json',
        Authorization: stack.orthancAuthorization,
      },
      body,
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Record<string, { Value?: unknown[] }>;
    // ReferencedSOPSequence (0008,1199): every instance stored; no FailedSOPSequence (0008,1198).
    expect(result['00081199']?.Value).toHaveLength(series.instances.length);
    expect(result['00081198']?.Value ?? []).toHaveLength(0);
  });

  it('finds the study and the series with QIDO-RS', async () => {
    const studies = await fetchJson(`${stack.dicomwebUrl}/studies?StudyInstanceUID=${series.studyInstanceUid}`);
    expect(studies).toHaveLength(1);
    const seriesList = await fetchJson(
      `${stack.dicomwebUrl}/studies/${series.studyInstanceUid}/series?includefield=00201209`,
    );
    expect(seriesList).toHaveLength(1);
    expect(seriesList[0]['0020000E']?.Value).toEqual([series.seriesInstanceUid]);
    expect(seriesList[0]['00080060']?.Value).toEqual(['CT']);
    // NumberOfSeriesRelatedInstances
    expect(seriesList[0]['00201209']?.Value).toEqual([series.instances.length]);
  });

  it('retrieves every instance with WADO-RS, byte for byte as stored', async () => {
    const response = await fetch(
      `${stack.dicomwebUrl}/studies/${series.studyInstanceUid}/series/${series.seriesInstanceUid}`,
      {
        headers: {
          Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
          Authorization: stack.orthancAuthorization,
        },
      },
    );
    expect(response.status).toBe(200);
    const parts = parseMultipartRelated(
      Buffer.from(await response.arrayBuffer()),
      response.headers.get('content-type')!,
    );
    expect(parts).toHaveLength(series.instances.length);
    const sent = new Set(series.instances.map((i) => i.bytes.toString('base64')));
    for (const part of parts) expect(sent.has(part.toString('base64'))).toBe(true);
  });
});

async function fetchJson(url: string): Promise<Record<string, { Value?: unknown[] }>[]> {
  const response = await fetch(url, {
    headers: { Accept: 'application/dicom+json', Authorization: stack.orthancAuthorization },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, { Value?: unknown[] }>[];
}
