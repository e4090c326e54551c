import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The decoding thread pool runs compiled JavaScript, so it is tested through the built
 * dist/ (as the CLI and the worker use it): same pixels as decoding in-thread, and the
 * same typed errors.
 */
const DIST = fileURLToPath(new URL('../../dist/libs/dicom/src/index.js', import.meta.url));
type DicomLib = typeof import('@app/dicom');

/** The pixel description of the synthetic CT: unsigned 12-bit in 16. */
function unsigned12(rows: number, columns: number) {
  return {
    rows,
    columns,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 11,
    pixelRepresentation: 0 as const,
    photometricInterpretation: 'MONOCHROME2',
  };
}

describe('decoding thread pool (built)', () => {
  let lib: DicomLib;
  let pool: ReturnType<DicomLib['createFrameDecoder']>;

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run npm run build first`);
    lib = (await import(DIST)) as DicomLib;
    pool = lib.createFrameDecoder(2);
  });
  afterAll(() => pool.close());

  it('uses two threads and decodes every frame exactly as the calling thread does', async () => {
    expect(pool.threads).toBe(2);
    const series = syntheticCtSeries({ rows: 64, columns: 48, slices: 24 });
    const files = series.instances.map((i) => lib.readPart10(i.bytes));
    const pixel = unsigned12(64, 48);
    const decoded = await Promise.all(
      files.map((file) => pool.decode(file.transferSyntaxUid, lib.frameBytes(file)[0], pixel)),
    );
    decoded.forEach((stored, k) => {
      expect(stored).toBeInstanceOf(Uint16Array);
      expect(Array.from(stored, (v) => v - 1024)).toEqual(Array.from(series.instances[k].hu));
    });
  });

  it("rescales to HU on its threads, with each frame's true extremes", async () => {
    const series = syntheticCtSeries({ rows: 32, columns: 40, slices: 6 });
    const files = series.instances.map((i) => lib.readPart10(i.bytes));
    const rescale = { slope: 1, intercept: -1024, output: 'int16' as const };
    const frames = await Promise.all(
      files.map((file) =>
        pool.decodeRescaled(file.transferSyntaxUid, lib.frameBytes(file)[0], unsigned12(32, 40), rescale),
      ),
    );
    frames.forEach((frame, k) => {
      expect(frame.values).toBeInstanceOf(Int16Array);
      expect(Array.from(frame.values)).toEqual(Array.from(series.instances[k].hu));
      expect([frame.min, frame.max]).toEqual([Math.min(...frame.values), Math.max(...frame.values)]);
    });
  });

  it('hands back the decoder errors with their type and message', async () => {
    const pixel = {
      rows: 8,
      columns: 8,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 16,
      highBit: 15,
      pixelRepresentation: 0 as const,
      photometricInterpretation: 'MONOCHROME2',
    };
    const garbage = new Uint8Array(readFileSync(fileURLToPath(import.meta.url)).subarray(0, 300));
    await expect(pool.decode('1.2.840.10008.1.2.4.70', garbage, pixel)).rejects.toBeInstanceOf(
      lib.CorruptPixelDataError,
    );
    await expect(pool.decode('1.2.840.10008.1.2.4.51', garbage, pixel)).rejects.toMatchObject({
      code: 'CORRUPT_INSTANCE',
      message: expect.stringMatching(/JPEG/),
    });
  });

  it('fails only the frames of a thread that dies, replaces it, and keeps decoding', async () => {
    const series = syntheticCtSeries({ rows: 256, columns: 256, slices: 8 });
    const files = series.instances.map((i) => lib.readPart10(i.bytes));
    const pixel = unsigned12(256, 256);
    const decodeAll = () =>
      Promise.allSettled(files.map((file) => pool.decode(file.transferSyntaxUid, lib.frameBytes(file)[0], pixel)));
    // A thread dying mid-work (as an out-of-memory or a codec crash would make it): its frames fail.
    const threads = (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers;
    const inFlight = decodeAll();
    void threads[0].terminate();
    const settled = await inFlight;
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    for (const failure of failures) {
      expect(failure).toMatchObject({
        code: 'CORRUPT_INSTANCE',
        message: expect.stringMatching(/decoding thread failed/),
      });
    }
    // Replaced: every frame decodes again, on both threads.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = await decodeAll();
    expect(again.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(threads.length).toBe(2);
  });
});
