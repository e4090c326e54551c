/**
 * Pixel-level work of the SEG writer on typed arrays only: no per-voxel objects and
 * no JS arrays the size of the volume.
 */

/** Bit 0 of each byte of the result is 1 where that byte of `word` is non-zero (SWAR, no carries). */
function nonZeroBytes(word: number): number {
  return (((((word & 0x7f7f7f7f) + 0x7f7f7f7f) | word) & 0x80808080) >>> 7) | 0;
}

/** Bits 0, 8, 16, 24 of `word` (each 0 or 1) as bits 0..3: one multiply, no partial product collides. */
function gatherNibble(bits: number): number {
  return (Math.imul(bits, 0x01020408) >>> 24) & 0x0f;
}

/**
 * Packs 0/1 pixels into 1-bit pixel data (PS3.5 8.1.1, BitsAllocated 1): the first
 * pixel goes into the least significant bit, and frames follow one another without
 * padding, so a frame whose pixel count is not a multiple of 8 starts mid-byte. Any
 * non-zero input counts as 1.
 */
export class BitPacker {
  readonly bytes: Uint8Array;
  private bitCount = 0;

  /** `target`, if given, receives the bits (it is zeroed first): e.g. the tail of the output file. */
  constructor(
    readonly totalBits: number,
    target?: Uint8Array,
  ) {
    const length = Math.ceil(totalBits / 8);
    if (target && target.length < length) throw new RangeError(`target holds ${target.length} bytes, ${length} needed`);
    this.bytes = target ? target.subarray(0, length).fill(0) : new Uint8Array(length);
  }

  /** Bits written so far. */
  get bits(): number {
    return this.bitCount;
  }

  /** Appends `length` pixels of `source` from `start` (one frame) at the current bit. */
  append(source: Uint8Array, start: number, length: number): void {
    if (this.bitCount + length > this.totalBits) throw new RangeError('more pixels than the packer was sized for');
    const out = this.bytes;
    const end = start + length;
    let p = start;
    let bit = this.bitCount;
    // Head: single bits until the output is byte-aligned.
    while (p < end && (bit & 7) !== 0) {
      if (source[p] !== 0) out[bit >>> 3] |= 1 << (bit & 7);
      p++;
      bit++;
    }
    // Body (only once the output is byte-aligned): eight pixels to one byte, read as two little-endian words.
    let o = bit >>> 3;
    const bodyStart = p;
    const bodyEnd = (bit & 7) === 0 ? p + ((end - p) & ~7) : p;
    const words = new DataView(source.buffer, source.byteOffset, source.byteLength);
    while (p < bodyEnd) {
      const low = words.getUint32(p, true);
      const high = words.getUint32(p + 4, true);
      out[o++] = (low | high) === 0 ? 0 : gatherNibble(nonZeroBytes(low)) | (gatherNibble(nonZeroBytes(high)) << 4);
      p += 8;
    }
    bit += bodyEnd - bodyStart;
    // Tail: the last fewer-than-8 pixels.
    while (p < end) {
      if (source[p] !== 0) out[bit >>> 3] |= 1 << (bit & 7);
      p++;
      bit++;
    }
    this.bitCount = bit;
  }
}

/** Unpacks 1-bit pixel data (the inverse of BitPacker), for tests and checks. */
export function unpackBits(packed: Uint8Array, pixelCount: number, firstPixel = 0): Uint8Array {
  const out = new Uint8Array(pixelCount);
  for (let i = 0; i < pixelCount; i++) {
    const bit = firstPixel + i;
    out[i] = (packed[bit >>> 3] >>> (bit & 7)) & 1;
  }
  return out;
}

/** Which frames hold any non-zero pixel: frame k of a mask is pixels [k·n, (k+1)·n). memcmp-fast. */
export function nonEmptyFrames(mask: Uint8Array, framePixels: number, frames: number): Uint8Array {
  const zeros = Buffer.alloc(framePixels);
  const view = Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength);
  const flags = new Uint8Array(frames);
  for (let k = 0; k < frames; k++) {
    flags[k] = view.subarray(k * framePixels, (k + 1) * framePixels).equals(zeros) ? 0 : 1;
  }
  return flags;
}

/**
 * Whether any pixel lies in more than one mask. Only frames where two or more masks
 * are non-empty are scanned, four pixels at a time against what earlier masks set
 * there, and the scan stops at the first shared pixel.
 */
