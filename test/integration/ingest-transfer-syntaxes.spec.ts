import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticCtSeries, syntheticEnhancedCt } from '@app/dicom/phantom';
import { FolderStudySource, ingestStudy } from '@app/ingest';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Whole-series ingest (parse → frames → decode → volume) of the same synthetic series
 * re-encoded by DCMTK, a tool this project did not write, in each lossless syntax.
 */
const RECIPES: [name: string, uid: string, tool: string, args: string[]][] = [
  ['Implicit VR Little Endian', '1.2.840.10008.1.2', 'dcmconv', ['+ti']],
  ['Explicit VR Big Endian', '1.2.840.10008.1.2.2', 'dcmconv', ['+tb']],
  ['Deflated Explicit VR Little Endian', '1.2.840.10008.1.2.1.99', 'dcmconv', ['+td']],
  ['RLE Lossless', '1.2.840.10008.1.2.5', 'dcmcrle', []],
  ['JPEG Lossless (process 14)', '1.2.840.10008.1.2.4.57', 'dcmcjpeg', ['+el']],
  ['JPEG Lossless SV1', '1.2.840.10008.1.2.4.70', 'dcmcjpeg', ['+e1']],
  ['JPEG-LS Lossless', '1.2.840.10008.1.2.4.80', 'dcmcjpls', ['+el']],
];

const work = mkdtempSync(join(tmpdir(), 'ingest-ts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ingest of a series in every lossless transfer syntax (encoded by DCMTK)', () => {
  const series = syntheticCtSeries({ rows: 40, columns: 48, slices: 16, sliceDirection: 1 });
  const expected = series.instances.toSorted((a, b) => a.position[2] - b.position[2]);

  it.each(RECIPES)('%s', async (_name, uid, tool, args) => {
    const folder = join(work, uid);
    execFileSync('mkdir', ['-p', folder]);
    for (const instance of series.instances) {
      const source = join(work, `${instance.sopInstanceUid}.dcm`);
      writeFileSync(source, instance.bytes);
      execFileSync(tool, [...args, source, join(folder, `${instance.instanceNumber}.dcm`)]);
    }
    const { volume } = await ingestStudy(new FolderStudySource(folder));
    expect(volume.transferSyntaxes).toEqual([uid]);
    const sliceSize = 40 * 48;
    expected.forEach((instance, k) =>
      expect(volume.hu.subarray(k * sliceSize, (k + 1) * sliceSize)).toEqual(instance.hu),
    );
  });

  it('multi-frame Enhanced CT, RLE-compressed, frames stored in reverse order', async () => {
    const frameOrder = Array.from({ length: 16 }, (_, i) => 15 - i);
    const enhanced = syntheticEnhancedCt({ rows: 40, columns: 48, slices: 16, frameOrder });
    const folder = join(work, 'enhanced');
    execFileSync('mkdir', ['-p', folder]);
    writeFileSync(join(work, 'enhanced.dcm'), enhanced.instance);
    execFileSync('dcmcrle', [join(work, 'enhanced.dcm'), join(folder, 'enhanced.dcm')]);
    const { volume } = await ingestStudy(new FolderStudySource(folder));
    expect(volume.transferSyntaxes).toEqual(['1.2.840.10008.1.2.5']);
    expect(volume.geometry.slices).toBe(16);
    const sorted = enhanced.series.instances.toSorted((a, b) => a.position[2] - b.position[2]);
    const sliceSize = 40 * 48;
    sorted.forEach((instance, k) =>
      expect(volume.hu.subarray(k * sliceSize, (k + 1) * sliceSize)).toEqual(instance.hu),
    );
  });
});

describe('ingest of broken folders', () => {
  it('reports stray non-DICOM files and still builds the volume', async () => {
    const folder = join(work, 'stray');
    execFileSync('mkdir', ['-p', folder]);
    const series = syntheticCtSeries({ rows: 16, columns: 16, slices: 16 });
    series.instances.forEach((i) => writeFileSync(join(folder, `${i.instanceNumber}.dcm`), i.bytes));
    writeFileSync(join(folder, 'notes.txt'), 'not DICOM');
    const study = await ingestStudy(new FolderStudySource(folder));
    expect(study.volume.geometry.slices).toBe(16);
    expect(study.unreadable).toEqual([{ name: 'notes.txt', reason: expect.stringMatching(/not a DICOM file/) }]);
  });

  it('fails with CORRUPT_INSTANCE when an instance of the chosen series is truncated', async () => {
    const folder = join(work, 'truncated');
    execFileSync('mkdir', ['-p', folder]);
    const series = syntheticCtSeries({ rows: 64, columns: 64, slices: 16 });
    series.instances.forEach((i, index) =>
      writeFileSync(
        join(folder, `${i.instanceNumber}.dcm`),
        index === 5 ? i.bytes.subarray(0, i.bytes.length - 100) : i.bytes,
      ),
    );
    await expect(ingestStudy(new FolderStudySource(folder))).rejects.toMatchObject({
      code: 'CORRUPT_INSTANCE',
      transient: false,
      message: expect.stringMatching(/declares \d+ bytes but only \d+ remain/),
    });
  });
});
