import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliDicomwebClient } from './dicomweb-source.js';

const BATCH = 50;

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .toSorted();
}

/** STOW-RS every file of a folder to the configured archive (DICOMWEB_*), in batches. */
export async function storeFolder(folder: string) {
  const client = cliDicomwebClient();
  const files = await listFiles(folder);
  let stored = 0;
  const failed: { file: string; reason: string }[] = [];
  for (let start = 0; start < files.length; start += BATCH) {
    const batch = files.slice(start, start + BATCH);
    const result = await client.store(await Promise.all(batch.map((file) => readFile(file))));
    stored += result.stored.length;
    for (const failure of result.failed) {
      failed.push({ file: failure.index === undefined ? '?' : batch[failure.index], reason: failure.description });
    }
  }
  return { archive: client.baseUrl, files: files.length, stored, failed };
}
