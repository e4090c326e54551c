import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { phantomStudy } from '@app/dicom/phantom';

/** Writes the embedded phantom study as <folder>/<series number>/<instance number>.dcm. */
export async function writePhantomStudy(folder: string) {
  const study = phantomStudy();
  for (const [index, series] of study.series.entries()) {
    const seriesFolder = join(folder, `series-${index + 1}`);
    await mkdir(seriesFolder, { recursive: true });
    for (const instance of series.instances) {
      await writeFile(join(seriesFolder, `${String(instance.instanceNumber).padStart(4, '0')}.dcm`), instance.bytes);
    }
  }
  return {
    folder,
    studyInstanceUid: study.studyInstanceUid,
    series: study.series.map((s) => ({ seriesInstanceUid: s.seriesInstanceUid, instances: s.instances.length })),
  };
}
