import { readFileSync } from 'node:fs';
import dicomParser from 'dicom-parser';
import { TransferSyntax } from '../transfer-syntax.js';
import type { PixelDescription } from '../pixel-description.js';
import { ctPart10 } from './ct-frames.js';
import { convert, readFirstFrame, type ParsedFrame } from './part10-frames.js';

/** Committed test vectors (see fixtures/README.md). */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));
}

/** The expected stored values of a fixture frame (64 x 72). */
export function fixtureFrame(name: 'ct-u12' | 'ct-s16' | 'ct-s12'): {
  pixel: PixelDescription;
  stored: Int16Array | Uint16Array;
} {
  const bytes = fixture(`${name}.raw`);
  const signed = name !== 'ct-u12';
  const bitsStored = name === 'ct-s16' ? 16 : 12;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return {
    pixel: {
      rows: 64,
      columns: 72,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored,
      highBit: bitsStored - 1,
      pixelRepresentation: signed ? 1 : 0,
      photometricInterpretation: 'MONOCHROME2',
    },
    stored: signed ? new Int16Array(buffer) : new Uint16Array(buffer),
  };
}

/** dcmtk converters and the options that produce each transfer syntax. */
export const DCMTK: Partial<Record<string, [tool: string, args: string[]]>> = {
  [TransferSyntax.ImplicitVRLittleEndian]: ['dcmconv', ['+ti']],
  [TransferSyntax.ExplicitVRBigEndian]: ['dcmconv', ['+tb']],
  [TransferSyntax.DeflatedExplicitVRLittleEndian]: ['dcmconv', ['+td']],
  [TransferSyntax.RLELossless]: ['dcmcrle', []],
  [TransferSyntax.JPEGBaseline8Bit]: ['dcmcjpeg', ['+eb']],
  [TransferSyntax.JPEGExtended12Bit]: ['dcmcjpeg', ['+ee']],
  [TransferSyntax.JPEGLossless]: ['dcmcjpeg', ['+el']],
  [TransferSyntax.JPEGLosslessSV1]: ['dcmcjpeg', ['+e1']],
  [TransferSyntax.JPEGLSLossless]: ['dcmcjpls', ['+el']],
  [TransferSyntax.JPEGLSNearLossless]: ['dcmcjpls', ['+en']],
};

/**
 * Writes `stored` into a Part 10 file, has dcmtk encode it in `uid` (extra
 * options appended), and reads the frame back with dicom-parser.
 */
export function dcmtkEncode(
  uid: string,
  pixel: PixelDescription,
  stored: ArrayBufferView,
  extraArgs: string[] = [],
): ParsedFrame & { file: Buffer } {
  const entry = DCMTK[uid];
  if (!entry) throw new Error(`no dcmtk recipe for ${uid}`);
  const [tool, args] = entry;
  const file = convert(tool, [...args, ...extraArgs], ctPart10(pixel, stored));
  const parsed = readFirstFrame(file);
  if (parsed.transferSyntaxUid !== uid) throw new Error(`dcmtk wrote ${parsed.transferSyntaxUid}, not ${uid}`);
  return { ...parsed, file };
}

/** Largest absolute difference between two frames of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * The first difference between a decoded frame and the expected stored values
 * (type, length or sample), or undefined when they are identical. Fast on
 * 512 x 512 frames, unlike a deep equality: `expect(firstDifference(a, b)).toBeUndefined()`.
 */
export function firstDifference(decoded: ArrayLike<number>, expected: ArrayLike<number>): string | undefined {
  if (decoded.constructor !== expected.constructor) {
    return `decoded a ${decoded.constructor.name}, expected a ${expected.constructor.name}`;
  }
  if (decoded.length !== expected.length) return `decoded ${decoded.length} samples, expected ${expected.length}`;
  for (let i = 0; i < decoded.length; i++) {
    if (decoded[i] !== expected[i])
      return `sample ${i} is ${decoded[i]}, expected ${expected[i]} (of ${expected.length})`;
  }
  return undefined;
}

/**
 * DCMTK's decode of a JPEG lossless codestream made elsewhere, as unsigned stored values:
 * the codestream replaces the one fragment of a dcmcjpeg-made file of the same
 * description, then dcmdjpeg decompresses it.
 */
export function dcmdjpegDecode(codestream: Uint8Array, pixel: PixelDescription): Uint8Array | Uint16Array {
  const samples = pixel.rows * pixel.columns * pixel.samplesPerPixel;
  const blank = pixel.bitsAllocated === 8 ? new Uint8Array(samples) : new Uint16Array(samples);
  const template = dcmtkEncode(TransferSyntax.JPEGLossless, pixel, blank).file;
  const element = dicomParser.parseDicom(template).elements['x7fe00010'];
  const fragment = element.fragments?.length === 1 ? element.fragments[0] : undefined;
  if (!fragment) throw new Error('the dcmcjpeg template has not one fragment');
  const padded = codestream.length % 2 ? Uint8Array.from([...codestream, 0]) : codestream;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(padded.length);
  const spliced = Buffer.concat([
    template.subarray(0, fragment.position - 4),
    length,
    padded,
    template.subarray(fragment.position + fragment.length),
  ]);
  const { frame } = readFirstFrame(convert('dcmdjpeg', [], spliced));
  const bytes = frame.slice(); // an odd 8-bit frame keeps its pad byte: cut below
  return pixel.bitsAllocated === 8 ? bytes.subarray(0, samples) : new Uint16Array(bytes.buffer, 0, samples);
}
