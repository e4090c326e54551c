import { describe, expect, it } from 'vitest';
import { readPart10 } from '../part10-reader.js';
import { syntheticCtSeries, type SyntheticCtOptions } from '../phantom/synthetic-ct.js';
import { NoUsableSeriesError, selectSeries, type SeriesCandidate } from './select-series.js';

function candidate(options: SyntheticCtOptions = {}): SeriesCandidate {
  const series = syntheticCtSeries({ rows: 4, columns: 4, slices: 20, ...options });
  return {
    seriesInstanceUid: series.seriesInstanceUid,
    instances: series.instances.map((i) => readPart10(i.bytes).dataset),
  };
}

describe('selectSeries', () => {
  it('rejects every unusable series with a one-line reason', () => {
    const good = candidate({ seriesDescription: 'good' });
    const unusable = {
      seg: candidate({ attributes: { Modality: 'SEG' } }),
      localizer: candidate({ attributes: { ImageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] } }),
      derived: candidate({ attributes: { ImageType: ['DERIVED', 'SECONDARY', 'AXIAL'] } }),
      sagittal: candidate({ orientation: [0, 1, 0, 0, 0, -1] }),
      thick: candidate({ attributes: { SliceThickness: 8 } }),
      short: candidate({ slices: 5 }),
      otherClass: candidate({ attributes: { SOPClassUID: '1.2.840.10008.5.1.4.1.1.7' } }),
      uuidFrame: candidate({ attributes: { FrameOfReferenceUID: '8c1f2f0e-5a43-4d1c-9a67-0f2b3c4d5e6f' } }),
    };
    const uuidSeries = { ...candidate(), seriesInstanceUid: '5d0c7a51-2b7e-4c0e-8d6e-6a1b2c3d4e5f' };
    const { selected, rejected } = selectSeries([...Object.values(unusable), uuidSeries, good]);
    expect(selected.seriesInstanceUid).toBe(good.seriesInstanceUid);
    expect(selected.reason).toBe('the only usable axial CT series');
    const reasonOf = (c: SeriesCandidate) => rejected.find((r) => r.seriesInstanceUid === c.seriesInstanceUid)?.reason;
    expect(reasonOf(unusable.seg)).toBe('modality SEG is not CT');
    expect(reasonOf(unusable.localizer)).toMatch(/contains LOCALIZER/);
    expect(reasonOf(unusable.derived)).toMatch(/contains DERIVED/);
    expect(reasonOf(unusable.sagittal)).toMatch(/not axial: slice normal 90°/);
    expect(reasonOf(unusable.thick)).toMatch(/thickness 8 mm exceeds 5 mm/);
    expect(reasonOf(unusable.short)).toMatch(/5 slices, fewer than the 16 required/);
    expect(reasonOf(unusable.otherClass)).toMatch(/SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.7/);
    expect(reasonOf(unusable.uuidFrame)).toMatch(/^FrameOfReferenceUID is not a DICOM UID/);
    expect(reasonOf(uuidSeries)).toMatch(/^SeriesInstanceUID is not a DICOM UID/);
    expect(rejected).toHaveLength(9);
  });

  it('prefers a lung kernel, then thinner slices down to the limit, then more slices', () => {
    const soft = candidate({ attributes: { ConvolutionKernel: 'B30f', SliceThickness: 1 } });
    const lungThick = candidate({ attributes: { ConvolutionKernel: 'B70f', SliceThickness: 3 } });
    const lungThin = candidate({ attributes: { ConvolutionKernel: 'LUNG', SliceThickness: 1.25 } });
    expect(selectSeries([soft, lungThick, lungThin]).selected.seriesInstanceUid).toBe(lungThin.seriesInstanceUid);

    // 0.6 mm ranks like 1 mm (the limit), so the longer 1 mm series wins.
    const veryThin = candidate({ slices: 20, attributes: { ConvolutionKernel: 'LUNG', SliceThickness: 0.6 } });
    const oneMm = candidate({ slices: 30, attributes: { ConvolutionKernel: 'LUNG', SliceThickness: 1 } });
    const selection = selectSeries([veryThin, oneMm]);
    expect(selection.selected.seriesInstanceUid).toBe(oneMm.seriesInstanceUid);
    expect(selection.selected.reason).toMatch(/best of 2 usable series: kernel LUNG \(lung\), 1 mm, 30 slices/);
    expect(selection.rejected[0].reason).toMatch(/usable, but ranked below/);
  });

  it('throws a permanent NO_USABLE_SERIES error listing every reason', () => {
    let error: unknown;
    try {
      selectSeries([candidate({ attributes: { Modality: 'SR' } }), { seriesInstanceUid: '1.2.3', instances: [] }]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(NoUsableSeriesError);
    expect(error).toMatchObject({ code: 'NO_USABLE_SERIES', transient: false });
    expect((error as NoUsableSeriesError).rejected.map((r) => r.reason)).toEqual([
      'modality SR is not CT',
      'the series has no instances',
    ]);
  });
});
