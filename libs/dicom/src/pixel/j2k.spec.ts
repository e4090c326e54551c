import { describe, expect, it } from 'vitest';
import { readJ2kHeader } from './codestream.js';
import { decodeFrame } from './index.js';
import { TransferSyntax } from './transfer-syntax.js';
import { ctLikeFrame } from './testing/ct-frames.js';
import { encodeHtj2k, encodeJ2k } from './testing/wasm-encoders.js';
import { firstDifference, fixture, fixtureFrame, maxAbsDiff } from './testing/vectors.js';

const TS = TransferSyntax;

const ct = {
  'unsigned 12-bit (HU - 1024)': ctLikeFrame({ signed: false, bitsStored: 12, seed: 41 }),
  'signed 16-bit HU': ctLikeFrame({ signed: true, bitsStored: 16, seed: 42 }),
  'signed 12-bit HU': ctLikeFrame({ signed: true, bitsStored: 12, seed: 43 }),
};

/** Tile-parts in a codestream (SOT markers found by walking Psot). */
function tileParts(codestream: Uint8Array): number {
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  let pos = 4 + view.getUint16(4);
  while (view.getUint16(pos) !== 0xff90) pos += 2 + view.getUint16(pos + 2);
  let count = 0;
  while (view.getUint16(pos) === 0xff90) {
    count++;
    pos += view.getUint32(pos + 6);
  }
  return count;
}

describe('JPEG 2000 via OpenJPEG: vectors from OpenJPEG 2.5.4 (imagecodecs)', () => {
  it('lossless signed 16-bit (.90) decodes exactly', async () => {
    const { pixel, stored } = fixtureFrame('ct-s16');
    const frame = fixture('ct-s16.j2k');
    expect(readJ2kHeader(TS.JPEG2000Lossless, frame)).toMatchObject({ precision: 16, signed: true });
    expect(firstDifference(await decodeFrame(TS.JPEG2000Lossless, frame, pixel), stored)).toBeUndefined();
  });

  it('sign-corrects signed 12-bit data carried in an unsigned 12-bit codestream', async () => {
    const { pixel, stored } = fixtureFrame('ct-s12');
    const frame = fixture('ct-s12-unsigned-codestream.j2k');
    expect(readJ2kHeader(TS.JPEG2000Lossless, frame)).toMatchObject({ precision: 12, signed: false });
    expect(Math.min(...stored)).toBe(-2048);
    expect(firstDifference(await decodeFrame(TS.JPEG2000Lossless, frame, pixel), stored)).toBeUndefined();
  });

  it('unwraps a JP2 file written where a codestream belongs', async () => {
    const { pixel, stored } = fixtureFrame('ct-u12');
    expect(
      firstDifference(await decodeFrame(TS.JPEG2000Lossless, fixture('ct-u12.jp2'), pixel), stored),
    ).toBeUndefined();
  });

  it('lossless in 32 x 32 tiles, RPCL, a tile-part per resolution, SOP/EPH (opj_compress) decodes exactly', async () => {
    const { pixel, stored } = fixtureFrame('ct-u12');
    const frame = fixture('ct-u12-tiled-rpcl.j2k');
    expect(tileParts(frame)).toBeGreaterThan(6);
    expect(firstDifference(await decodeFrame(TS.JPEG2000Lossless, frame, pixel), stored)).toBeUndefined();
  });

  it('lossy (.91, irreversible 9/7) is close to the original', async () => {
    const { pixel, stored } = fixtureFrame('ct-u12');
    const decoded = await decodeFrame(TS.JPEG2000, fixture('ct-u12-lossy.j2k'), pixel);
    expect(decoded).toBeInstanceOf(Uint16Array);
    let sum = 0;
    for (let i = 0; i < decoded.length; i++) sum += Math.abs(decoded[i] - stored[i]);
    expect(sum / decoded.length).toBeGreaterThan(0);
    expect(sum / decoded.length).toBeLessThan(40);
  });
});

describe('HTJ2K via OpenJPH: vectors from OpenJPH 0.26.3 (imagecodecs)', () => {
  it('lossless signed 16-bit (.201) decodes exactly', async () => {
    const { pixel, stored } = fixtureFrame('ct-s16');
    const frame = fixture('ct-s16.htj2k');
    expect(readJ2kHeader(TS.HTJ2KLossless, frame)).toMatchObject({ highThroughput: true, signed: true });
    expect(firstDifference(await decodeFrame(TS.HTJ2KLossless, frame, pixel), stored)).toBeUndefined();
  });

  it('lossless unsigned 12-bit in six 32 x 32 tiles (.201) decodes exactly', async () => {
    const { pixel, stored } = fixtureFrame('ct-u12');
    const frame = fixture('ct-u12-tiled.htj2k');
    expect(tileParts(frame)).toBe(6);
    expect(firstDifference(await decodeFrame(TS.HTJ2KLossless, frame, pixel), stored)).toBeUndefined();
  });
});

describe('round trips through the @cornerstonejs encoders', () => {
  describe.each(Object.entries(ct))('%s', (_name, { pixel, stored }) => {
    it('JPEG 2000 lossless, RPCL (.90)', async () => {
      // (this encoder build ignores tile sizes; the opj_compress vector covers tiles)
      const frame = await encodeJ2k(pixel, stored, { progressionOrder: 2 });
      expect(firstDifference(await decodeFrame(TS.JPEG2000Lossless, frame, pixel), stored)).toBeUndefined();
    });

    it('HTJ2K lossless (.201)', async () => {
      expect(
        firstDifference(await decodeFrame(TS.HTJ2KLossless, await encodeHtj2k(pixel, stored), pixel), stored),
      ).toBeUndefined();
    });

    it('HTJ2K lossless RPCL, a tile-part per resolution (.202)', async () => {
      const frame = await encodeHtj2k(pixel, stored, { progressionOrder: 2, tilePartsPerResolution: true });
      expect(tileParts(frame)).toBeGreaterThan(1);
      expect(firstDifference(await decodeFrame(TS.HTJ2KLosslessRPCL, frame, pixel), stored)).toBeUndefined();
    });
  });

  it('HTJ2K lossy (.203) is close to the original', async () => {
    const { pixel, stored } = ct['unsigned 12-bit (HU - 1024)'];
    const frame = await encodeHtj2k(pixel, stored, { lossyStep: 0.002 });
    const decoded = await decodeFrame(TS.HTJ2K, frame, pixel);
    const diff = maxAbsDiff(decoded, stored);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(64);
  });

  it('picks the decoder from the codestream, not the UID (HTJ2K under .90, Part 1 under .201)', async () => {
    const { pixel, stored } = ct['signed 16-bit HU'];
    expect(
      firstDifference(await decodeFrame(TS.JPEG2000Lossless, await encodeHtj2k(pixel, stored), pixel), stored),
    ).toBeUndefined();
    expect(
      firstDifference(await decodeFrame(TS.HTJ2KLossless, await encodeJ2k(pixel, stored), pixel), stored),
    ).toBeUndefined();
  });

  it('decodes a 512 x 512 CT frame in both codecs', async () => {
    const { pixel, stored } = ctLikeFrame({ rows: 512, columns: 512, seed: 44 });
    expect(
      firstDifference(await decodeFrame(TS.JPEG2000Lossless, await encodeJ2k(pixel, stored), pixel), stored),
    ).toBeUndefined();
    expect(
      firstDifference(await decodeFrame(TS.HTJ2KLossless, await encodeHtj2k(pixel, stored), pixel), stored),
    ).toBeUndefined();
  });
});
