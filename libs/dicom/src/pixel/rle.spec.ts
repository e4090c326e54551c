import { describe, expect, it } from 'vitest';
import { CorruptPixelDataError, decodeFrame, type PixelDescription } from './index.js';
import { TransferSyntax } from './transfer-syntax.js';
import { unpackBits } from './rle.js';
import { ctLikeFrame, eightBitFrame } from './testing/ct-frames.js';
import { dcmtkEncode, firstDifference } from './testing/vectors.js';

const RLE = TransferSyntax.RLELossless;

/** An RLE frame from raw segments (PS3.5 G.4: header of 16 little-endian uint32, then the segments). */
function rleFrame(...segments: number[][]): Uint8Array {
  const header = new Uint32Array(16);
  header[0] = segments.length;
  let offset = 64;
  segments.forEach((segment, i) => {
    header[i + 1] = offset;
    offset += segment.length;
  });
  return Uint8Array.from([...new Uint8Array(header.buffer), ...segments.flat()]);
}

const mono16 = (rows: number, columns: number, signed = false): PixelDescription => ({
  rows,
  columns,
  samplesPerPixel: 1,
  bitsAllocated: 16,
  bitsStored: 16,
  highBit: 15,
  pixelRepresentation: signed ? 1 : 0,
  photometricInterpretation: 'MONOCHROME2',
});

describe('RLE Lossless: frames encoded by dcmcrle, extracted with dicom-parser', () => {
  it.each([
    ['unsigned 12-bit', ctLikeFrame({ signed: false, bitsStored: 12, seed: 21 })],
    ['signed 16-bit HU', ctLikeFrame({ signed: true, bitsStored: 16, seed: 22 })],
    ['signed 12-bit HU', ctLikeFrame({ signed: true, bitsStored: 12, seed: 23 })],
    ['unsigned 8-bit', eightBitFrame(48, 50)],
    ['512 x 512 unsigned 12-bit', ctLikeFrame({ rows: 512, columns: 512, seed: 24 })],
  ])('%s decodes to the original stored values', async (_label, { pixel, stored }) => {
    const parsed = dcmtkEncode(RLE, pixel, stored);
    expect(parsed.pixel).toMatchObject(pixel);
    const decoded = await decodeFrame(RLE, parsed.frame, parsed.pixel);
    expect(firstDifference(decoded, stored)).toBeUndefined();
  });
});

describe('RLE Lossless decoder (PS3.5 Annex G)', () => {
  it('decodes literal runs, replicate runs and the -128 no-op; MSB segment first', async () => {
    // MSB: literal [0x01, 0xff], then no-op, then 0x00 replicated twice. LSB: 0x02 replicated four times.
    const frame = rleFrame([0x01, 0x01, 0xff, 0x80, 0xff, 0x00], [0xfd, 0x02]);
    expect(await decodeFrame(RLE, frame, mono16(2, 2, true))).toEqual(Int16Array.of(0x0102, -254, 0x0002, 0x0002));
  });

  it('reassembles colour planes colour by pixel', async () => {
    const pixel: PixelDescription = {
      ...mono16(1, 2),
      samplesPerPixel: 3,
      bitsAllocated: 8,
      bitsStored: 8,
      highBit: 7,
      photometricInterpretation: 'RGB',
      planarConfiguration: 1,
    };
    const frame = rleFrame([0x01, 10, 11], [0xff, 20], [0x01, 30, 31]);
    expect(await decodeFrame(RLE, frame, pixel)).toEqual(Uint8Array.of(10, 20, 30, 11, 20, 31));
  });

  it('ignores the even-length pad byte after the last run', () => {
    const out = new Uint8Array(3);
    expect(unpackBits(Uint8Array.of(0x02, 1, 2, 3, 0x00), out)).toBe(3);
    expect(out).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('counts, without writing, what a segment encodes beyond the frame', () => {
    const out = new Uint8Array(2);
    expect(unpackBits(Uint8Array.of(0xfd, 9, 0x01, 1, 2), out)).toBe(6);
    expect(out).toEqual(Uint8Array.of(9, 9));
  });

  it.each([
    ['a frame shorter than the header', Uint8Array.of(1, 0, 0, 0)],
    ['the wrong number of segments', rleFrame([0xfd, 0x02])],
    [
      'a first segment not at offset 64',
      Uint8Array.from([...rleFrame([0xfd, 1], [0xfd, 2])].map((b, i) => (i === 4 ? 60 : b))),
    ],
    [
      'offsets beyond the frame',
      Uint8Array.from([...rleFrame([0xfd, 1], [0xfd, 2])].map((b, i) => (i === 9 ? 0xff : b))),
    ],
    ['a segment that decodes short (truncated)', rleFrame([0xfd, 0x01], [0x01, 0x02])],
    ['a segment that decodes long (wrong Rows or Columns)', rleFrame([0xfd, 0x01], [0xfb, 0x02])],
    ['a segment whose literal run is cut off', rleFrame([0xfd, 0x01], [0x03, 0x02, 0x03])],
  ])('rejects %s', async (_label, frame) => {
    await expect(decodeFrame(RLE, frame, mono16(2, 2))).rejects.toThrow(CorruptPixelDataError);
    await expect(decodeFrame(RLE, frame, mono16(2, 2))).rejects.toThrow(/RLE Lossless \(1\.2\.840\.10008\.1\.2\.5\)/);
  });

  it('rejects a dcmcrle frame cut short by a tenth', async () => {
    const { pixel, stored } = ctLikeFrame({ seed: 25 });
    const { frame } = dcmtkEncode(RLE, pixel, stored);
    const truncated = frame.subarray(0, Math.floor(frame.length * 0.9));
    await expect(decodeFrame(RLE, truncated, pixel)).rejects.toThrow(/RLE segment 2 of 2 decodes to \d+ bytes/);
  });
});
