import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxSession, PYRAMID_FEATURE_SIZE, PyramidPooler } from '@app/inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * PyTorch ↔ onnxruntime-node parity of backbone_seg.onnx at a shape other than the export
 * trace shape, and PyramidPooler ↔ training's numpy pyramid_pool on a real fm volume.
 * The PyTorch side is test/python/inference_parity.py, run with the training venv
 * (training/setup-venv.sh); without that venv the suite is skipped.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = join(ROOT, '.cache/venv-train/bin/python');
const SCRIPT = join(ROOT, 'test/python/inference_parity.py');
const HAS_VENV = existsSync(PYTHON);
const TOLERANCE = 1e-4;

if (!HAS_VENV) {
  console.warn(`inference parity skipped: no training venv at ${PYTHON} (build it with training/setup-venv.sh)`);
}

interface Meta {
  parity: { input: number[]; fm: number[]; lesion_logit: number[] };
  pool: { input: number[]; fm: number[]; expected: number[] };
}

function readF32(dir: string, name: string, dims: number[]): Float32Array {
  const buf = readFileSync(join(dir, name));
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== size * 4) throw new Error(`${name}: ${buf.byteLength} bytes, expected ${size * 4}`);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

describe.skipIf(!HAS_VENV)('backbone_seg.onnx parity (PyTorch vs onnxruntime-node)', () => {
  let dir = '';
  let meta: Meta;
  let session: OnnxSession;
  const logLines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inference-parity-'));
    execFileSync(PYTHON, [SCRIPT, dir, '--width', '0.25', '--seed', '7'], { stdio: ['ignore', 'pipe', 'inherit'] });
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
    session = await OnnxSession.create(join(dir, 'backbone_seg.onnx'), {
      executionProviders: ['cpu'],
      intraOpThreads: 2,
      log: (line) => logLines.push(line),
    });
  }, 300_000);

  afterAll(async () => {
    await session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the contract tensor names', () => {
    expect(session.inputNames).toEqual(['slice']);
    expect(session.outputNames).toEqual(['fm', 'lesion_logit']);
    expect(logLines).toEqual([]);
  });

  it('matches PyTorch fm and lesion_logit within 1e-4 at [3,1,37,53]', async () => {
    const dims = meta.parity.input;
    expect(dims).toEqual([3, 1, 37, 53]);
    const out = await session.run({ slice: { data: readF32(dir, 'parity_input.f32', dims), dims } });
    expect(out.fm.dims).toEqual(meta.parity.fm);
    expect(out.lesion_logit.dims).toEqual(meta.parity.lesion_logit);
    const fmRef = readF32(dir, 'parity_fm.f32', meta.parity.fm);
    const lesionRef = readF32(dir, 'parity_lesion.f32', meta.parity.lesion_logit);
    // A degenerate graph (all zeros) would pass trivially; make sure the outputs carry signal.
    expect(maxAbs(fmRef)).toBeGreaterThan(1e-3);
    expect(maxAbs(lesionRef)).toBeGreaterThan(1e-3);
    const fmDiff = maxAbsDiff(out.fm.data, fmRef);
    const lesionDiff = maxAbsDiff(out.lesion_logit.data, lesionRef);
    console.warn(
      `backbone_seg parity [3,1,37,53]: max |Δfm| = ${fmDiff.toExponential(2)} (max |fm| ${maxAbs(fmRef).toFixed(3)}), ` +
        `max |Δlesion_logit| = ${lesionDiff.toExponential(2)} (max |logit| ${maxAbs(lesionRef).toFixed(3)})`,
    );
    expect(fmDiff).toBeLessThanOrEqual(TOLERANCE);
    expect(lesionDiff).toBeLessThanOrEqual(TOLERANCE);
  });

  it('pools the PyTorch fm volume exactly like training pyramid_pool_numpy', () => {
    const [d, c, h, w] = meta.pool.fm as [number, number, number, number];
    const fm = readF32(dir, 'pool_fm.f32', meta.pool.fm);
    const expected = readF32(dir, 'pool_expected.f32', meta.pool.expected);
    expect(expected).toHaveLength(PYRAMID_FEATURE_SIZE);
    const pooler = new PyramidPooler({ height: h, width: w, depth: d, channels: c });
    const plane = c * h * w;
    // Slices out of order, as they might come back from a batched, parallel run.
    for (const k of Array.from({ length: d }, (_, i) => i).toReversed()) {
      pooler.addSlice(k, fm.subarray(k * plane, (k + 1) * plane));
    }
    expect(maxAbsDiff(pooler.features(), expected)).toBe(0);
  });

  it('pools onnxruntime fm, slice by slice, to the numpy features within 1e-4', async () => {
    const [d, , h, w] = meta.pool.input as [number, number, number, number];
    const volume = readF32(dir, 'pool_input.f32', meta.pool.input);
    const expected = readF32(dir, 'pool_expected.f32', meta.pool.expected);
    const pooler = new PyramidPooler({ height: h, width: w, depth: d });
    // Two batches of slices, as a streaming pipeline would send them.
    for (const [start, stop] of [
      [0, 5],
      [5, d],
    ] as const) {
      const n = stop - start;
      const out = await session.run({
        slice: { data: volume.subarray(start * h * w, stop * h * w), dims: [n, 1, h, w] },
      });
      const plane = 8 * h * w;
      for (let i = 0; i < n; i++) pooler.addSlice(start + i, out.fm.data.subarray(i * plane, (i + 1) * plane));
    }
    const diff = maxAbsDiff(pooler.features(), expected);
    console.warn(`PyramidPooler on onnxruntime fm vs numpy on PyTorch fm: max |Δ| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  });
});
