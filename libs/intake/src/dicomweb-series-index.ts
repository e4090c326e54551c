import { JsonAttributes } from '@app/dicom';
import type { DicomwebClient } from '@app/dicomweb';
import type { ArchivedSeries, StudySeriesIndex } from './ports.js';

/** The re-check over QIDO-RS: a study's series with Modality and NumberOfSeriesRelatedInstances. */
export class DicomwebSeriesIndex implements StudySeriesIndex {
  constructor(private readonly client: DicomwebClient) {}

  async seriesOfStudy(studyInstanceUid: string, signal?: AbortSignal): Promise<ArchivedSeries[]> {
    const found = await this.client.searchSeries(
      studyInstanceUid,
      { includefield: ['NumberOfSeriesRelatedInstances'] },
      signal ? { signal } : {},
    );
    return found.flatMap((dataset) => {
      const attributes = new JsonAttributes(dataset);
      const seriesInstanceUid = attributes.string('SeriesInstanceUID');
      if (!seriesInstanceUid) return [];
      const modality = attributes.string('Modality');
      const instances = attributes.number('NumberOfSeriesRelatedInstances') ?? 0;
      return [{ seriesInstanceUid, ...(modality ? { modality } : {}), instances }];
    });
  }

  /** For readiness: the archive answers a one-result QIDO. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.client.searchStudies({ limit: 1 }, signal ? { signal } : {});
  }
}
