import { describe, expect, it } from 'vitest';
import { readJpegHeader } from './codestream.js';
import { decodeFrame, UnsupportedTransferSyntaxError } from './index.js';
import { TransferSyntax } from './transfer-syntax.js';
import { ctLikeFrame, eightBitFrame } from './testing/ct-frames.js';
import { convert, readFirstFrame } from './testing/part10-frames.js';
import { encodeJpegLs } from './testing/wasm-encoders.js';
import { dcmtkEncode, firstDifference, fixture, fixtureFrame, maxAbsDiff } from './testing/vectors.js';

const TS = TransferSyntax;

const ct = {
  'unsigned 12-bit (HU - 1024)': ctLikeFrame({ signed: false, bitsStored: 12, seed: 31 }),
  'signed 16-bit HU': ctLikeFrame({ signed: true, bitsStored: 16, seed: 32 }),
  'signed 12-bit HU': ctLikeFrame({ signed: true, bitsStored: 12, seed: 33 }),
};

describe('JPEG Lossless (process 14), ours, on dcmcjpeg and libjpeg-turbo streams', () => {
  describe.each(Object.entries(ct))('%s, encoded by dcmcjpeg', (_name, { pixel, stored }) => {
    it('SV1 (.70, dcmcjpeg +e1) decodes exactly', async () => {
      const parsed = dcmtkEncode(TS.JPEGLosslessSV1, pixel, stored);
      expect(parsed.pixel).toMatchObject(pixel);
      expect(
        firstDifference(await decodeFrame(TS.JPEGLosslessSV1, parsed.frame, parsed.pixel), stored),
      ).toBeUndefined();
    });

    it.each([1, 2, 3, 4, 5, 6, 7])('predictor %i (.57, dcmcjpeg +el +sv) decodes exactly', async (predictor) => {
      const parsed = dcmtkEncode(TS.JPEGLossless, pixel, stored, ['+sv', String(predictor)]);
      expect(readJpegHeader(TS.JPEGLossless, parsed.frame).ss).toBe(predictor);
      expect(firstDifference(await decodeFrame(TS.JPEGLossless, parsed.frame, parsed.pixel), stored)).toBeUndefined();
    });
  });

  it('follows a 16-bit frame header over BitsStored 12 (libjpeg-turbo fixture, as in the real data)', async () => {
    const { pixel, stored } = fixtureFrame('ct-u12');
    const frame = fixture('ct-u12-p16-sv1.jpg');
    const header = readJpegHeader(TS.JPEGLosslessSV1, frame);
    expect(header).toMatchObject({ sof: 0xc3, precision: 16, ss: 1 });
    expect(pixel.bitsStored).toBe(12);
    expect(firstDifference(await decodeFrame(TS.JPEGLosslessSV1, frame, pixel), stored)).toBeUndefined();
  });

  it.each([
    ['one byte (0x20)', [0x20]],
    ['0x00 then 0x01', [0x00, 0x01]],
    ['a 0xFF fill byte', [0xff]],
  ])('ignores padding after the EOI marker: %s, as DCMTK, GDCM and pydicom do', async (_name, padding) => {
    const { pixel, stored } = fixtureFrame('ct-u12');
    const frame = fixture('ct-u12-p16-sv1.jpg');
    const padded = new Uint8Array([...frame, ...padding]);
    expect(firstDifference(await decodeFrame(TS.JPEGLosslessSV1, padded, pixel), stored)).toBeUndefined();
  });

  it('decodes libjpeg-turbo predictor 7 of signed 16-bit data', async () => {
    const { pixel, stored } = fixtureFrame('ct-s16');
    const frame = fixture('ct-s16-sv7.jpg');
    expect(readJpegHeader(TS.JPEGLossless, frame).ss).toBe(7);
    expect(firstDifference(await decodeFrame(TS.JPEGLossless, frame, pixel), stored)).toBeUndefined();
  });

  it('decodes the last pixel when the last code ends right before the EOI marker', async () => {
    // A constant last row (like air outside the field of view in the real series) makes the
    // final code a zero difference; jpeg-lossless-decoder-js, our old decoder, stopped one short there.
    for (let seed = 1; seed <= 24; seed++) {
      const { pixel, stored } = ctLikeFrame({ rows: 24, columns: 40, seed });
      stored.fill(5, stored.length - pixel.columns);
      stored[stored.length - 1 - seed] = 77;
      const { frame } = dcmtkEncode(TS.JPEGLosslessSV1, pixel, stored);
      expect(firstDifference(await decodeFrame(TS.JPEGLosslessSV1, frame, pixel), stored)).toBeUndefined();
    }
  });
});

