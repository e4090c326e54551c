import { describe, expect, it } from 'vitest';
import { CorruptPixelDataError, decodeFrame, UnsupportedTransferSyntaxError } from './index.js';
import type { PixelDescription } from './pixel-description.js';
import { TransferSyntax } from './transfer-syntax.js';
import { ctLikeFrame, prng } from './testing/ct-frames.js';
import { encodeJpegLossless, type LosslessEncoding } from './testing/lossless-encoder.js';
import { dcmdjpegDecode, dcmtkEncode, firstDifference } from './testing/vectors.js';

/**
 * Our JPEG Lossless decoder (jpeg-lossless.ts). Streams come from dcmcjpeg where it can
 * write them, else from the test encoder (testing/lossless-encoder.ts) — restart intervals,
 * 16-bit codes, separate scans — whose every grayscale stream dcmdjpeg must decode to the
 * same samples, so DCMTK is the judge of both.
 */
const TS = TransferSyntax.JPEGLossless;

/** Smooth texture with noise and the range's extremes side by side, unsigned, `precision` bits. */
function texture(rows: number, columns: number, precision: number, components = 1, seed = 1) {
  const random = prng(seed);
  const top = 2 ** precision - 1;
  const values = Array.from({ length: rows * columns * components }, (_, i) => {
    const [x, y] = [Math.floor(i / components) % columns, Math.floor(i / components / columns)];
    const wave = (Math.sin(x / 5 + (i % components)) + Math.cos(y / 7)) / 4 + 0.5;
    return Math.min(top, Math.max(0, Math.round(wave * top + (random() - 0.5) * top * 0.1)));
  });
  values.splice(0, 5, ...[0, top, 0, top >> 1, top].slice(0, values.length));
  const samples = precision <= 8 ? Uint8Array.from(values) : Uint16Array.from(values);
  const pixel: PixelDescription = {
    rows,
    columns,
    samplesPerPixel: components,
    bitsAllocated: precision <= 8 ? 8 : 16,
    bitsStored: precision,
    highBit: precision - 1,
    pixelRepresentation: 0,
    photometricInterpretation: components === 1 ? 'MONOCHROME2' : 'RGB',
    planarConfiguration: components === 1 ? undefined : 0,
  };
  return { samples, pixel };
}

/** Encodes a grayscale frame; dcmdjpeg and ours must both give back its samples. */
async function expectBothDecode(
  samples: Uint8Array | Uint16Array,
  pixel: PixelDescription,
  encoding: LosslessEncoding,
) {
  const stream = encodeJpegLossless(samples, pixel.rows, pixel.columns, encoding);
  expect(firstDifference(dcmdjpegDecode(stream, pixel), samples)).toBeUndefined();
  expect(firstDifference(await decodeFrame(TS, stream, pixel), samples)).toBeUndefined();
  return stream;
}