export function masksOverlap(
  masks: readonly Uint8Array[],
  nonEmpty: readonly Uint8Array[],
  framePixels: number,
): boolean {
  if (masks.length < 2) return false;
  const frames = nonEmpty[0].length;
  const views = masks.map((mask) => new DataView(mask.buffer, mask.byteOffset, mask.byteLength));
  const words = framePixels >>> 2;
  const seen = new Uint32Array(words + 1); // the last entry collects the pixels past the last whole word
  for (let k = 0; k < frames; k++) {
    const present = views.filter((_, s) => nonEmpty[s][k] !== 0);
    if (present.length < 2) continue;
    seen.fill(0);
    const offset = k * framePixels;
    for (const view of present) {
      for (let q = 0; q < words; q++) {
        const bits = nonZeroBytes(view.getUint32(offset + 4 * q, true));
        if (bits === 0) continue;
        if ((seen[q] & bits) !== 0) return true;
        seen[q] |= bits;
      }
      for (let p = 4 * words; p < framePixels; p++) {
        if (view.getUint8(offset + p) === 0) continue;
        const bit = 1 << (p - 4 * words);
        if ((seen[words] & bit) !== 0) return true;
        seen[words] |= bit;
      }
    }
  }
  return false;
}

/**
 * Whether two packed 1-bit frames of the same slice share a set pixel. Frames must be
 * byte-aligned (pixels per frame a multiple of 8); `framesBySlice` lists, per slice, the
 * 0-based indices of the frames (one per segment) that show it. 32 pixels at a time.
 */
export function packedFramesOverlap(
  packed: Uint8Array,
  frameBytes: number,
  framesBySlice: readonly (readonly number[])[],
): boolean {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const words = frameBytes >>> 2;
  const seen = new Uint32Array(words + 1); // the last entry collects the bytes past the last whole word
  for (const frames of framesBySlice) {
    if (frames.length < 2) continue;
    seen.fill(0);
    for (const frame of frames) {
      const start = frame * frameBytes;
      for (let q = 0; q < words; q++) {
        const bits = view.getUint32(start + 4 * q, true);
        if (bits === 0) continue;
        if ((seen[q] & bits) !== 0) return true;
        seen[q] |= bits;
      }
      for (let p = 4 * words; p < frameBytes; p++) {
        const bits = packed[start + p] << (8 * (p - 4 * words));
        if ((seen[words] & bits) !== 0) return true;
        seen[words] |= bits;
      }
    }
  }
  return false;
}

/**
 * Label-map frames of the masks: frame f shows slice `slices[f]`, with pixel value n
 * where mask n-1 is set and 0 elsewhere; where masks overlap, the later mask (the
 * higher segment number) wins. Four pixels at a time, frame by frame so that the
 * frame being written stays in cache.
 */
export function labelFrames(
  masks: readonly Uint8Array[],
  slices: ArrayLike<number>,
  framePixels: number,
  target: Uint8Array = new Uint8Array(slices.length * framePixels),
): Uint8Array {
  if (masks.length > 255) throw new RangeError('an 8-bit label map holds at most 255 segments');
  const labels = target.subarray(0, slices.length * framePixels).fill(0);
  const out = new DataView(labels.buffer, labels.byteOffset, labels.byteLength);
  const views = masks.map((mask) => new DataView(mask.buffer, mask.byteOffset, mask.byteLength));
  const wordEnd = framePixels & ~3;
  for (let f = 0; f < slices.length; f++) {
    const from = slices[f] * framePixels;
    const to = f * framePixels;
    for (let s = 0; s < views.length; s++) {
      const view = views[s];
      const value = s + 1;
      const value4 = Math.imul(value, 0x01010101);
      for (let p = 0; p < wordEnd; p += 4) {
        const word = view.getUint32(from + p, true);
        if (word === 0) continue;
        const select = Math.imul(nonZeroBytes(word), 0xff); // 0xff in each byte where the mask is set
        out.setUint32(to + p, ((out.getUint32(to + p, true) & ~select) | (value4 & select)) >>> 0, true);
      }
      for (let p = wordEnd; p < framePixels; p++) if (view.getUint8(from + p) !== 0) labels[to + p] = value;
    }
  }
  return labels;
}
