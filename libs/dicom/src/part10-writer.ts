import { endianness } from 'node:os';
import { lookupKeyword, type VR } from './dictionary.js';

/**
 * A small DICOM Part 10 writer: Explicit VR Little Endian, defined lengths,
 * datasets given by keyword. It writes what this project creates (synthetic CT,
 * SEG, SR) and nothing fancier: no encapsulated pixel data, no private tags.
 */

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation's UID root is the UUID-derived 2.25 arc (PS3.5 B.2): no registration needed. */
export const IMPLEMENTATION_CLASS_UID = '2.25.270952416014498390124283447151376383181';
export const IMPLEMENTATION_VERSION_NAME = 'COVIDTRIAGE_01';

export type ElementValue =
  string | number | readonly (string | number)[] | ArrayBufferView | readonly Dataset[] | null | undefined;

/** An element whose VR differs from the dictionary's, e.g. PixelData as OB for 1-bit SEG frames. */
export interface ExplicitValue {
  vr: VR;
  value: ElementValue;
}

export interface Dataset {
  [keyword: string]: ElementValue | ExplicitValue;
}

const LONG_LENGTH_VRS = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const BINARY_NUMBER_VRS: Partial<Record<VR, [size: number, write: (b: Buffer, v: number, o: number) => number]>> = {
  US: [2, (b, v, o) => b.writeUInt16LE(v, o)],
  SS: [2, (b, v, o) => b.writeInt16LE(v, o)],
  UL: [4, (b, v, o) => b.writeUInt32LE(v, o)],
  SL: [4, (b, v, o) => b.writeInt32LE(v, o)],
  FL: [4, (b, v, o) => b.writeFloatLE(v, o)],
  FD: [8, (b, v, o) => b.writeDoubleLE(v, o)],
};

if (endianness() !== 'LE') throw new Error('the DICOM writer assumes a little-endian host');

function isExplicit(value: ElementValue | ExplicitValue): value is ExplicitValue {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && 'vr' in value
  );
}

/** Decimal String: at most 16 characters (PS3.5 6.2), so long values lose precision, never validity. */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`DS value is not finite: ${value}`);
  for (let precision = 16; precision > 0; precision--) {
    const text = String(Number(value.toPrecision(precision)));
    if (text.length <= 16) return text;
  }
  throw new Error(`cannot format ${value} as DS`);
}

function encodeText(vr: VR, value: ElementValue): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0);
  const items = Array.isArray(value) ? value : [value];
  const text = items
    .map((item) => {
      if (typeof item === 'string') return item;
      if (vr === 'DS') return formatDecimalString(item as number);
      if (vr === 'IS') return String(Math.round(item as number));
      return String(item);
    })
    .join('\\');
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 0) return bytes;
  // Even length: UIDs pad with NUL, every other text VR with a space.
  return Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

function encodeValue(vr: VR, value: ElementValue): Buffer {
  if (vr === 'SQ') {
    const items = (value ?? []) as readonly Dataset[];
    return Buffer.concat(items.map((item) => encodeItem(encodeDataset(item))));
  }
  if (ArrayBuffer.isView(value)) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(1)]);
  }
  const binary = BINARY_NUMBER_VRS[vr];
  if (binary) {
    const numbers = (value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]) as number[];
    const [size, write] = binary;
    const buffer = Buffer.alloc(numbers.length * size);
    numbers.forEach((n, i) => write(buffer, n, i * size));
    return buffer;
  }
  if (vr === 'AT') {
    const tags = (Array.isArray(value) ? value : [value]) as number[];
    const buffer = Buffer.alloc(tags.length * 4);
    tags.forEach((tag, i) => {
      buffer.writeUInt16LE(tag >>> 16, i * 4);
      buffer.writeUInt16LE(tag & 0xffff, i * 4 + 2);
    });
    return buffer;
  }
  return encodeText(vr, value);
}

function encodeHeader(tag: number, vr: VR, length: number): Buffer {
  const long = LONG_LENGTH_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(length, 8);
  else {
    if (length > 0xffff) throw new Error(`value of VR ${vr} too long (${length} bytes)`);
    header.writeUInt16LE(length, 6);
  }
  return header;
}

function encodeItem(content: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(0xe000, 2);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

/** Encodes a dataset (elements sorted by tag) in Explicit VR Little Endian. */
export function encodeDataset(dataset: Dataset): Buffer {
  const elements = Object.entries(dataset)
    .filter(([, value]) => value !== undefined)
    .map(([keyword, raw]) => {
      const entry = lookupKeyword(keyword);
      const vr = isExplicit(raw) ? raw.vr : entry.vr;
      const value = isExplicit(raw) ? raw.value : raw;
      return { tag: entry.tag, vr, value };
    })
    .toSorted((a, b) => a.tag - b.tag);
  const chunks: Buffer[] = [];
  for (const { tag, vr, value } of elements) {
    const bytes = encodeValue(vr, value);
    chunks.push(encodeHeader(tag, vr, bytes.length), bytes);
  }
  return Buffer.concat(chunks);
}

/** A complete Part 10 file: preamble, "DICM", file meta information, then the dataset. */
export function writePart10(dataset: Dataset): Buffer {
  const sopClass = dataset['SOPClassUID'];
  const sopInstance = dataset['SOPInstanceUID'];
  if (typeof sopClass !== 'string' || typeof sopInstance !== 'string') {
    throw new Error('a Part 10 dataset needs SOPClassUID and SOPInstanceUID');
  }
  const meta = encodeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]),
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
  const groupLength = encodeDataset({
    FileMetaInformationGroupLength: meta.length,
  });
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, meta, encodeDataset(dataset)]);
}