describe('JPEG Lossless decoder, against dcmdjpeg', () => {
  describe.each([2, 5, 8, 10, 12, 16])('%i-bit', (precision) => {
    it.each([1, 2, 3, 4, 5, 6, 7])('predictor %i, odd size 23 x 37, restart every 4 rows', async (predictor) => {
      const { samples, pixel } = texture(23, 37, precision, 1, precision * 10 + predictor);
      await expectBothDecode(samples, pixel, { precision, predictor, restartRows: 4 });
    });
  });

  it.each([
    ['every row', 1, 4],
    ['every 5 rows, the last interval short', 5, 7],
    ['once, longer than the image', 100, 1],
  ])('restart intervals: %s', async (_label, restartRows, predictor) => {
    const { samples, pixel } = texture(31, 20, 16, 1, restartRows);
    const stream = await expectBothDecode(samples, pixel, { precision: 16, predictor, restartRows });
    expect(stream.some((byte, i) => byte === 0xff && stream[i + 1] === 0xdd)).toBe(true);
  });

  it.each([
    [1, 1],
    [1, 17],
    [17, 1],
    [3, 5],
  ])('odd size %i x %i', async (rows, columns) => {
    const { samples, pixel } = texture(rows, columns, 12, 1, rows * 100 + columns);
    await expectBothDecode(samples, pixel, { precision: 12, predictor: 6, restartRows: 1 });
  });

  it('16-bit Huffman codes and difference category 16 (a jump of 32768)', async () => {
    const { samples, pixel } = texture(16, 40, 16, 1, 9);
    samples.set([0, 32768, 0, 65535, 32767, 32768], 40 * 8);
    await expectBothDecode(samples, pixel, { precision: 16, predictor: 1, table: 'unary' });
  });

  it.each([1, 2, 3])('point transform %i (dcmcjpeg +pt) gives the samples with their low bits cleared', async (pt) => {
    const { pixel, stored } = ctLikeFrame({ rows: 30, columns: 41, seed: pt });
    const parsed = dcmtkEncode(TransferSyntax.JPEGLossless, pixel, stored, ['+sv', '5', '+pt', String(pt)]);
    const expected = stored.map((value) => (value >> pt) << pt);
    expect(firstDifference(await decodeFrame(TS, parsed.frame, parsed.pixel), expected)).toBeUndefined();
  });

  it('the 16-bit CT frame of the real data (16-bit header over BitsStored 12), restart every 16 rows', async () => {
    const { pixel, stored } = ctLikeFrame({ rows: 64, columns: 80, seed: 4 });
    const stream = encodeJpegLossless(stored, 64, 80, { precision: 16, predictor: 1, restartRows: 16 });
    expect(firstDifference(dcmdjpegDecode(stream, pixel), stored)).toBeUndefined();
    expect(firstDifference(await decodeFrame(TS, stream, pixel), stored)).toBeUndefined();
  });
});

describe('JPEG Lossless decoder, colour (the test encoder only: dcmtk has no RGB template here)', () => {
  it.each([true, false])('three components, interleaved %s', async (interleaved) => {
    const { samples, pixel } = texture(19, 23, 8, 3, 5);
    const stream = encodeJpegLossless(samples, 19, 23, {
      precision: 8,
      predictor: 4,
      components: 3,
      interleaved,
      restartRows: 2,
    });
    expect(firstDifference(await decodeFrame(TS, stream, pixel), samples)).toBeUndefined();
  });
});

