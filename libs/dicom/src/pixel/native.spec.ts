import { describe, expect, it } from 'vitest';
import { CorruptPixelDataError, decodeFrame, type PixelDescription } from './index.js';
import { TransferSyntax } from './transfer-syntax.js';
import { ctLikeFrame, ctPart10, eightBitFrame } from './testing/ct-frames.js';
import { readFirstFrame } from './testing/part10-frames.js';
import { dcmtkEncode, firstDifference } from './testing/vectors.js';

const { ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian } =
  TransferSyntax;

const frames = {
  'unsigned 12-bit (HU - 1024)': ctLikeFrame({ signed: false, bitsStored: 12, seed: 11 }),
  'signed 16-bit HU': ctLikeFrame({ signed: true, bitsStored: 16, seed: 12 }),
  'signed 12-bit HU': ctLikeFrame({ signed: true, bitsStored: 12, seed: 13 }),
  'unsigned 8-bit': eightBitFrame(40, 56),
};

function pixel16(overrides: Partial<PixelDescription> = {}): PixelDescription {
  return {
    rows: 2,
    columns: 2,
    samplesPerPixel: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 0,
    photometricInterpretation: 'MONOCHROME2',
    ...overrides,
  };
}

const le16 = (...words: number[]) => new Uint8Array(Uint16Array.from(words).buffer);

describe('native transfer syntaxes: Part 10 files converted by dcmtk, read back with dicom-parser', () => {
  describe.each(Object.entries(frames))('%s', (_name, { pixel, stored }) => {
    it('Explicit VR Little Endian (our writer)', async () => {
      const parsed = readFirstFrame(ctPart10(pixel, stored));
      expect(parsed.transferSyntaxUid).toBe(ExplicitVRLittleEndian);
      const decoded = await decodeFrame(parsed.transferSyntaxUid, parsed.frame, parsed.pixel);
      expect(firstDifference(decoded, stored)).toBeUndefined();
    });

    it.each([
      ['Implicit VR Little Endian (dcmconv +ti)', ImplicitVRLittleEndian],
      ['Explicit VR Big Endian (dcmconv +tb)', ExplicitVRBigEndian],
      ['Deflated Explicit VR Little Endian (dcmconv +td; dicom-parser inflates)', DeflatedExplicitVRLittleEndian],
    ])('%s', async (_label, uid) => {
      const parsed = dcmtkEncode(uid, pixel, stored);
      expect(parsed.pixel).toMatchObject(pixel);
      const decoded = await decodeFrame(uid, parsed.frame, parsed.pixel);
      expect(firstDifference(decoded, stored)).toBeUndefined();
    });
  });

  it('returns signed types with negative HU for Pixel Representation 1', async () => {
    const { pixel, stored } = frames['signed 16-bit HU'];
    const decoded = await decodeFrame(ExplicitVRLittleEndian, readFirstFrame(ctPart10(pixel, stored)).frame, pixel);
    expect(decoded).toBeInstanceOf(Int16Array);
    expect(Math.min(...decoded)).toBe(-32768);
    expect(decoded.filter((v) => v === -1024).length).toBeGreaterThan(0);
  });
});

describe('native decoding rules', () => {
  it('drops bits above HighBit for unsigned data (e.g. overlay bits)', async () => {
    const pixel = pixel16({ bitsStored: 12, highBit: 11 });
    const decoded = await decodeFrame(ExplicitVRLittleEndian, le16(0x8fff, 0xf000, 0x1234, 0x0001), pixel);
    expect(decoded).toEqual(Uint16Array.of(0x0fff, 0x0000, 0x0234, 0x0001));
  });

  it('sign-extends from HighBit for signed data whose upper bits are not set', async () => {
    const pixel = pixel16({ bitsStored: 12, highBit: 11, pixelRepresentation: 1 });
    const decoded = await decodeFrame(ExplicitVRLittleEndian, le16(0x0800, 0x0fff, 0x07ff, 0xfc00), pixel);
    expect(decoded).toEqual(Int16Array.of(-2048, -1, 2047, -1024));
  });

  it('takes the value from BitsStored bits ending at HighBit when HighBit is not BitsStored - 1', async () => {
    const pixel = pixel16({ bitsStored: 8, highBit: 11 });
    const decoded = await decodeFrame(ExplicitVRLittleEndian, le16(0x0ff0, 0xf123, 0x0010, 0x0000), pixel);
    expect(decoded).toEqual(Uint16Array.of(0xff, 0x12, 0x01, 0));
  });

  it('swaps 16- and 32-bit words for Explicit VR Big Endian without touching the caller buffer', async () => {
    const frame = Uint8Array.of(0xfc, 0x00, 0x00, 0x01, 0x7f, 0xff, 0x80, 0x00);
    const copy = frame.slice();
    const decoded = await decodeFrame(ExplicitVRBigEndian, frame, pixel16({ pixelRepresentation: 1 }));
    expect(decoded).toEqual(Int16Array.of(-1024, 1, 32767, -32768));
    expect(frame).toEqual(copy);
    const pixel32 = pixel16({ rows: 1, bitsAllocated: 32, bitsStored: 32, highBit: 31, pixelRepresentation: 1 });
    const be32 = Uint8Array.of(0xff, 0xff, 0xfc, 0x00, 0x00, 0x01, 0x00, 0x02);
    expect(await decodeFrame(ExplicitVRBigEndian, be32, pixel32)).toEqual(Int32Array.of(-1024, 65538));
  });

  it('returns colour-by-plane frames colour by pixel', async () => {
    const pixel = pixel16({
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      bitsAllocated: 8,
      bitsStored: 8,
      highBit: 7,
      photometricInterpretation: 'RGB',
      planarConfiguration: 1,
    });
    const decoded = await decodeFrame(ExplicitVRLittleEndian, Uint8Array.of(1, 2, 3, 4, 5, 6), pixel);
    expect(decoded).toEqual(Uint8Array.of(1, 3, 5, 2, 4, 6));
  });

  it('accepts one trailing pad byte on an odd-length frame', async () => {
    const pixel = pixel16({ rows: 1, columns: 3, bitsAllocated: 8, bitsStored: 8, highBit: 7 });
    expect(await decodeFrame(ExplicitVRLittleEndian, Uint8Array.of(7, 8, 9, 0), pixel)).toEqual(Uint8Array.of(7, 8, 9));
  });

  it.each([
    ['one byte short', 7],
    ['one byte long', 9],
    ['a whole frame too long', 16],
  ])('rejects a frame %s', async (_label, length) => {
    const frame = new Uint8Array(length);
    await expect(decodeFrame(ExplicitVRLittleEndian, frame, pixel16())).rejects.toThrow(CorruptPixelDataError);
    await expect(decodeFrame(ExplicitVRLittleEndian, frame, pixel16())).rejects.toThrow(
      /Explicit VR Little Endian \(1\.2\.840\.10008\.1\.2\.1\).*frame is \d+ bytes, expected 8/,
    );
  });
});
