import { tagOf } from '@app/dicom';
import type { SegmentationType } from './encode-segmentation.js';
import { BitPacker, labelFrames, masksOverlap, nonEmptyFrames, packedFramesOverlap } from './pixels.js';

/** One frame of the SEG. */
export interface FramePlan {
  /** 1-based segment number the frame shows (LABELMAP: 0, all segments). */
  segment: number;
  /** Slice index k in the volume. */
  k: number;
}

export interface FrameLayout {
  frames: FramePlan[];
  /** Per slice: its rank among the positions this object holds (the ImagePositionPatient dimension), -1 if left out. */
  positionIndex: Int32Array;
  /** BINARY: the frames packed 1 bit per pixel, in frame order. */
  packed: Uint8Array | undefined;
  /** BINARY: whether two segments set the same pixel (SegmentsOverlap). */
  overlap: boolean;
}

/**
 * Which frames the SEG holds, in which order, and (BINARY) their packed pixels: packed
 * first, because SegmentsOverlap is read off the packed frames.
 */
export function planFrames(
  masks: readonly Uint8Array[],
  framePixels: number,
  sliceCount: number,
  type: SegmentationType,
  omitEmptyFrames: boolean,
): FrameLayout {
  const nonEmpty = masks.map((mask) => nonEmptyFrames(mask, framePixels, sliceCount));
  const anyOnSlice = new Uint8Array(sliceCount);
  for (const flags of nonEmpty) for (let k = 0; k < sliceCount; k++) anyOnSlice[k] |= flags[k];
  // When every frame is empty, all are kept anyway: a SEG needs at least one frame.
  const omit = omitEmptyFrames && anyOnSlice.some((flag) => flag !== 0);
  const frames: FramePlan[] = [];
  if (type === 'BINARY') {
    masks.forEach((_, s) => {
      for (let k = 0; k < sliceCount; k++) if (!omit || nonEmpty[s][k]) frames.push({ segment: s + 1, k });
    });
  } else {
    for (let k = 0; k < sliceCount; k++) if (!omit || anyOnSlice[k]) frames.push({ segment: 0, k });
  }
  const positionIndex = new Int32Array(sliceCount).fill(-1);
  let planes = 0;
  for (let k = 0; k < sliceCount; k++) if (!omit || anyOnSlice[k]) positionIndex[k] = ++planes;

  if (type !== 'BINARY') return { frames, positionIndex, packed: undefined, overlap: false };
  const packer = new BitPacker(frames.length * framePixels);
  const framesBySlice: number[][] = Array.from({ length: sliceCount }, () => []);
  frames.forEach(({ segment, k }, f) => {
    packer.append(masks[segment - 1], k * framePixels, framePixels);
    framesBySlice[k].push(f);
  });
  const packed = packer.bytes;
  const overlap =
    framePixels % 8 === 0
      ? packedFramesOverlap(packed, framePixels / 8, framesBySlice)
      : masksOverlap(masks, nonEmpty, framePixels);
  return { frames, positionIndex, packed, overlap };
}

/**
 * PixelData (7FE0,0010), OB, in Explicit VR Little Endian: tag, VR, two reserved
 * bytes, 32-bit length (PS3.5 7.1.2). It is the dataset's last element, so it is
 * appended after everything our Part 10 writer wrote.
 */
const PIXEL_DATA_HEADER_BYTES = 12;
function writePixelDataHeader(target: Buffer, offset: number, length: number): void {
  const tag = tagOf('PixelData');
  target.writeUInt16LE(tag >>> 16, offset);
  target.writeUInt16LE(tag & 0xffff, offset + 2);
  target.write('OB', offset + 4, 'latin1');
  target.writeUInt16LE(0, offset + 6);
  target.writeUInt32LE(length, offset + 8);
}

/** The Part 10 header followed by the pixel data: copied once (BINARY) or labelled in place (LABELMAP). */
export function appendPixelData(
  head: Buffer,
  layout: FrameLayout,
  masks: readonly Uint8Array[],
  framePixels: number,
): Buffer {
  const { frames, packed } = layout;
  const pixelBytes = packed ? Math.ceil((frames.length * framePixels) / 8) : frames.length * framePixels;
  const padded = pixelBytes + (pixelBytes % 2);
  const bytes = Buffer.allocUnsafe(head.length + PIXEL_DATA_HEADER_BYTES + padded);
  head.copy(bytes, 0);
  writePixelDataHeader(bytes, head.length, padded);
  const pixels = bytes.subarray(head.length + PIXEL_DATA_HEADER_BYTES);
  pixels[pixels.length - 1] = 0; // the pad byte, if any
  if (packed) pixels.set(packed);
  else
    labelFrames(
      masks,
      frames.map(({ k }) => k),
      framePixels,
      pixels,
    );
  return bytes;
}
