import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CtVolume } from '@app/dicom';
import { phantomStudy } from '@app/dicom/phantom';
import { loadTriageModel, NoLungsFoundError, type TriageAnalysis, type VolumeAnalyzer } from '@app/inference';
import { FolderStudySource, ingestStudy } from '@app/ingest';
import type { LungRegionMeasurement } from '@app/triage-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRealCt, REAL_CT_DIR } from '../support/real-data.js';

/**
 * The committed model set on real inputs: the embedded phantom study and the real P001, each
 * through @app/ingest and loadTriageModel, checked for mechanics (shapes, lesion ⊆ lungs,
 * consistent numbers) and for parity with training/covid_triage/infer.py, an independent
 * numpy + onnxruntime (Python) implementation of the same steps. Nothing here depends on the
 * weights being good (they are a small demonstration trained on synthetic data).
 *
 * Parity tolerances. Both sides feed onnxruntime bit-identical inputs (same float64 formulas,
 * float32 storage), so the probabilities differ only by onnxruntime's round-off between
 * builds and thread counts (~1e-6): P(COVID) must agree within 1e-4. The masks can differ only
 * where a probability sits within that round-off of a threshold, so volumes and percentages
 * must agree within 0.5 % relative (0.05 mL or 0.05 percentage points absolute for tiny
 * values), and the masks voxel for voxel up to 0.1 % of the lung voxels. The k-means split is
 * the same algorithm and seed on both sides (mulberry32, k-means++, Lloyd).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MANIFEST = join(ROOT, 'models/covid-triage-demo/manifest.json');
const PYTHON = join(ROOT, '.cache/venv-train/bin/python');
const HAS_VENV = existsSync(PYTHON);
const THREADS = 2;
const BATCH = 16;
if (!HAS_VENV) console.warn(`inference pipeline parity skipped: no training venv at ${PYTHON}`);

interface Reference {
  covidProbability: number;
  severityPercent: number;
  lungs: LungRegionMeasurement[];
  lungBox: TriageAnalysis['lungBox'];
  timings: Record<string, number>;
  error?: { code: string; message: string };
}

const work = mkdtempSync(join(tmpdir(), 'inference-pipeline-'));
let analyzer: VolumeAnalyzer;

beforeAll(async () => {
  analyzer = await loadTriageModel({ manifestPath: MANIFEST, intraOpThreads: THREADS, batchSlices: BATCH });
});

afterAll(async () => {
  await analyzer?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Runs infer.py; its masks land in `masksDir`. */