describe('JPEG Lossless decoder, corrupt streams: a CorruptPixelDataError, never a hang or a wrong frame', () => {
  const { samples, pixel } = texture(24, 33, 16, 1, 77);
  const stream = encodeJpegLossless(samples, 24, 33, { precision: 16, predictor: 1, restartRows: 6 });
  const sos = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xda);
  const dataStart = sos + 2 + ((stream[sos + 2] << 8) | stream[sos + 3]);

  it('truncated anywhere in the entropy-coded data (EOI kept)', async () => {
    for (let cut = dataStart + 1; cut < stream.length - 2; cut += 7) {
      const truncated = Uint8Array.from([...stream.subarray(0, cut), 0xff, 0xd9]);
      await expect(decodeFrame(TS, truncated, pixel)).rejects.toThrow(CorruptPixelDataError);
    }
  });

  it('truncated without its EOI', async () => {
    await expect(decodeFrame(TS, stream.subarray(0, stream.length - 40), pixel)).rejects.toThrow(CorruptPixelDataError);
  });

  it('a restart marker missing or out of sequence', async () => {
    const rst = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xd0);
    await expect(
      decodeFrame(TS, Uint8Array.from([...stream.subarray(0, rst), ...stream.subarray(rst + 2)]), pixel),
    ).rejects.toThrow(CorruptPixelDataError);
    const renumbered = stream.slice();
    renumbered[rst + 1] = 0xd3;
    await expect(decodeFrame(TS, renumbered, pixel)).rejects.toThrow(/restart marker RST0 missing/);
  });

  it('random bytes in the entropy-coded data: a frame of the right size or a CorruptPixelDataError', async () => {
    const random = prng(5);
    const outcomes = new Map<string, number>();
    for (let trial = 0; trial < 300; trial++) {
      const damaged = stream.slice();
      for (let n = 0; n < 3; n++)
        damaged[dataStart + Math.floor(random() * (damaged.length - dataStart - 2))] = Math.floor(random() * 256);
      const outcome = await decodeFrame(TS, damaged, pixel).then(
        (decoded) => (decoded.length === samples.length ? 'decoded' : `${decoded.length} samples`),
        (error: unknown) => (error instanceof CorruptPixelDataError ? 'corrupt' : String(error)),
      );
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect([...outcomes.keys()].filter((outcome) => outcome !== 'decoded' && outcome !== 'corrupt')).toEqual([]);
    expect(outcomes.get('corrupt')).toBeGreaterThan(0);
  });

  const patch = (at: (bytes: Uint8Array) => number, value: number) => {
    const bytes = stream.slice();
    bytes[at(bytes)] = value;
    return bytes;
  };
  const dht = stream.findIndex((byte, i) => byte === 0xff && stream[i + 1] === 0xc4);

  it.each([
    ['a Huffman category above 16', () => patch(() => dht + 21, 17), /category 17/],
    ['a Huffman table longer than its segment', () => patch(() => dht + 5, 3), /DHT segment is truncated/],
    ['a scan naming an undefined table', () => patch(() => sos + 6, 0x20), /Huffman table 2, never defined/],
    ['predictor 0 (hierarchical only)', () => patch(() => sos + 7, 0), /predictor 0/],
  ])('%s', async (_label, make, message) => {
    await expect(decodeFrame(TS, make(), pixel)).rejects.toThrow(message);
  });

  it('a code that matches no entry of its table', async () => {
    // One 1-bit code "0" for category 0; then 0xFF 0x00 bytes: 1-bits no code begins with.
    const tiny = [
      0xff,
      0xd8,
      0xff,
      0xc3,
      0,
      11,
      16,
      0,
      2,
      0,
      2,
      1,
      1,
      0x11,
      0,
      0xff,
      0xc4,
      0,
      20,
      0,
      1,
      ...Array.from({ length: 15 }, () => 0),
      0,
    ];
    const scan = [0xff, 0xda, 0, 8, 1, 1, 0, 1, 0, 0, 0xff, 0x00, 0xff, 0x00, 0xff, 0xd9];
    const small = { ...pixel, rows: 2, columns: 2 };
    await expect(decodeFrame(TS, Uint8Array.from([...tiny, ...scan]), small)).rejects.toThrow(/matches no entry/);
  });

  it('an over-full Huffman table', async () => {
    // Three 1-bit codes: counts [3, 0, …], values 0, 1, 2.
    const table = [0xff, 0xc4, 0, 22, 0, 3, ...Array.from({ length: 15 }, () => 0), 0, 1, 2];
    const bytes = Uint8Array.from([...stream.subarray(0, dht), ...table, ...stream.subarray(dht)]);
    await expect(decodeFrame(TS, bytes, pixel)).rejects.toThrow(/more codes of length 1 than fit/);
  });

  it('a point transform not below the precision', async () => {
    const twelve = texture(8, 8, 12);
    const bytes = encodeJpegLossless(twelve.samples, 8, 8, { precision: 12, predictor: 1 });
    const at = bytes.findIndex((byte, i) => byte === 0xff && bytes[i + 1] === 0xda) + 9;
    bytes[at] = 12;
    await expect(decodeFrame(TS, bytes, twelve.pixel)).rejects.toThrow(/point transform 12 is not below precision 12/);
  });

  it('a restart interval that is not whole rows: unsupported, not garbage', async () => {
    const plain = encodeJpegLossless(samples, 24, 33, { precision: 16, predictor: 1 });
    const odd = Uint8Array.from([0xff, 0xd8, 0xff, 0xdd, 0, 4, 0, 5, ...plain.subarray(2)]);
    await expect(decodeFrame(TS, odd, pixel)).rejects.toThrow(UnsupportedTransferSyntaxError);
    await expect(decodeFrame(TS, odd, pixel)).rejects.toThrow(/restart interval 5 is not a whole number of rows of 33/);
  });
});
