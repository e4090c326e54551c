import { PermanentError } from '@app/errors';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptPixelDataError,
  decodeFrame,
  isSupportedTransferSyntax,
  UnsupportedTransferSyntaxError,
  type PixelDescription,
} from './index.js';
import { TransferSyntax } from './transfer-syntax.js';
import { ctLikeFrame, eightBitFrame, prng } from './testing/ct-frames.js';
import { encodeHtj2k, encodeJ2k } from './testing/wasm-encoders.js';
import { dcmtkEncode, firstDifference } from './testing/vectors.js';

const TS = TransferSyntax;

interface Vector {
  uid: string;
  frame: Uint8Array;
  pixel: PixelDescription;
  stored: ArrayLike<number>;
}

const vectors = new Map<string, Vector>();

beforeAll(async () => {
  const ct = ctLikeFrame({ rows: 64, columns: 64, seed: 51 });
  const signed = ctLikeFrame({ rows: 64, columns: 64, signed: true, seed: 52 });
  const u8 = eightBitFrame(64, 64);
  const viaDcmtk = (
    name: string,
    uid: string,
    frame: { pixel: PixelDescription; stored: Uint16Array | Int16Array | Uint8Array },
  ) => {
    vectors.set(name, { uid, frame: dcmtkEncode(uid, frame.pixel, frame.stored).frame, ...frame });
  };
  viaDcmtk('RLE Lossless', TS.RLELossless, ct);
  viaDcmtk('JPEG Baseline', TS.JPEGBaseline8Bit, u8);
  viaDcmtk('JPEG Lossless SV1', TS.JPEGLosslessSV1, ct);
  viaDcmtk('JPEG Lossless SV1 (signed)', TS.JPEGLosslessSV1, signed);
  viaDcmtk('JPEG-LS Lossless', TS.JPEGLSLossless, ct);
  vectors.set('JPEG 2000 Lossless', { uid: TS.JPEG2000Lossless, frame: await encodeJ2k(ct.pixel, ct.stored), ...ct });
  vectors.set('HTJ2K Lossless', { uid: TS.HTJ2KLossless, frame: await encodeHtj2k(ct.pixel, ct.stored), ...ct });
});

const names = [
  'RLE Lossless',
  'JPEG Baseline',
  'JPEG Lossless SV1',
  'JPEG Lossless SV1 (signed)',
  'JPEG-LS Lossless',
  'JPEG 2000 Lossless',
  'HTJ2K Lossless',
];

/**
 * What decodeFrame threw for a bad frame, checked to be a well-formed CorruptPixelDataError
 * (use: `expect(await corruption(...)).toMatchObject(CORRUPT)`).
 */
