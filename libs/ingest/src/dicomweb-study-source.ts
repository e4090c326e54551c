import { JsonAttributes, readPart10, type Part10File, type SeriesCandidate } from '@app/dicom';
import { type DicomwebClient } from '@app/dicomweb';
import { PermanentError } from '@app/errors';
import type { StudyInventory, StudySource } from './study-source.js';

/**
 * A study in a DICOMweb archive. The inventory comes from series-level QIDO plus
 * WADO-RS metadata (instance-level QIDO carries no geometry on several archives);
 * instances then stream in one at a time. `signal` aborts whatever request is under way
 * (shutdown, the study's deadline), not only the next step.
 */
export class DicomwebStudySource implements StudySource {
  private readonly options: { signal?: AbortSignal };

  constructor(
    private readonly client: DicomwebClient,
    private readonly studyInstanceUid: string,
    signal?: AbortSignal,
  ) {
    this.options = signal ? { signal } : {};
  }

  get label(): string {
    return `${this.client.baseUrl}/studies/${this.studyInstanceUid}`;
  }

  async inventory(): Promise<StudyInventory> {
    const seriesList = await this.client.searchSeries(this.studyInstanceUid, {}, this.options);
    if (seriesList.length === 0) {
      throw new PermanentError('STUDY_NOT_FOUND', `the archive has no series of study ${this.studyInstanceUid}`);
    }
    const series: SeriesCandidate[] = [];
    for (const entry of seriesList) {
      const seriesInstanceUid = new JsonAttributes(entry).string('SeriesInstanceUID');
      if (!seriesInstanceUid) continue;
      const metadata = await this.client.retrieveSeriesMetadata(this.studyInstanceUid, seriesInstanceUid, this.options);
      series.push({ seriesInstanceUid, instances: metadata.map((m) => new JsonAttributes(m)) });
    }
    return { studyInstanceUid: this.studyInstanceUid, series, unreadable: [] };
  }

  async *instances(series: SeriesCandidate): AsyncIterable<Part10File> {
    for await (const bytes of this.client.retrieveSeries(
      this.studyInstanceUid,
      series.seriesInstanceUid,
      this.options,
    )) {
      yield readPart10(bytes);
    }
  }
}

/** Splits `<dicomweb root>/studies/<StudyInstanceUID>` into its parts. */
export function parseStudyUrl(url: string): { baseUrl: string; studyInstanceUid: string } {
  const match = /^(https?:\/\/.+?)\/studies\/([0-9.]+)\/?$/.exec(url);
  if (!match) throw new PermanentError('STUDY_NOT_FOUND', `not a DICOMweb study URL (<root>/studies/<uid>): ${url}`);
  return { baseUrl: match[1], studyInstanceUid: match[2] };
}
