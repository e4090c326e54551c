import { endianness } from 'node:os';
import { CorruptPixelDataError } from './errors.js';
import { allocateStored, storeBits, type PixelDescription, type StoredPixels } from './pixel-description.js';

if (endianness() !== 'LE') throw new Error('the pixel decoders assume a little-endian host');

/**
 * Native (uncompressed) frames: Implicit/Explicit VR Little Endian, Deflated
 * (already inflated by the caller) and Explicit VR Big Endian. BitsAllocated 8
 * frames are taken byte by byte in either byte order (OB), 16/32-bit words are
 * swapped for big endian. Bits outside BitsStored/HighBit are dropped (PS3.5
 * 8.1.1: they are not pixel data); signed values are sign-extended from HighBit.
 */
export function decodeNative(
  uid: string,
  frame: Uint8Array,
  pixel: PixelDescription,
  samples: number,
  bigEndian: boolean,
): StoredPixels {
  const bytesPerSample = pixel.bitsAllocated / 8;
  const expected = samples * bytesPerSample;
  // One trailing NUL pads an odd-length value to even length (PS3.5 7.1.1).
  const padded = expected % 2 === 1 && frame.length === expected + 1;
  if (frame.length !== expected && !padded) {
    throw new CorruptPixelDataError(
      uid,
      `frame is ${frame.length} bytes, expected ${expected} (${pixel.rows} x ${pixel.columns} x ${pixel.samplesPerPixel} x ${bytesPerSample})`,
    );
  }
  const copy = frame.slice(0, expected); // aligned, and the caller's buffer is never modified
  if (bigEndian && bytesPerSample > 1) swapBytes(copy, bytesPerSample);
  const raw =
    bytesPerSample === 1
      ? copy
      : bytesPerSample === 2
        ? new Uint16Array(copy.buffer, 0, samples)
        : new Uint32Array(copy.buffer, 0, samples);
  const out = allocateStored(pixel, samples);
  storeBits(raw, out, pixel.bitsStored, pixel.pixelRepresentation === 1, pixel.highBit + 1 - pixel.bitsStored);
  return pixel.samplesPerPixel > 1 && pixel.planarConfiguration === 1 ? interleave(out, pixel.samplesPerPixel) : out;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 2) {
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const a = bytes[i];
      bytes[i] = bytes[i + 1];
      bytes[i + 1] = a;
    }
    return;
  }
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i];
    const b = bytes[i + 1];
    bytes[i] = bytes[i + 3];
    bytes[i + 1] = bytes[i + 2];
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

/** Colour-by-plane (R…R G…G B…B) to colour-by-pixel (RGB RGB …), the layout every decoder returns. */
export function interleave<T extends StoredPixels>(planes: T, samplesPerPixel: number): T {
  const out = planes.slice() as T;
  const pixels = planes.length / samplesPerPixel;
  for (let s = 0; s < samplesPerPixel; s++) {
    for (let p = 0; p < pixels; p++) out[p * samplesPerPixel + s] = planes[s * pixels + p];
  }
  return out;
}