describe('JPEG-LS via CharLS', () => {
  it.each(Object.entries(ct))('%s, lossless (.80, dcmcjpls), decodes exactly', async (_name, { pixel, stored }) => {
    const parsed = dcmtkEncode(TS.JPEGLSLossless, pixel, stored);
    expect(parsed.pixel).toMatchObject(pixel);
    expect(firstDifference(await decodeFrame(TS.JPEGLSLossless, parsed.frame, parsed.pixel), stored)).toBeUndefined();
  });

  it.each([
    ['sign-extended 16-bit words', (v: number) => v & 0xffff],
    ["bare 12-bit two's complement patterns", (v: number) => v & 0xfff],
  ])('signed BitsStored 12 in a 16-bit JPEG-LS frame header, carrying %s', async (_label, pattern) => {
    // Like the real data's 16-bit header over 12-bit values, for signed data: the sign is at bit 11.
    const { pixel, stored } = ct['signed 12-bit HU'];
    const words = Uint16Array.from(stored, pattern);
    const frame = await encodeJpegLs({ ...pixel, bitsStored: 16, highBit: 15, pixelRepresentation: 0 }, words);
    expect(readJpegHeader(TS.JPEGLSLossless, frame).precision).toBe(16);
    expect(firstDifference(await decodeFrame(TS.JPEGLSLossless, frame, pixel), stored)).toBeUndefined();
  });

  it('near-lossless (.81, dcmcjpls +en, NEAR 2) stays within 2 of the original', async () => {
    const { pixel, stored } = ct['unsigned 12-bit (HU - 1024)'];
    const parsed = dcmtkEncode(TS.JPEGLSNearLossless, pixel, stored);
    const decoded = await decodeFrame(TS.JPEGLSNearLossless, parsed.frame, parsed.pixel);
    expect(decoded).toBeInstanceOf(Uint16Array);
    const diff = maxAbsDiff(decoded, stored);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(2);
  });

  it('near-lossless unsigned 16-bit (CharLS encoder, NEAR 3) stays within 3 of the original', async () => {
    // dcmtk refuses near-lossless for signed data: NEAR errors wrap around at the two's complement boundary.
    const { pixel, stored } = ctLikeFrame({ signed: false, bitsStored: 16, seed: 34 });
    const frame = await encodeJpegLs(pixel, stored, { near: 3 });
    const decoded = await decodeFrame(TS.JPEGLSNearLossless, frame, pixel);
    expect(decoded).toBeInstanceOf(Uint16Array);
    const diff = maxAbsDiff(decoded, stored);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(3);
  });
});

describe('JPEG DCT via libjpeg-turbo (8-bit)', () => {
  const { pixel, stored } = eightBitFrame(64, 64, 7);

  it.each([
    ['Baseline (.50, dcmcjpeg +eb)', TS.JPEGBaseline8Bit],
    ['Extended with 8-bit samples (.51, dcmcjpeg +ee)', TS.JPEGExtended12Bit],
  ])('%s is within lossy tolerance of the original and within 1 of dcmdjpeg', async (_label, uid) => {
    // +sr: scale by the 8-bit range (identity), not by the frame's min/max.
    const parsed = dcmtkEncode(uid, pixel, stored, ['+sr']);
    const decoded = await decodeFrame(uid, parsed.frame, parsed.pixel);
    expect(decoded).toBeInstanceOf(Uint8Array);
    let sum = 0;
    for (let i = 0; i < decoded.length; i++) sum += Math.abs(decoded[i] - stored[i]);
    expect(sum / decoded.length).toBeLessThan(3);
    expect(maxAbsDiff(decoded, stored)).toBeLessThan(24);
    const reference = readFirstFrame(convert('dcmdjpeg', [], parsed.file));
    expect(maxAbsDiff(decoded, reference.frame)).toBeLessThanOrEqual(1);
  });

  it('refuses 12-bit JPEG Extended (.51, dcmcjpeg +ee on 12-bit CT) as unsupported, not garbage', async () => {
    const { pixel: pixel12, stored: stored12 } = ct['unsigned 12-bit (HU - 1024)'];
    const parsed = dcmtkEncode(TS.JPEGExtended12Bit, pixel12, stored12);
    expect(readJpegHeader(TS.JPEGExtended12Bit, parsed.frame)).toMatchObject({ sof: 0xc1, precision: 12 });
    const decoding = decodeFrame(TS.JPEGExtended12Bit, parsed.frame, parsed.pixel);
    await expect(decoding).rejects.toThrow(UnsupportedTransferSyntaxError);
    await expect(decodeFrame(TS.JPEGExtended12Bit, parsed.frame, parsed.pixel)).rejects.toThrow(
      /JPEG Extended.*1\.2\.840\.10008\.1\.2\.4\.51.*12-bit DCT/,
    );
  });
});
