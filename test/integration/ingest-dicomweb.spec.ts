import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { phantomStudy } from '@app/dicom/phantom';
import { basicAuth } from '@app/credentials';
import { createDicomwebClient } from '@app/dicomweb';
import { DicomwebStudySource, FolderStudySource, ingestStudy } from '@app/ingest';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasRealCt, REAL_CT_DIR, REAL_SERIES } from '../support/real-data.js';
import { assertReachable, stack } from '../support/stack.js';

/** Ingest from the real Orthanc over DICOMweb: the same volume as from files, after a STOW/WADO round trip. */
const client = createDicomwebClient({
  baseUrl: stack.dicomwebUrl,
  auth: basicAuth(stack.orthancUsername, stack.orthancPassword),
  timeoutMs: 60_000,
});

const sha256 = (data: ArrayBufferView) =>
  createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');

async function storeAll(instances: Uint8Array[]): Promise<void> {
  // Batches keep each STOW request modest, as a hospital uploader would.
  for (let i = 0; i < instances.length; i += 50) {
    const result = await client.store(instances.slice(i, i + 50));
    expect(result.failed).toEqual([]);
  }
}

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
});

describe('ingest over DICOMweb (real Orthanc)', () => {
  it('chooses the lung series of the phantom study and explains the others', async () => {
    const study = phantomStudy();
    await storeAll(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
    const ingested = await ingestStudy(new DicomwebStudySource(client, study.studyInstanceUid));
    expect(ingested.selection.selected.seriesInstanceUid).toBe(study.series[0].seriesInstanceUid);
    const reasons = ingested.selection.rejected.map((r) => r.reason);
    expect(reasons).toHaveLength(2);
    expect(reasons).toContain('image type ORIGINAL\\PRIMARY\\LOCALIZER contains LOCALIZER');
    expect(reasons).toContainEqual(
      expect.stringMatching(/^usable, but ranked below .*kernel STANDARD, 5 mm, 48 slices/),
    );
    expect(ingested.volume.geometry.slices).toBe(120);
    // The volume equals the generated phantom, slice for slice (sorted feet to head).
    const expected = study.series[0].instances.toSorted((a, b) => a.position[2] - b.position[2]);
    const sliceSize = 192 * 192;
    expected.forEach((instance, k) =>
      expect(ingested.volume.hu.subarray(k * sliceSize, (k + 1) * sliceSize)).toEqual(instance.hu),
    );
  });

  it('reports an unknown study as STUDY_NOT_FOUND', async () => {
    await expect(ingestStudy(new DicomwebStudySource(client, '1.2.3.4.5.6.7.8.9'))).rejects.toMatchObject({
      code: 'STUDY_NOT_FOUND',
      transient: false,
    });
  });
});

describe.skipIf(!hasRealCt)('real chest CT after a STOW/WADO round trip through Orthanc', () => {
  it.each(REAL_SERIES)('$name: the same volume as from the files', async ({ name, slices }) => {
    const folder = join(REAL_CT_DIR, name);
    const files = (await readdir(folder)).filter((f) => f.endsWith('.dcm'));
    await storeAll(await Promise.all(files.map((f) => readFile(join(folder, f)))));
    const fromFiles = await ingestStudy(new FolderStudySource(folder));
    const fromArchive = await ingestStudy(new DicomwebStudySource(client, fromFiles.studyInstanceUid));
    expect(fromArchive.volume.geometry).toEqual(fromFiles.volume.geometry);
    expect(fromArchive.volume.geometry.slices).toBe(slices);
    expect(fromArchive.volume.slices.map((s) => s.source)).toEqual(fromFiles.volume.slices.map((s) => s.source));
    expect(fromArchive.volume.transferSyntaxes).toEqual(['1.2.840.10008.1.2.4.70']);
    expect(sha256(fromArchive.volume.hu)).toBe(sha256(fromFiles.volume.hu));
  });
});
