import { describe, expect, it } from 'vitest';
import { BitPacker, labelFrames, masksOverlap, nonEmptyFrames, packedFramesOverlap, unpackBits } from './pixels.js';

/** The obvious bit-by-bit packing: pixel i of the stream is bit i % 8 of byte i / 8. */
function naivePack(pixels: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(pixels.length / 8));
  for (let i = 0; i < pixels.length; i++) if (pixels[i] !== 0) out[i >> 3] |= 1 << (i & 7);
  return out;
}

/** A small deterministic generator, so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('BitPacker', () => {
  it('puts the first pixel in the least significant bit', () => {
    const frame = new Uint8Array(16);
    frame[0] = 1;
    frame[7] = 1;
    frame[9] = 1;
    const packer = new BitPacker(16);
    packer.append(frame, 0, 16);
    expect([...packer.bytes]).toEqual([0b1000_0001, 0b0000_0010]);
  });

  it('packs 3x3 frames contiguously: frame 2 starts at bit 9, mid-byte', () => {
    // Frame 1: a diagonal; frame 2: the anti-diagonal. 18 bits → 3 bytes, no padding between frames.
    const volume = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0]);
    const packer = new BitPacker(18);
    packer.append(volume, 0, 9);
    expect(packer.bits).toBe(9);
    packer.append(volume, 9, 9);
    expect(packer.bits).toBe(18);
    // bits 0..7: 1,0,0,0,1,0,0,0 → 0x11; bits 8..15: 1 | 0,0,1,0,1,0,1 → 0b1010_1001; bits 16,17: 0,0.
    expect([...packer.bytes]).toEqual([0x11, 0b1010_1001, 0x00]);
    expect(packer.bytes).toEqual(naivePack(volume));
    expect([...unpackBits(packer.bytes, 9, 9)]).toEqual([...volume.subarray(9)]);
  });

  it.each([
    [1, 1, 5],
    [3, 3, 4],
    [5, 7, 3],
    [8, 8, 2],
    [13, 11, 3],
    [3, 5, 17],
  ])('matches bit-by-bit packing for %ix%i frames, %i frames, in any frame order', (rows, columns, count) => {
    const next = random(rows * 1000 + columns * 10 + count);
    const framePixels = rows * columns;
    // Values other than 0/1 count as set; frames are taken out of order, as a BINARY SEG does per segment.
    const volume = Uint8Array.from({ length: framePixels * count }, () =>
      next() < 0.4 ? (next() < 0.5 ? 1 : 255) : 0,
    );
    const order = Array.from({ length: count }, (_, i) => (i * 7) % count);
    const packer = new BitPacker(framePixels * count);
    for (const k of order) packer.append(volume, k * framePixels, framePixels);
    const stream = order.flatMap((k) => [...volume.subarray(k * framePixels, (k + 1) * framePixels)]);
    expect(packer.bytes).toEqual(naivePack(stream));
    expect([...unpackBits(packer.bytes, stream.length)]).toEqual(stream.map((v) => (v !== 0 ? 1 : 0)));
  });

  it('reads masks at any byte offset (a subarray of a bigger buffer)', () => {
    const backing = new Uint8Array(40).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const mask = backing.subarray(3, 3 + 27);
    const packer = new BitPacker(27);
    packer.append(mask, 0, 27);
    expect(packer.bytes).toEqual(naivePack(mask));
  });

  it('writes into a given target, zeroing it first, and refuses too many pixels', () => {
    const target = new Uint8Array(4).fill(0xff);
    const packer = new BitPacker(9, target);
    packer.append(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1]), 0, 9);
    expect([...target]).toEqual([0, 1, 0xff, 0xff]);
    expect(() => packer.append(new Uint8Array(1), 0, 1)).toThrow(RangeError);
    expect(() => new BitPacker(64, new Uint8Array(7))).toThrow(RangeError);
  });
});

const flags = (mask: Uint8Array) => nonEmptyFrames(mask, 9, 2);

describe('nonEmptyFrames and masksOverlap', () => {
  it('flags frames with any set pixel', () => {
    const mask = new Uint8Array(3 * 9);
    mask[9 + 8] = 1;
    expect([...nonEmptyFrames(mask, 9, 3)]).toEqual([0, 1, 0]);
  });

  it('finds a shared pixel, also among the pixels past the last whole word', () => {
    const a = new Uint8Array(2 * 9);
    const b = new Uint8Array(2 * 9);
    a[9 + 8] = 1; // frame 1, last pixel: not in a 4-byte word of the 9-pixel frame
    b[9 + 7] = 1;
    expect(masksOverlap([a, b], [flags(a), flags(b)], 9)).toBe(false);
    b[9 + 8] = 7;
    expect(masksOverlap([a, b], [flags(a), flags(b)], 9)).toBe(true);
    a[9 + 8] = 0;
    a[9 + 1] = 1;
    b[9 + 1] = 1;
    expect(masksOverlap([a, b], [flags(a), flags(b)], 9)).toBe(true);
    expect(masksOverlap([a], [flags(a)], 9)).toBe(false);
  });
});

describe('packedFramesOverlap', () => {
  it('compares only the frames of one slice, including bytes past the last whole word', () => {
    // 6 frames of 5 bytes (40 pixels): slice 0 = frames 0, 2, 4; slice 1 = frames 1, 3, 5.
    const packed = new Uint8Array(30);
    packed[4] = 0b0001; // frame 0, last byte
    packed[2 * 5 + 4] = 0b0010; // frame 2, same byte, other pixel
    packed[1 * 5 + 1] = 0b1000; // frame 1
    packed[4 * 5 + 1] = 0b1000; // frame 4 (slice 0), same place as frame 1 (slice 1): no overlap
    const slices = [
      [0, 2, 4],
      [1, 3, 5],
    ];
    expect(packedFramesOverlap(packed, 5, slices)).toBe(false);
    packed[2 * 5 + 4] |= 0b0001;
    expect(packedFramesOverlap(packed, 5, slices)).toBe(true);
    packed[2 * 5 + 4] = 0;
    packed[5 * 5 + 1] = 0b1000; // frame 5 meets frame 1 in a whole word
    expect(packedFramesOverlap(packed, 5, slices)).toBe(true);
    expect(packedFramesOverlap(packed, 5, [[1], [5]])).toBe(false);
  });
});

describe('labelFrames', () => {
  it('labels with the segment number, the later segment winning, for the slices asked', () => {
    const framePixels = 3 * 3;
    const left = new Uint8Array(framePixels * 3);
    const lesion = new Uint8Array(framePixels * 3);
    left.fill(1, framePixels, 2 * framePixels); // slice 1 entirely
    lesion[framePixels + 4] = 1; // centre of slice 1
    lesion[framePixels + 8] = 1; // last pixel: past the last whole word
    lesion[2 * framePixels] = 1; // slice 2
    const labels = labelFrames([left, lesion], [1, 2], framePixels);
    expect([...labels]).toEqual([1, 1, 1, 1, 2, 1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses more than 255 segments', () => {
    const masks = Array.from({ length: 256 }, () => new Uint8Array(4));
    expect(() => labelFrames(masks, [0], 4)).toThrow(RangeError);
  });
});
