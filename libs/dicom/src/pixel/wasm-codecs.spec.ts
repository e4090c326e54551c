import { describe, expect, it } from 'vitest';
import { CorruptPixelDataError, decodeFrame } from './index.js';
import { TransferSyntax } from './transfer-syntax.js';
import { ctLikeFrame, eightBitFrame } from './testing/ct-frames.js';
import { dcmtkEncode, firstDifference } from './testing/vectors.js';
import { encodeHtj2k, encodeJ2k } from './testing/wasm-encoders.js';
import { codecInstantiations } from './wasm-codecs.js';

const TS = TransferSyntax;

describe('WebAssembly codecs are instantiated once and reused', () => {
  it('150 frames per codec, good and corrupt interleaved, use one instance of each', async () => {
    expect(codecInstantiations()).toEqual({ CharLS: 0, OpenJPEG: 0, OpenJPH: 0, 'libjpeg-turbo': 0 });
    const ct = ctLikeFrame({ rows: 64, columns: 64, seed: 61 });
    const u8 = eightBitFrame(64, 64);
    const cases = [
      { uid: TS.JPEGLSLossless, frame: dcmtkEncode(TS.JPEGLSLossless, ct.pixel, ct.stored).frame, ...ct },
      { uid: TS.JPEG2000Lossless, frame: await encodeJ2k(ct.pixel, ct.stored), ...ct },
      { uid: TS.HTJ2KLossless, frame: await encodeHtj2k(ct.pixel, ct.stored), ...ct },
      { uid: TS.JPEGBaseline8Bit, frame: dcmtkEncode(TS.JPEGBaseline8Bit, u8.pixel, u8.stored, ['+sr']).frame, ...u8 },
    ];
    // Concurrent first use must not instantiate twice either.
    await Promise.all(cases.map(({ uid, frame, pixel }) => decodeFrame(uid, frame, pixel)));
    const outcomes = new Map<string, number>();
    const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    for (let i = 0; i < 150; i++) {
      for (const { uid, frame, pixel, stored } of cases) {
        if (i % 10 === 9) {
          const truncated = Uint8Array.from([...frame.subarray(0, frame.length >> 1), 0xff, 0xd9]);
          count(
            await decodeFrame(uid, truncated, pixel).then(
              () => 'truncated frame decoded',
              (error: unknown) =>
                error instanceof CorruptPixelDataError ? 'corrupt' : `other error: ${String(error)}`,
            ),
          );
          continue;
        }
        const decoded = await decodeFrame(uid, frame, pixel);
        // Baseline is lossy: its size is what can be checked here (jpeg.spec.ts checks its values).
        const exact = uid !== TS.JPEGBaseline8Bit;
        count(
          (exact ? firstDifference(decoded, stored) : decoded.length === stored.length ? undefined : 'size') ?? 'ok',
        );
      }
    }
    expect(Object.fromEntries(outcomes)).toEqual({ ok: 540, corrupt: 60 });
    expect(codecInstantiations()).toEqual({ CharLS: 1, OpenJPEG: 1, OpenJPH: 1, 'libjpeg-turbo': 1 });
  }, 60_000);
});