function reference(args: string[], masksDir: string): Reference {
  const run = spawnSync(
    PYTHON,
    [
      '-m',
      'covid_triage.infer',
      '--manifest',
      MANIFEST,
      '--threads',
      String(THREADS),
      '--batch',
      String(BATCH),
      '--masks-out',
      masksDir,
      ...args,
    ],
    { cwd: join(ROOT, 'training'), encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (run.status !== 0 && run.status !== 3) throw new Error(`infer.py failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Reference;
}

/** The volume as infer.py --raw/--geometry reads it. */
function writeRaw(volume: CtVolume, dir: string): string[] {
  const { hu, geometry: g } = volume;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'volume.raw'), Buffer.from(hu.buffer, hu.byteOffset, hu.byteLength));
  const geometry = {
    columns: g.columns,
    rows: g.rows,
    slices: g.slices,
    dtype: hu instanceof Int16Array ? 'int16' : 'float32',
    origin: g.origin,
    directions: g.directions,
    spacing: g.spacing,
  };
  writeFileSync(join(dir, 'geometry.json'), JSON.stringify(geometry));
  return ['--raw', join(dir, 'volume.raw'), '--geometry', join(dir, 'geometry.json')];
}

const region = (a: { measurements: { lungs: LungRegionMeasurement[] } } | Reference, name: string) =>
  ('measurements' in a ? a.measurements.lungs : a.lungs).find((l) => l.region === name)!;

/** Mechanics that hold for any weights. */
function expectConsistent(volume: CtVolume, analysis: TriageAnalysis): void {
  const { masks, measurements } = analysis;
  const size = volume.hu.length;
  for (const mask of [masks.rightLung, masks.leftLung, masks.lesion]) expect(mask).toHaveLength(size);
  let lesionOutside = 0;
  let overlap = 0;
  for (let q = 0; q < size; q++) {
    if (masks.rightLung[q] && masks.leftLung[q]) overlap++;
    if (masks.lesion[q] && !masks.rightLung[q] && !masks.leftLung[q]) lesionOutside++;
  }
  expect(overlap).toBe(0);
  expect(lesionOutside).toBe(0);
  expect(measurements.covidProbability).toBeGreaterThanOrEqual(0);
  expect(measurements.covidProbability).toBeLessThanOrEqual(1);
  expect(measurements.lungs.map((l) => l.region)).toEqual(['left', 'right', 'both']);
  for (const l of measurements.lungs) {
    for (const v of [l.lungVolumeMl, l.lesionVolumeMl, l.percentAffected]) expect(Number.isFinite(v)).toBe(true);
    expect(l.lesionVolumeMl).toBeLessThanOrEqual(l.lungVolumeMl + 1e-9);
    expect(l.percentAffected).toBeGreaterThanOrEqual(0);
    expect(l.percentAffected).toBeLessThanOrEqual(100);
  }
  const [left, right, both] = ['left', 'right', 'both'].map((n) => region(analysis, n));
  expect(left.lungVolumeMl + right.lungVolumeMl).toBeCloseTo(both.lungVolumeMl, 6);
  expect(left.lesionVolumeMl + right.lesionVolumeMl).toBeCloseTo(both.lesionVolumeMl, 6);
  expect(measurements.severityPercent).toBe(Math.max(left.percentAffected, right.percentAffected));
  expect(both.lungVolumeMl).toBeGreaterThan(0);
  const box = analysis.lungBox;
  for (const axis of [box.rows, box.cols, box.slices]) expect(axis[1] - axis[0]).toBeGreaterThanOrEqual(8);
}

const close = (ours: number, theirs: number, absolute: number) =>
  Math.abs(ours - theirs) <= Math.max(absolute, 0.005 * Math.abs(theirs));

/** Parity with infer.py: numbers, box, and voxel-level mask agreement. */
function expectParity(label: string, analysis: TriageAnalysis, ref: Reference, masksDir: string): void {
  expect(ref.error).toBeUndefined();
  const dp = Math.abs(analysis.measurements.covidProbability - ref.covidProbability);
  expect(analysis.lungBox).toEqual(ref.lungBox);
  const differing: Record<string, number> = {};
  for (const name of ['rightLung', 'leftLung', 'lesion'] as const) {
    const theirs = readFileSync(join(masksDir, `${name}.u8`));
    const ours = analysis.masks[name];
    expect(theirs.length).toBe(ours.length);
    let diff = 0;
    for (let q = 0; q < ours.length; q++) if (ours[q] !== theirs[q]) diff++;
    differing[name] = diff;
  }
  const lungVoxels =
    analysis.masks.rightLung.reduce((a, b) => a + b, 0) + analysis.masks.leftLung.reduce((a, b) => a + b, 0);
  const worst = { volume: 0, percent: 0 };
  for (const name of ['left', 'right', 'both']) {
    const [ours, theirs] = [region(analysis, name), region(ref, name)];
    for (const key of ['lungVolumeMl', 'lesionVolumeMl'] as const) {
      expect(close(ours[key], theirs[key], 0.05), `${label} ${name} ${key}: ${ours[key]} vs ${theirs[key]}`).toBe(true);
      if (theirs[key] > 0) worst.volume = Math.max(worst.volume, Math.abs(ours[key] / theirs[key] - 1));
    }
    expect(close(ours.percentAffected, theirs.percentAffected, 0.05)).toBe(true);
    worst.percent = Math.max(worst.percent, Math.abs(ours.percentAffected - theirs.percentAffected));
  }
  expect(close(analysis.measurements.severityPercent, ref.severityPercent, 0.05)).toBe(true);
  console.warn(
    `${label} parity vs infer.py: |ΔP(COVID)| = ${dp.toExponential(2)} (ours ${analysis.measurements.covidProbability.toFixed(6)}), ` +
      `worst volume Δ ${(100 * worst.volume).toFixed(4)} %, worst percent Δ ${worst.percent.toExponential(2)} pp, ` +
      `differing voxels ${JSON.stringify(differing)} of ${lungVoxels} lung voxels; ` +
      `ours ${analysis.timings.totalMs.toFixed(0)} ms, infer.py ${ref.timings.totalMs.toFixed(0)} ms`,
  );
  expect(dp).toBeLessThanOrEqual(1e-4);
  for (const diff of Object.values(differing)) expect(diff).toBeLessThanOrEqual(Math.max(10, 1e-3 * lungVoxels));
}

describe('inference pipeline on the embedded phantom study', () => {
  let volume: CtVolume;
  let analysis: TriageAnalysis | undefined;
  let failure: unknown;

  beforeAll(async () => {
    const folder = join(work, 'phantom');
    for (const [index, series] of phantomStudy().series.entries()) {
      mkdirSync(join(folder, `series-${index + 1}`), { recursive: true });
      for (const instance of series.instances) {
        writeFileSync(join(folder, `series-${index + 1}`, `${instance.instanceNumber}.dcm`), instance.bytes);
      }
    }
    ({ volume } = await ingestStudy(new FolderStudySource(folder)));
    analysis = await analyzer.analyze(volume).catch((error: unknown) => {
      failure = error;
      return undefined;
    });
  }, 300_000);

  it('gives masks of the source shape and consistent numbers (or a typed NO_LUNGS_FOUND)', () => {
    expect(volume.geometry).toMatchObject({ columns: 192, rows: 192, slices: 120 });
    // Trained weights may see no lungs in this cartoon phantom; then it must be the typed failure.
    const outcome = analysis ? 'analysed' : failure instanceof NoLungsFoundError ? 'NO_LUNGS_FOUND' : String(failure);
    expect(['analysed', 'NO_LUNGS_FOUND']).toContain(outcome);
    if (analysis) expectConsistent(volume, analysis);
    else console.warn(`phantom: ${String(failure)}`);
  });

  it.skipIf(!HAS_VENV)(
    'agrees with infer.py (numpy + onnxruntime)',
    () => {
      const masksDir = join(work, 'phantom-masks');
      const ref = reference(writeRaw(volume, join(work, 'phantom-raw')), masksDir);
      expect(ref.error?.code ?? 'analysed').toBe(analysis ? 'analysed' : 'NO_LUNGS_FOUND');
      if (analysis) expectParity('phantom', analysis, ref, masksDir);
    },
    300_000,
  );
});

describe.skipIf(!hasRealCt)('inference pipeline on the real P001 (covid-ct-md)', () => {
  let volume: CtVolume;
  let analysis: TriageAnalysis;

  beforeAll(async () => {
    ({ volume } = await ingestStudy(new FolderStudySource(join(REAL_CT_DIR, 'P001'))));
    analysis = await analyzer.analyze(volume);
  }, 300_000);

  it('gives masks of the source shape and consistent numbers', () => {
    expect(volume.geometry).toMatchObject({ columns: 512, rows: 512, slices: 148 });
    expectConsistent(volume, analysis);
    console.warn(
      `P001 timings (ms): ${JSON.stringify(analysis.timings, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
  });

  it.skipIf(!HAS_VENV)(
    'agrees with infer.py reading the DICOM files with pydicom',
    () => {
      const masksDir = join(work, 'p001-masks');
      expectParity('P001', analysis, reference(['--dicom', join(REAL_CT_DIR, 'P001')], masksDir), masksDir);
    },
    300_000,
  );
});