async function corruption(uid: string, frame: Uint8Array, pixel: PixelDescription): Promise<CorruptPixelDataError> {
  const error: unknown = await decodeFrame(uid, frame, pixel).then(
    (stored) => new Error(`decoded ${stored.length} samples instead of failing`),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(CorruptPixelDataError);
  expect(error).toBeInstanceOf(PermanentError);
  expect((error as Error).message).toContain(`(${uid})`);
  return error as CorruptPixelDataError;
}

/** The taxonomy fields every such error carries. */
const CORRUPT = { name: 'CorruptPixelDataError', code: 'CORRUPT_INSTANCE', transient: false };

describe.each(names)('%s: bad input is a CorruptPixelDataError, never garbage', (name) => {
  const vector = () => vectors.get(name)!;

  it('the intact frame decodes exactly (or, for Baseline, closely)', async () => {
    const { uid, frame, pixel, stored } = vector();
    const decoded = await decodeFrame(uid, frame, pixel);
    // Baseline is lossy: its size is what can be checked here (jpeg.spec.ts checks its values).
    const exact = uid !== TS.JPEGBaseline8Bit;
    expect(exact ? firstDifference(decoded, stored) : decoded.length - stored.length || undefined).toBeUndefined();
  });

  // (RLE has no end marker: its pad byte belongs to the last segment, and dcmcrle already wrote one.)
  it.skipIf(name === 'RLE Lossless').each([0x00, 0xff])(
    'tolerates a trailing pad byte %i after the end marker',
    async (pad) => {
      const { uid, frame, pixel, stored } = vector();
      const padded = Uint8Array.from([...frame, pad]);
      const decoded = await decodeFrame(uid, padded, pixel);
      const exact = uid !== TS.JPEGBaseline8Bit;
      expect(exact ? firstDifference(decoded, stored) : decoded.length - stored.length || undefined).toBeUndefined();
    },
  );

  it.each([0.1, 0.5, 0.9, 0.99])('truncated to %f of its length', async (fraction) => {
    const { uid, frame, pixel } = vector();
    expect(await corruption(uid, frame.subarray(0, Math.floor(frame.length * fraction)), pixel)).toMatchObject(CORRUPT);
  });

  it('missing its last 3 bytes', async () => {
    const { uid, frame, pixel } = vector();
    expect(await corruption(uid, frame.subarray(0, frame.length - 3), pixel)).toMatchObject(CORRUPT);
  });

  it.each([
    ['random bytes', (frame: Uint8Array) => randomBytes(frame.length, 1)],
    [
      'random bytes after its first 4 bytes',
      (frame: Uint8Array) => Uint8Array.from([...frame.subarray(0, 4), ...randomBytes(frame.length, 2)]),
    ],
    ['a single byte', () => Uint8Array.of(0xff)],
  ])('replaced by %s', async (_label, corrupt) => {
    const { uid, frame, pixel } = vector();
    expect(await corruption(uid, corrupt(frame), pixel)).toMatchObject(CORRUPT);
  });

  it('decoded against the wrong Rows', async () => {
    const { uid, frame, pixel } = vector();
    expect(await corruption(uid, frame, { ...pixel, rows: pixel.rows + 1 })).toMatchObject(CORRUPT);
  });

  it('decoded against the wrong Columns', async () => {
    const { uid, frame, pixel } = vector();
    expect(await corruption(uid, frame, { ...pixel, columns: pixel.columns - 8 })).toMatchObject(CORRUPT);
  });
});

describe('codec-specific corruption', () => {
  it('JPEG lossless: truncated scan with the EOI marker put back', async () => {
    const { uid, frame, pixel } = vectors.get('JPEG Lossless SV1')!;
    const cut = Uint8Array.from([...frame.subarray(0, Math.floor(frame.length * 0.6)), 0xff, 0xd9]);
    const error = await corruption(uid, cut, pixel);
    expect(error.message).toMatch(/ended (after|before)/);
  });

  it('JPEG Baseline and JPEG-LS: truncated scan with the EOI marker put back', async () => {
    for (const name of ['JPEG Baseline', 'JPEG-LS Lossless']) {
      const { uid, frame, pixel } = vectors.get(name)!;
      expect(
        await corruption(
          uid,
          Uint8Array.from([...frame.subarray(0, Math.floor(frame.length * 0.6)), 0xff, 0xd9]),
          pixel,
        ),
      ).toMatchObject(CORRUPT);
    }
  });

  it('JPEG 2000 / HTJ2K: truncated codestream with the EOC marker put back', async () => {
    for (const name of ['JPEG 2000 Lossless', 'HTJ2K Lossless']) {
      const { uid, frame, pixel } = vectors.get(name)!;
      const cut = Uint8Array.from([...frame.subarray(0, Math.floor(frame.length * 0.6)), 0xff, 0xd9]);
      expect((await corruption(uid, cut, pixel)).message).toMatch(/tile-part|EOC/);
    }
  });

  it('a 16-bit codestream cannot be held in BitsAllocated 8', async () => {
    const { uid, frame, pixel } = vectors.get('JPEG Lossless SV1')!;
    const error = await corruption(uid, frame, { ...pixel, bitsAllocated: 8, bitsStored: 8, highBit: 7 });
    expect(error.message).toMatch(/precision 1[26] bits does not fit BitsAllocated 8/);
  });

  it('a lossless JPEG stream mislabelled as JPEG Baseline still decodes exactly (the SOF marker decides)', async () => {
    const { frame, pixel, stored } = vectors.get('JPEG Lossless SV1')!;
    expect(firstDifference(await decodeFrame(TS.JPEGBaseline8Bit, frame, pixel), stored)).toBeUndefined();
  });
});

describe('transfer syntaxes and descriptions', () => {
  it('an unknown transfer syntax is an UnsupportedTransferSyntaxError (CORRUPT_INSTANCE)', async () => {
    const error: unknown = await decodeFrame('1.2.840.10008.1.2.4.100', new Uint8Array(8), ctLikeFrame().pixel).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(UnsupportedTransferSyntaxError);
    expect((error as UnsupportedTransferSyntaxError).code).toBe('CORRUPT_INSTANCE');
    expect((error as UnsupportedTransferSyntaxError).message).toContain("'1.2.840.10008.1.2.4.100'");
  });

  it('prototype property names are not transfer syntaxes', async () => {
    for (const uid of ['constructor', '__proto__', 'toString']) {
      expect(isSupportedTransferSyntax(uid)).toBe(false);
      await expect(decodeFrame(uid, new Uint8Array(8), ctLikeFrame().pixel)).rejects.toThrow(
        UnsupportedTransferSyntaxError,
      );
    }
  });

  it('isSupportedTransferSyntax: every listed syntax but 12-bit-capable JPEG Extended', () => {
    for (const uid of Object.values(TS)) {
      expect(isSupportedTransferSyntax(uid)).toBe(uid !== TS.JPEGExtended12Bit);
    }
    expect(isSupportedTransferSyntax('1.2.840.10008.1.2.4.100')).toBe(false);
  });

  it('accepts a UID with its UI padding', async () => {
    const { pixel, stored } = ctLikeFrame({ rows: 2, columns: 3 });
    const frame = new Uint8Array(stored.buffer);
    expect(firstDifference(await decodeFrame(`${TS.ExplicitVRLittleEndian}\0`, frame, pixel), stored)).toBeUndefined();
  });

  it('an empty frame is corrupt', async () => {
    expect(await corruption(TS.JPEGLosslessSV1, new Uint8Array(0), ctLikeFrame().pixel)).toMatchObject(CORRUPT);
  });

  it.each([
    ['BitsStored above BitsAllocated', { bitsStored: 17 }],
    ['BitsAllocated 12', { bitsAllocated: 12 }],
    ['HighBit outside BitsAllocated', { highBit: 16 }],
    ['zero Rows', { rows: 0 }],
    ['PixelRepresentation 2', { pixelRepresentation: 2 as 0 }],
    ['absurd Rows x Columns', { rows: 65535, columns: 65535 }],
  ])('an inconsistent description is rejected: %s', async (_label, change) => {
    const { pixel } = ctLikeFrame();
    const error = await corruption(TS.ExplicitVRLittleEndian, new Uint8Array(16), { ...pixel, ...change });
    expect(error.message).toContain('invalid Image Pixel attributes');
  });
});

function randomBytes(length: number, seed: number): Uint8Array {
  const random = prng(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}
