import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OnnxSession } from './onnx-session.js';

/**
 * testing/affine.onnx: x[N,2] -> y = 2x + 1 (320 bytes), written by
 * `.cache/venv-train/bin/python test/python/inference_tiny_model.py libs/inference/src/testing/affine.onnx`.
 */
const MODEL = fileURLToPath(new URL('./testing/affine.onnx', import.meta.url));

const open: OnnxSession[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('OnnxSession', () => {
  it('runs a graph on the CPU with a thread count', async () => {
    const session = await OnnxSession.create(MODEL, { executionProviders: ['cpu'], intraOpThreads: 1 });
    open.push(session);
    expect(session.executionProviders).toEqual(['cpu']);
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const out = await session.run({ x: { data: new Float32Array([1, 2, 3, -4, 0.5, 0]), dims: [3, 2] } });
    expect(Object.keys(out)).toEqual(['y']);
    expect(out.y.dims).toEqual([3, 2]);
    expect(out.y.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.y.data)).toEqual([3, 5, 7, -7, 2, 1]);
  });

  it('falls back to the CPU with one log line when the GPU provider cannot be created', async () => {
    // This machine has no CUDA libraries for onnxruntime, so 'cuda' fails at creation.
    const lines: string[] = [];
    const session = await OnnxSession.create(MODEL, {
      executionProviders: ['cuda', 'cpu'],
      log: (line) => lines.push(line),
    });
    open.push(session);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/execution providers \[cuda, cpu\] failed \(.+\); falling back to \[cpu\]/);
    expect(lines[0]).toContain('affine.onnx');
    expect(session.executionProviders).toEqual(['cpu']);
    expect(session.fallbackReason).toMatch(/.+/);
    const out = await session.run({ x: { data: new Float32Array([1, 1]), dims: [1, 2] } });
    expect(Array.from(out.y.data)).toEqual([3, 3]);
  });

  it('rethrows when the CPU session itself fails, without logging a fallback', async () => {
    const lines: string[] = [];
    await expect(
      OnnxSession.create('/nonexistent/model.onnx', { executionProviders: ['cpu'], log: (l) => lines.push(l) }),
    ).rejects.toThrow(/model.onnx|No such file|Load model/i);
    expect(lines).toEqual([]);
  });

  it('rejects inputs whose size does not match their dims, and runs after close', async () => {
    const session = await OnnxSession.create(MODEL);
    await expect(session.run({ x: { data: new Float32Array(3), dims: [1, 2] } })).rejects.toThrow(
      /input x has 3 values for dims \[1, 2\]/,
    );
    await session.close();
    await session.close();
    await expect(session.run({ x: { data: new Float32Array(2), dims: [1, 2] } })).rejects.toThrow(/already closed/);
  });

  it('rejects a bad thread count', async () => {
    await expect(OnnxSession.create(MODEL, { intraOpThreads: 0 })).rejects.toThrow(/intraOpThreads/);
  });
});
