import { readFile } from 'node:fs/promises';
import { parseModelManifest } from './model-manifest.js';

/**
 * The id and version a model set's manifest declares, without loading its graphs: what a
 * process that never runs the model (the intake) needs to recognise the model's own SEG and SR.
 * Throws ModelManifestError as loadTriageModel would.
 */
export async function readModelIdentity(manifestPath: string): Promise<{ id: string; version: string }> {
  const manifest = parseModelManifest(JSON.parse(await readFile(manifestPath, 'utf8')) as unknown);
  return { id: manifest.id, version: manifest.version };
}
