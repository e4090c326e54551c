import { CorruptPixelDataError } from './errors.js';

/** The Image Pixel attributes a frame is decoded against (PS3.3 C.7.6.3). */
export interface PixelDescription {
  rows: number;
  columns: number;
  /** CT: 1. */
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: 0 | 1;
  /** MONOCHROME1/2 for CT. */
  photometricInterpretation: string;
  planarConfiguration?: number;
}

/**
 * Stored pixel values of one frame, before rescale: Int16Array or Uint16Array for
 * 9–16 bits, Uint8Array/Int8Array for 8, Int32Array/Uint32Array for 32. Length
 * rows*columns*samplesPerPixel.
 */
export type StoredPixels = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Largest frame accepted (samples): guards allocations against absurd Rows/Columns. */
const MAX_SAMPLES = 1 << 28;

/** Checks the description's own consistency; returns the number of samples in a frame. */
export function validateDescription(uid: string, pixel: PixelDescription): number {
  const fail = (detail: string): never => {
    throw new CorruptPixelDataError(uid, `invalid Image Pixel attributes: ${detail}`);
  };
  const { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation } = pixel;
  for (const [name, value] of Object.entries({ rows, columns, samplesPerPixel, bitsAllocated, bitsStored })) {
    if (!Number.isInteger(value) || value < 1) fail(`${name} must be a positive integer, got ${value}`);
  }
  if (![8, 16, 32].includes(bitsAllocated)) fail(`BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`);
  if (bitsStored > bitsAllocated) fail(`BitsStored ${bitsStored} exceeds BitsAllocated ${bitsAllocated}`);
  if (!Number.isInteger(highBit) || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    fail(`HighBit ${highBit} does not fit BitsStored ${bitsStored} in BitsAllocated ${bitsAllocated}`);
  }
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    fail(`PixelRepresentation must be 0 or 1, got ${String(pixelRepresentation)}`);
  }
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) fail(`SamplesPerPixel ${samplesPerPixel} (1 or 3 expected)`);
  const samples = rows * columns * samplesPerPixel;
  if (samples > MAX_SAMPLES) fail(`a frame of ${rows} x ${columns} x ${samplesPerPixel} is too large`);
  return samples;
}

/** An empty frame of the type the description calls for. */
export function allocateStored(pixel: PixelDescription, samples: number): StoredPixels {
  const signed = pixel.pixelRepresentation === 1;
  switch (pixel.bitsAllocated) {
    case 8:
      return signed ? new Int8Array(samples) : new Uint8Array(samples);
    case 16:
      return signed ? new Int16Array(samples) : new Uint16Array(samples);
    default:
      return signed ? new Int32Array(samples) : new Uint32Array(samples);
  }
}

/**
 * Writes raw sample bit patterns into `out` as `bits`-bit values: masked to
 * `bits` for unsigned output, sign-extended from bit `bits - 1` for signed
 * output. `shift` first drops low bits (a HighBit above BitsStored - 1).
 * Works for any source array whose elements hold the pattern in their low bits.
 */
export function storeBits(
  source: ArrayLike<number>,
  out: StoredPixels,
  bits: number,
  signed: boolean,
  shift = 0,
): StoredPixels {
  const length = out.length;
  if (bits >= 32) {
    for (let i = 0; i < length; i++) out[i] = source[i] >>> shift;
    return out;
  }
  if (signed) {
    const up = 32 - bits;
    for (let i = 0; i < length; i++) out[i] = ((source[i] >>> shift) << up) >> up;
  } else {
    const mask = bits === 31 ? 0x7fffffff : (1 << bits) - 1;
    for (let i = 0; i < length; i++) out[i] = (source[i] >>> shift) & mask;
  }
  return out;
}
