import { CorruptPixelDataError } from './errors.js';
import { interleave } from './native.js';
import { CodecFailure } from './wasm-codecs.js';
import { allocateStored, storeBits, type PixelDescription, type StoredPixels } from './pixel-description.js';

/** Rejects a codestream whose geometry contradicts Rows, Columns or SamplesPerPixel. */
export function checkGeometry(
  uid: string,
  what: string,
  got: { rows: number; columns: number; components: number },
  pixel: PixelDescription,
): void {
  if (got.rows !== pixel.rows || got.columns !== pixel.columns || got.components !== pixel.samplesPerPixel) {
    throw new CorruptPixelDataError(
      uid,
      `${what} is ${got.rows} x ${got.columns} x ${got.components}, but the instance says ${pixel.rows} x ${pixel.columns} x ${pixel.samplesPerPixel}`,
    );
  }
}

/** Rejects a codestream precision that cannot be held in BitsAllocated. */
export function checkPrecision(uid: string, what: string, precision: number, pixel: PixelDescription): void {
  if (precision < 1 || precision > pixel.bitsAllocated) {
    throw new CorruptPixelDataError(
      uid,
      `${what} precision ${precision} bits does not fit BitsAllocated ${pixel.bitsAllocated}`,
    );
  }
}

/**
 * Turns a codec's decoded samples (`bytes`, 1 or 2 bytes per sample, little
 * endian) into stored values. The codestream precision rules, not BitsStored
 * (PS3.5 8.2: a JPEG header may declare 16 bits for 12-bit data): unsigned
 * values keep all `precision` bits; signed values (PixelRepresentation 1) are
 * sign-extended from bit min(precision, BitsStored) - 1, which is right both for
 * codestreams that carry the sign-extended word and for those that carry only
 * the BitsStored-bit pattern (JPEG and JPEG-LS cannot signal signedness).
 */
export function finishDecoded(
  uid: string,
  what: string,
  bytes: Uint8Array,
  precision: number,
  codecSigned: boolean,
  pixel: PixelDescription,
  samples: number,
  planar = false,
): StoredPixels {
  const bytesPerSample = precision > 8 ? 2 : 1;
  if (bytes.length !== samples * bytesPerSample) {
    throw new CorruptPixelDataError(
      uid,
      `${what} produced ${bytes.length} bytes, expected ${samples * bytesPerSample} (${samples} samples of ${bytesPerSample} bytes)`,
    );
  }
  const aligned = bytes.byteOffset % bytesPerSample === 0 ? bytes : bytes.slice();
  const source =
    bytesPerSample === 2
      ? codecSigned
        ? new Int16Array(aligned.buffer, aligned.byteOffset, samples)
        : new Uint16Array(aligned.buffer, aligned.byteOffset, samples)
      : codecSigned
        ? new Int8Array(aligned.buffer, aligned.byteOffset, samples)
        : aligned;
  const signed = pixel.pixelRepresentation === 1;
  const bits = signed ? Math.min(precision, pixel.bitsStored) : precision;
  const out = storeBits(source, allocateStored(pixel, samples), bits, signed);
  return planar && pixel.samplesPerPixel > 1 ? interleave(out, pixel.samplesPerPixel) : out;
}

/** A codec that rejects the bitstream means corrupt data; failing to load a codec is not (it stays as thrown). */
export async function wasm<T>(uid: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CodecFailure) throw new CorruptPixelDataError(uid, error.message, { cause: error });
    throw error;
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
