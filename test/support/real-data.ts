import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real chest CT series in ../shared/data (never copied into the repository). */
export const REAL_CT_DIR = resolve(fileURLToPath(new URL('../..', import.meta.url)), '../shared/data/covid-ct-md');
export const hasRealCt = existsSync(join(REAL_CT_DIR, 'P001'));
if (!hasRealCt) console.warn(`real CT sample data not found at ${REAL_CT_DIR}; skipping`);

/** What ../shared/data/README.md states about each series. */
export const REAL_SERIES = [
  {
    name: 'P001',
    slices: 148,
    pixelSpacing: 0.748046875,
    huMin: -1024,
    huMax: 1563,
    zMin: -346.1,
    zMax: -52.1,
    labels: true,
  },
  {
    name: 'cap001',
    slices: 168,
    pixelSpacing: 0.58984375,
    huMin: -1024,
    huMax: 2019,
    zMin: -401.9,
    zMax: -67.9,
    labels: true,
  },
  {
    name: 'normal001',
    slices: 154,
    pixelSpacing: 0.634765625,
    huMin: -1024,
    huMax: 1679,
    zMin: -330.5,
    zMax: -24.5,
    labels: false,
  },
] as const;
