import { CorruptInstanceError, pixelFragments, type Part10File } from './part10-reader.js';
import { TransferSyntax } from './pixel/transfer-syntax.js';

const NATIVE_SYNTAXES = new Set<string>([
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.ExplicitVRLittleEndian,
  TransferSyntax.DeflatedExplicitVRLittleEndian,
  TransferSyntax.ExplicitVRBigEndian,
]);

/** Start-of-codestream markers: a fragment opening with one starts a new frame. */
function startsCodestream(fragment: Uint8Array): boolean {
  if (fragment.length < 2 || fragment[0] !== 0xff) return false;
  // JPEG family SOI (FFD8), JPEG 2000 / HTJ2K SOC (FF4F).
  return fragment[1] === 0xd8 || fragment[1] === 0x4f;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function readOffsets(table: Uint8Array, size: 4 | 8): number[] {
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  return Array.from({ length: table.byteLength / size }, (_, i) =>
    size === 4 ? view.getUint32(i * size, true) : Number(view.getBigUint64(i * size, true)),
  );
}

/** Groups fragments into frames using item offsets measured from the first fragment's item header. */
function framesByOffsets(fragments: Uint8Array[], offsets: number[]): Uint8Array[] {
  const starts: number[] = [];
  let position = 0;
  for (const fragment of fragments) {
    starts.push(position);
    position += 8 + fragment.length;
  }
  return offsets.map((offset, frame) => {
    const end = offsets[frame + 1] ?? Infinity;
    const parts = fragments.filter((_, i) => starts[i] >= offset && starts[i] < end);
    if (parts.length === 0) throw new CorruptInstanceError(`offset table points frame ${frame + 1} at no fragment`);
    return concat(parts);
  });
}

/**
 * The bytes of every frame: for native syntaxes the raw frame, for encapsulated
 * ones the whole compressed codestream of the frame, fragments joined.
 */
export function frameBytes(file: Part10File): Uint8Array[] {
  const { dataset } = file;
  const frameCount = dataset.number('NumberOfFrames') ?? 1;
  const encapsulated = pixelFragments(dataset);
  if (!encapsulated) {
    if (!NATIVE_SYNTAXES.has(file.transferSyntaxUid)) {
      throw new CorruptInstanceError(`transfer syntax ${file.transferSyntaxUid} needs encapsulated pixel data`);
    }
    const pixels = dataset.bytes('PixelData');
    if (!pixels || pixels.length === 0) throw new CorruptInstanceError('the instance has no pixel data');
    const rows = dataset.number('Rows') ?? 0;
    const columns = dataset.number('Columns') ?? 0;
    const bits = dataset.number('BitsAllocated') ?? 16;
    const samples = dataset.number('SamplesPerPixel') ?? 1;
    const frameSize = Math.ceil((rows * columns * samples * bits) / 8);
    if (frameSize === 0 || pixels.length < frameSize * frameCount) {
      throw new CorruptInstanceError(
        `pixel data holds ${pixels.length} bytes, ${frameCount} frame(s) of ${rows}x${columns}x${bits} bits need ${frameSize * frameCount}`,
      );
    }
    return Array.from({ length: frameCount }, (_, i) => pixels.subarray(i * frameSize, (i + 1) * frameSize));
  }

  const { offsetTable, fragments } = encapsulated;
  if (fragments.length === 0) throw new CorruptInstanceError('encapsulated pixel data has no fragments');
  const extended = dataset.bytes('ExtendedOffsetTable');
  if (extended && extended.length > 0) return framesByOffsets(fragments, readOffsets(extended, 8)).slice(0, frameCount);
  if (frameCount === 1) return [concat(fragments)];
  if (offsetTable.length > 0) return framesByOffsets(fragments, readOffsets(offsetTable, 4));
  if (fragments.length === frameCount) return fragments;
  // No offset table and several fragments per frame: split where a codestream starts.
  const frames: Uint8Array[][] = [];
  for (const fragment of fragments) {
    if (frames.length === 0 || startsCodestream(fragment)) frames.push([fragment]);
    else frames.at(-1)!.push(fragment);
  }
  if (frames.length !== frameCount) {
    throw new CorruptInstanceError(`found ${frames.length} codestreams for ${frameCount} frames`);
  }
  return frames.map(concat);
}
