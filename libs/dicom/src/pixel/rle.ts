import { CorruptPixelDataError } from './errors.js';
import { allocateStored, storeBits, type PixelDescription, type StoredPixels } from './pixel-description.js';
import { interleave } from './native.js';

/**
 * RLE Lossless (PS3.5 Annex G). A frame is a 64-byte header (segment count and
 * 15 offsets, little endian) followed by PackBits-coded segments: one per byte
 * of each sample, most significant byte first, sample after sample. Each segment
 * decodes to one byte per pixel.
 */
export function decodeRle(uid: string, frame: Uint8Array, pixel: PixelDescription, samples: number): StoredPixels {
  const fail = (detail: string): never => {
    throw new CorruptPixelDataError(uid, detail);
  };
  const pixels = pixel.rows * pixel.columns;
  const bytesPerSample = pixel.bitsAllocated / 8;
  const expectedSegments = pixel.samplesPerPixel * bytesPerSample;
  if (frame.length < 64) fail(`frame of ${frame.length} bytes is shorter than the 64-byte RLE header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0, true);
  if (count !== expectedSegments) {
    fail(`RLE header declares ${count} segments, expected ${expectedSegments} for this frame`);
  }
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(view.getUint32(4 + 4 * i, true));
  offsets.push(frame.length);
  if (offsets[0] !== 64) fail(`first RLE segment starts at ${offsets[0]}, expected 64`);
  for (let i = 0; i < count; i++) {
    if (offsets[i + 1] <= offsets[i] || offsets[i + 1] > frame.length) {
      fail(`RLE segment offsets are out of order or beyond the ${frame.length}-byte frame`);
    }
  }

  // Composite pixel codes, colour by plane; assembled MSB first.
  const codes = new Uint32Array(samples);
  const segment = new Uint8Array(pixels);
  for (let s = 0; s < count; s++) {
    const decoded = unpackBits(frame.subarray(offsets[s], offsets[s + 1]), segment);
    if (decoded !== pixels) fail(`RLE segment ${s + 1} of ${count} decodes to ${decoded} bytes, expected ${pixels}`);
    const sample = Math.floor(s / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (s % bytesPerSample));
    const base = sample * pixels;
    for (let p = 0; p < pixels; p++) codes[base + p] |= segment[p] << shift;
  }
  const out = allocateStored(pixel, samples);
  storeBits(codes, out, pixel.bitsStored, pixel.pixelRepresentation === 1, pixel.highBit + 1 - pixel.bitsStored);
  return pixel.samplesPerPixel > 1 ? interleave(out, pixel.samplesPerPixel) : out;
}

/**
 * PackBits into `out`; returns how many bytes the segment encodes, counting any
 * beyond out.length (which are not written). A lone trailing byte (the even-length
 * pad, PS3.5 G.3.2) adds nothing.
 */
export function unpackBits(input: Uint8Array, out: Uint8Array): number {
  let i = 0;
  let o = 0;
  const end = input.length;
  while (i < end) {
    const header = input[i++];
    if (header < 128) {
      const n = Math.min(header + 1, end - i);
      if (o < out.length) out.set(input.subarray(i, i + Math.min(n, out.length - o)), o);
      o += n;
      i += n;
    } else if (header > 128) {
      if (i >= end) break;
      const n = 257 - header;
      if (o < out.length) out.fill(input[i], o, Math.min(o + n, out.length));
      i++;
      o += n;
    }
    // 128 (-128): no operation.
  }
  return o;
}
