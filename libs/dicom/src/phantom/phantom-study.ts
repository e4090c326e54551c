import { syntheticCtSeries, type SyntheticCtSeries } from './synthetic-ct.js';
import { newUid } from '../uid.js';

/**
 * The embedded demonstration study: what a scanner typically sends for one chest CT.
 * A thin lung-kernel axial series (the one to pick), a thick soft-tissue series and a
 * localizer, all of the synthetic phantom. Used when no study is given.
 */
export function phantomStudy(): { studyInstanceUid: string; series: SyntheticCtSeries[] } {
  const studyInstanceUid = newUid();
  const frameOfReferenceUid = newUid();
  const common = {
    studyInstanceUid,
    frameOfReferenceUid,
    rows: 192,
    columns: 192,
    pixelSpacing: [1.8, 1.8] as [number, number],
  };
  return {
    studyInstanceUid,
    series: [
      syntheticCtSeries({
        ...common,
        slices: 120,
        sliceSpacing: 2,
        origin: [-172.8, -172.8, -60],
        seriesDescription: 'Thorax 2.0 lung',
        attributes: { ConvolutionKernel: 'LUNG', SeriesNumber: 2 },
      }),
      syntheticCtSeries({
        ...common,
        slices: 48,
        sliceSpacing: 5,
        origin: [-172.8, -172.8, -60],
        seriesDescription: 'Thorax 5.0 soft tissue',
        attributes: { ConvolutionKernel: 'STANDARD', SliceThickness: 5, SeriesNumber: 3 },
      }),
      syntheticCtSeries({
        ...common,
        slices: 1,
        seriesDescription: 'Topogram',
        attributes: { ImageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'], SeriesNumber: 1 },
      }),
    ],
  };
}
