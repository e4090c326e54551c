import { open, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  CorruptInstanceError,
  readPart10,
  type DicomAttributes,
  type Part10File,
  type SeriesCandidate,
} from '@app/dicom';
import { PermanentError } from '@app/errors';
import type { StudyInventory, StudySource, UnreadableInstance } from './study-source.js';

/** Headers nearly always fit here; a file whose header does not is read whole. */
const HEADER_BYTES = 64 * 1024;

async function* walk(folder: string): AsyncGenerator<string> {
  const entries = await readdir(folder, { withFileTypes: true });
  for (const entry of entries.toSorted((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

async function readHeader(path: string): Promise<Part10File> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, HEADER_BYTES));
    await handle.read(head, 0, head.length, 0);
    try {
      return readPart10(head, { untilPixelData: true });
    } catch (error) {
      if (size <= HEADER_BYTES || !(error instanceof CorruptInstanceError)) throw error;
    }
  } finally {
    await handle.close();
  }
  return readPart10(await readFile(path), { untilPixelData: true });
}

/** The instances of one study in a folder (searched recursively), as files on disk. */
export class FolderStudySource implements StudySource {
  private readonly pathBySop = new Map<string, string>();

  constructor(private readonly folder: string) {}

  get label(): string {
    return this.folder;
  }

  async inventory(): Promise<StudyInventory> {
    const unreadable: UnreadableInstance[] = [];
    const studies = new Map<string, Map<string, DicomAttributes[]>>();
    for await (const path of walk(this.folder)) {
      const name = relative(this.folder, path);
      let file: Part10File;
      try {
        file = await readHeader(path);
      } catch (error) {
        unreadable.push({ name, reason: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const { dataset } = file;
      const study = dataset.string('StudyInstanceUID');
      const series = dataset.string('SeriesInstanceUID');
      const sop = dataset.string('SOPInstanceUID');
      if (!study || !series || !sop) {
        unreadable.push({ name, reason: 'no Study, Series or SOP Instance UID' });
        continue;
      }
      this.pathBySop.set(sop, path);
      const seriesMap = studies.get(study) ?? new Map<string, DicomAttributes[]>();
      studies.set(study, seriesMap);
      seriesMap.set(series, [...(seriesMap.get(series) ?? []), dataset]);
    }
    if (studies.size !== 1) {
      throw new PermanentError(
        studies.size === 0 ? 'STUDY_NOT_FOUND' : 'NO_USABLE_SERIES',
        studies.size === 0
          ? `no readable DICOM instance in ${this.folder} (${unreadable.length} unreadable files)`
          : `${this.folder} holds ${studies.size} studies; give the folder of one study`,
      );
    }
    const [[studyInstanceUid, seriesMap]] = [...studies];
    return {
      studyInstanceUid: studyInstanceUid,
      series: [...seriesMap].map(([seriesInstanceUid, instances]) => ({ seriesInstanceUid, instances })),
      unreadable,
    };
  }

  async *instances(series: SeriesCandidate): AsyncIterable<Part10File> {
    for (const instance of series.instances) {
      const path = this.pathBySop.get(instance.string('SOPInstanceUID') ?? '');
      if (!path) throw new CorruptInstanceError('an instance of the inventory has no file');
      yield readPart10(await readFile(path));
    }
  }
}
