import { readPart10, type DicomAttributes, type Part10File, type SeriesCandidate } from '@app/dicom';
import type { StudyInventory, StudySource } from '@app/ingest';

/** A study held in memory as Part 10 files: a StudySource for tests, without disk or network. */
export class MemoryStudySource implements StudySource {
  readonly label = 'memory';
  private readonly bySop = new Map<string, Uint8Array>();

  constructor(private readonly files: readonly Uint8Array[]) {}

  async inventory(): Promise<StudyInventory> {
    const series = new Map<string, DicomAttributes[]>();
    let studyInstanceUid = '';
    for (const bytes of this.files) {
      const { dataset } = readPart10(bytes, { untilPixelData: true });
      studyInstanceUid = dataset.string('StudyInstanceUID') ?? '';
      this.bySop.set(dataset.string('SOPInstanceUID') ?? '', bytes);
      const uid = dataset.string('SeriesInstanceUID') ?? '';
      series.set(uid, [...(series.get(uid) ?? []), dataset]);
    }
    return {
      studyInstanceUid,
      series: [...series].map(([seriesInstanceUid, instances]) => ({ seriesInstanceUid, instances })),
      unreadable: [],
    };
  }

  async *instances(series: SeriesCandidate): AsyncIterable<Part10File> {
    for (const instance of series.instances) yield readPart10(this.bySop.get(instance.string('SOPInstanceUID')!)!);
  }
}
