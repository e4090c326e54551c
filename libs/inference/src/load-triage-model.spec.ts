import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTriageModel, ModelFileError, readModelSet } from './load-triage-model.js';
import { ModelManifestError } from './model-manifest.js';

const MODEL_DIR = fileURLToPath(new URL('../../../models/covid-triage-demo', import.meta.url));
const manifestJson = () =>
  JSON.parse(readFileSync(join(MODEL_DIR, 'manifest.json'), 'utf8')) as {
    graphs: { name: string; file: string; sha256: string }[];
    thresholds: { lungs: number; lesions: number };
  };
const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A model set of three small stand-in files whose hashes the manifest states correctly. */
function fakeModelSet() {
  const dir = mkdtempSync(join(tmpdir(), 'model-set-'));
  dirs.push(dir);
  const manifest = manifestJson();
  for (const graph of manifest.graphs) {
    const bytes = `stand-in for ${graph.name}`;
    writeFileSync(join(dir, graph.file), bytes);
    graph.sha256 = sha(bytes);
  }
  const write = () => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  write();
  return { dir, manifest, write };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('readModelSet', () => {
  it('accepts a set whose files match the manifest hashes', async () => {
    const { dir } = fakeModelSet();
    const set = await readModelSet(join(dir, 'manifest.json'));
    expect(set.graphPaths).toEqual({
      lungs: join(dir, 'lungs.onnx'),
      backbone_seg: join(dir, 'backbone_seg.onnx'),
      cls_mlp: join(dir, 'cls_mlp.onnx'),
    });
  });

  it('names the altered file on a SHA-256 mismatch', async () => {
    const { dir } = fakeModelSet();
    writeFileSync(join(dir, 'backbone_seg.onnx'), 'someone else’s weights');
    const error = await rejection(readModelSet(join(dir, 'manifest.json')));
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error).toMatchObject({
      code: 'INTERNAL',
      transient: false,
      problem: 'sha256-mismatch',
      file: join(dir, 'backbone_seg.onnx'),
    });
    expect(String(error)).toMatch(
      /backbone_seg\.onnx: graph 'backbone_seg' has SHA-256 [0-9a-f]{64}, the manifest says/,
    );
  });

  it('names a missing graph file', async () => {
    const { dir } = fakeModelSet();
    rmSync(join(dir, 'cls_mlp.onnx'));
    const error = await rejection(readModelSet(join(dir, 'manifest.json')));
    expect(error).toMatchObject({ problem: 'missing', file: join(dir, 'cls_mlp.onnx') });
  });

  it('names a missing or unreadable manifest', async () => {
    const { dir } = fakeModelSet();
    expect(await rejection(readModelSet(join(dir, 'nope.json')))).toMatchObject({
      problem: 'missing',
      file: join(dir, 'nope.json'),
    });
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    expect(await rejection(readModelSet(join(dir, 'manifest.json')))).toMatchObject({ problem: 'unreadable' });
  });

  it('rejects a manifest the pipeline was not written for before touching the graphs', async () => {
    const { dir, manifest, write } = fakeModelSet();
    manifest.thresholds.lungs = 7;
    write();
    await expect(readModelSet(join(dir, 'manifest.json'))).rejects.toThrow(ModelManifestError);
  });
});

describe('loadTriageModel', () => {
  it('loads the committed model set once, with the manifest identity and one load log line', async () => {
    const lines: string[] = [];
    const analyzer = await loadTriageModel({
      manifestPath: join(MODEL_DIR, 'manifest.json'),
      intraOpThreads: 1,
      log: (line) => lines.push(line),
    });
    try {
      expect(analyzer.model.id).toBe('covid-triage-multitask-demo');
      expect(analyzer.executionProviders).toEqual(['cpu']);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^model covid-triage-multitask-demo .* \(providers \[cpu\], 1 intra-op threads, 16 slices/,
      );
    } finally {
      await analyzer.close();
    }
  });

  it('says when the configured GPU provider failed to load and CPU runs instead', async () => {
    // This machine has no CUDA libraries for onnxruntime.
    const analyzer = await loadTriageModel({
      manifestPath: join(MODEL_DIR, 'manifest.json'),
      executionProviders: ['cuda', 'cpu'],
      intraOpThreads: 1,
    });
    try {
      expect(analyzer.executionProviders).toEqual(['cpu']);
      expect(analyzer.providerFallback).toEqual({ requested: ['cuda', 'cpu'], reason: expect.stringMatching(/.+/) });
    } finally {
      await analyzer.close();
    }
    const plain = await loadTriageModel({ manifestPath: join(MODEL_DIR, 'manifest.json'), intraOpThreads: 1 });
    expect(plain.providerFallback).toBeUndefined();
    await plain.close();
  });

  it('refuses a graph whose tensors are not the contract’s (the right hash, the wrong graph)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-set-'));
    dirs.push(dir);
    const manifest = manifestJson();
    for (const graph of manifest.graphs) copyFileSync(join(MODEL_DIR, graph.file), join(dir, graph.file));
    // lungs.onnx replaced by a tiny affine graph, its hash updated: the file checks, the tensors do not.
    const affine = readFileSync(fileURLToPath(new URL('./testing/affine.onnx', import.meta.url)));
    writeFileSync(join(dir, 'lungs.onnx'), affine);
    manifest.graphs.find((g) => g.name === 'lungs')!.sha256 = sha(affine);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const error = await rejection(loadTriageModel({ manifestPath: join(dir, 'manifest.json') }));
    expect(error).toMatchObject({ problem: 'tensor-names', file: join(dir, 'lungs.onnx') });
  });

  it('refuses a batch size that is not a positive integer', async () => {
    await expect(loadTriageModel({ manifestPath: join(MODEL_DIR, 'manifest.json'), batchSlices: 0 })).rejects.toThrow(
      RangeError,
    );
  });
});
