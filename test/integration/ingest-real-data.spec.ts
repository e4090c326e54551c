import { join } from 'node:path';
import { FolderStudySource, ingestStudy } from '@app/ingest';
import { describe, expect, it } from 'vitest';
import { hasRealCt, REAL_CT_DIR, REAL_SERIES } from '../support/real-data.js';

/** The three real JPEG Lossless chest CT series each build a correct volume from their folder. */
describe.skipIf(!hasRealCt)('ingest of the real chest CT series (folder)', () => {
  it.each(REAL_SERIES)('$name: slices, spacing, orientation and HU range', async (expected) => {
    const study = await ingestStudy(new FolderStudySource(join(REAL_CT_DIR, expected.name)));
    const { geometry, huRange, slices, transferSyntaxes } = study.volume;
    expect(geometry.slices).toBe(expected.slices);
    expect([geometry.columns, geometry.rows]).toEqual([512, 512]);
    expect(geometry.spacing[0]).toBeCloseTo(expected.pixelSpacing, 6);
    expect(geometry.spacing[2]).toBeCloseTo(2, 3);
    expect(geometry.imageOrientation).toEqual([1, 0, 0, 0, 1, 0]);
    // Sorted along the normal (+z, feet to head): first slice lowest.
    expect(slices[0].position[2]).toBeCloseTo(expected.zMin, 3);
    expect(slices.at(-1)!.position[2]).toBeCloseTo(expected.zMax, 3);
    expect(huRange).toEqual({ min: expected.huMin, max: expected.huMax });
    expect(transferSyntaxes).toEqual(['1.2.840.10008.1.2.4.70']);
    // labels.json sits beside the images of two series: reported, not fatal.
    expect(study.unreadable.map((u) => u.name)).toEqual(expected.labels ? ['labels.json'] : []);
    expect(study.selection.rejected).toEqual([]);
  });
});
