import { inflateRawSync } from 'node:zlib';
import { PermanentError, TooLargeError } from '@app/errors';
import { tagOf, type DicomAttributes } from './attributes.js';
import { vrOfTag, type VR } from './dictionary.js';
import { TransferSyntax } from './pixel/transfer-syntax.js';

/**
 * A DICOM Part 10 reader: Implicit and Explicit VR Little Endian, Explicit Big
 * Endian, Deflated, and encapsulated pixel data. Values stay views into the
 * input buffer until asked for; pixel data is never copied here.
 */

/** The file cannot be parsed as DICOM. Permanent: re-reading the same bytes cannot help. */
export class CorruptInstanceError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CORRUPT_INSTANCE', message, options);
  }
}

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
/** A deflated dataset may not inflate beyond this (a deflate bomb is a few MB that inflate to GBs). */
export const MAX_INFLATED_BYTES = 1024 * 2 ** 20;
/** Real datasets nest sequences a handful of levels deep; hostile ones, deep enough to exhaust the stack. */
export const MAX_SEQUENCE_DEPTH = 32;

interface Element {
  vr: VR;
  /** The value bytes; for SQ and encapsulated pixel data, empty. */
  value: Uint8Array;
  items?: Part10Dataset[];
  /** Encapsulated pixel data: item 0 is the Basic Offset Table, then the fragments. */
  fragments?: Uint8Array[];
}

interface Syntax {
  explicit: boolean;
  little: boolean;
}

const tagText = (tag: number) =>
  `(${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`;

class Cursor {
  offset: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly syntax: Syntax,
    start = 0,
  ) {
    this.offset = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(length: number, what: string): void {
    if (this.offset + length > this.bytes.length) {
      throw new CorruptInstanceError(`truncated DICOM data: ${what} needs ${length} bytes at offset ${this.offset}`);
    }
  }

  uint16(): number {
    this.need(2, 'a 16-bit value');
    const value = this.view.getUint16(this.offset, this.syntax.little);
    this.offset += 2;
    return value;
  }

  uint32(): number {
    this.need(4, 'a 32-bit value');
    const value = this.view.getUint32(this.offset, this.syntax.little);
    this.offset += 4;
    return value;
  }

  tag(): number {
    const group = this.uint16();
    return ((group << 16) | this.uint16()) >>> 0;
  }

  take(length: number, tag: number): Uint8Array {
    if (this.offset + length > this.bytes.length) {
      throw new CorruptInstanceError(
        `element ${tagText(tag)} declares ${length} bytes but only ${this.bytes.length - this.offset} remain`,
      );
    }
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

/** One parsed dataset (or sequence item). */
export class Part10Dataset implements DicomAttributes {
  constructor(
    private readonly elements: Map<number, Element>,
    private readonly little: boolean,
  ) {}

  element(tag: number): Element | undefined {
    return this.elements.get(tag);
  }

  has(keyword: string): boolean {
    const element = this.elements.get(tagOf(keyword));
    return element !== undefined && (element.value.length > 0 || (element.items?.length ?? 0) > 0);
  }

  string(keyword: string): string | undefined {
    return this.strings(keyword)[0];
  }

  strings(keyword: string): string[] {
    const element = this.elements.get(tagOf(keyword));
    if (!element || element.value.length === 0) return [];
    const text = Buffer.from(element.value.buffer, element.value.byteOffset, element.value.byteLength).toString(
      'latin1',
    );
    return text
      .replace(/[\0 ]+$/, '')
      .split('\\')
      .map((part) => part.trim());
  }

  number(keyword: string): number | undefined {
    return this.numbers(keyword)[0];
  }

  numbers(keyword: string): number[] {
    const element = this.elements.get(tagOf(keyword));
    if (!element || element.value.length === 0) return [];
    const view = new DataView(element.value.buffer, element.value.byteOffset, element.value.byteLength);
    const read = (size: number, get: (offset: number) => number) =>
      Array.from({ length: Math.floor(view.byteLength / size) }, (_, i) => get(i * size));
    switch (element.vr) {
      case 'US':
        return read(2, (o) => view.getUint16(o, this.little));
      case 'SS':
        return read(2, (o) => view.getInt16(o, this.little));
      case 'UL':
        return read(4, (o) => view.getUint32(o, this.little));
      case 'SL':
        return read(4, (o) => view.getInt32(o, this.little));
      case 'FL':
        return read(4, (o) => view.getFloat32(o, this.little));
      case 'FD':
        return read(8, (o) => view.getFloat64(o, this.little));
      default:
        return this.strings(keyword)
          .filter((text) => text !== '')
          .map(Number);
    }
  }

  sequence(keyword: string): Part10Dataset[] {
    return this.elements.get(tagOf(keyword))?.items ?? [];
  }

  bytes(keyword: string): Uint8Array | undefined {
    return this.elements.get(tagOf(keyword))?.value;
  }
}

export interface Part10File {
  transferSyntaxUid: string;
  meta: Part10Dataset;
  dataset: Part10Dataset;
}

function syntaxOf(uid: string): Syntax {
  if (uid === TransferSyntax.ImplicitVRLittleEndian) return { explicit: false, little: true };
  if (uid === TransferSyntax.ExplicitVRBigEndian) return { explicit: true, little: false };
  // Every other (compressed) syntax encodes the dataset as Explicit VR Little Endian.
  return { explicit: true, little: true };
}

function peekTag(cursor: Cursor): number {
  const start = cursor.offset;
  const tag = cursor.tag();
  cursor.offset = start;
  return tag;
}

function readElementHeader(cursor: Cursor): { tag: number; vr: VR; length: number } {
  const tag = cursor.tag();
  if (tag === ITEM || tag === ITEM_DELIMITATION || tag === SEQUENCE_DELIMITATION) {
    return { tag, vr: 'UN', length: cursor.uint32() };
  }
  if (!cursor.syntax.explicit) return { tag, vr: vrOfTag(tag), length: cursor.uint32() };
  cursor.need(2, `the VR of ${tagText(tag)}`);
  const vr = String.fromCharCode(cursor.bytes[cursor.offset], cursor.bytes[cursor.offset + 1]) as VR;
  cursor.offset += 2;
  if (!/^[A-Z]{2}$/.test(vr)) throw new CorruptInstanceError(`element ${tagText(tag)} has an invalid VR`);
  if (LONG_LENGTH_VRS.has(vr)) {
    cursor.offset += 2;
    return { tag, vr, length: cursor.uint32() };
  }
  return { tag, vr, length: cursor.uint16() };
}

function readItems(
  cursor: Cursor,
  length: number,
  tag: number,
  implicitInside: boolean,
  depth: number,
): Part10Dataset[] {
  if (depth > MAX_SEQUENCE_DEPTH) {
    throw new PermanentError('TOO_LARGE', `sequences are nested deeper than ${MAX_SEQUENCE_DEPTH} levels`);
  }
  const end = length === UNDEFINED_LENGTH ? Infinity : cursor.offset + length;
  const syntax = implicitInside ? { explicit: false, little: cursor.syntax.little } : cursor.syntax;
  const items: Part10Dataset[] = [];
  while (cursor.offset < end) {
    const itemTag = cursor.tag();
    const itemLength = cursor.uint32();
    if (itemTag === SEQUENCE_DELIMITATION) break;
    if (itemTag !== ITEM)
      throw new CorruptInstanceError(`sequence ${tagText(tag)} holds ${tagText(itemTag)}, not an item`);
    const inner = new Cursor(cursor.bytes, syntax, cursor.offset);
    const itemEnd = itemLength === UNDEFINED_LENGTH ? Infinity : cursor.offset + itemLength;
    items.push(readDataset(inner, itemEnd, false, depth));
    cursor.offset = inner.offset;
  }
  return items;
}

function readFragments(cursor: Cursor): Uint8Array[] {
  const fragments: Uint8Array[] = [];
  for (;;) {
    const tag = cursor.tag();
    const length = cursor.uint32();
    if (tag === SEQUENCE_DELIMITATION) return fragments;
    if (tag !== ITEM) throw new CorruptInstanceError(`encapsulated pixel data holds ${tagText(tag)}, not an item`);
    fragments.push(cursor.take(length, PIXEL_DATA));
  }
}

function readDataset(cursor: Cursor, end: number, untilPixelData = false, depth = 0): Part10Dataset {
  const elements = new Map<number, Element>();
  const stop = Math.min(end, cursor.bytes.length);
  while (cursor.offset < stop) {
    if (untilPixelData && peekTag(cursor) >= PIXEL_DATA) break;
    const { tag, vr, length } = readElementHeader(cursor);
    if (tag === ITEM_DELIMITATION) break;
    if (tag === PIXEL_DATA && length === UNDEFINED_LENGTH) {
      elements.set(tag, { vr, value: new Uint8Array(0), fragments: readFragments(cursor) });
    } else if (vr === 'SQ' || length === UNDEFINED_LENGTH) {
      // An undefined-length UN is a sequence encoded in Implicit VR (PS3.5 6.2.2).
      elements.set(tag, {
        vr: 'SQ',
        value: new Uint8Array(0),
        items: readItems(cursor, length, tag, vr === 'UN', depth + 1),
      });
    } else {
      elements.set(tag, { vr, value: cursor.take(length, tag) });
    }
  }
  return new Part10Dataset(elements, cursor.syntax.little);
}

export interface ReadOptions {
  /** Stop before the pixel data: enough for the header, given only the start of a file. */
  untilPixelData?: boolean;
  /** Default MAX_INFLATED_BYTES. */
  maxInflatedBytes?: number;
}

/**
 * Parses a Part 10 file. Files without the 128-byte preamble and "DICM" are read
 * as a bare Implicit VR Little Endian dataset, as old archives still send them.
 */
export function readPart10(bytes: Uint8Array, options: ReadOptions = {}): Part10File {
  const untilPixelData = options.untilPixelData ?? false;
  const maxInflatedBytes = options.maxInflatedBytes ?? MAX_INFLATED_BYTES;
  const hasPreamble = bytes.length >= 132 && Buffer.from(bytes.subarray(128, 132)).toString('latin1') === 'DICM';
  if (!hasPreamble) {
    let dataset: Part10Dataset | undefined;
    try {
      const cursor = new Cursor(bytes, syntaxOf(TransferSyntax.ImplicitVRLittleEndian));
      dataset = readDataset(cursor, bytes.length, untilPixelData);
    } catch (error) {
      if (error instanceof PermanentError && error.code === 'TOO_LARGE') throw error;
      // Not even a bare dataset: say what the file is not, rather than where parsing gave up.
    }
    if (!dataset || (!dataset.has('SOPClassUID') && !dataset.has('SOPInstanceUID'))) {
      throw new CorruptInstanceError('not a DICOM file: no "DICM" prefix and no readable dataset with SOP UIDs');
    }
    return {
      transferSyntaxUid: TransferSyntax.ImplicitVRLittleEndian,
      meta: new Part10Dataset(new Map(), true),
      dataset,
    };
  }
  // The file meta group is always Explicit VR Little Endian; read while the group is 0002.
  const metaCursor = new Cursor(bytes, { explicit: true, little: true }, 132);
  const metaElements = new Map<number, Element>();
  while (
    metaCursor.offset + 4 <= bytes.length &&
    new DataView(bytes.buffer, bytes.byteOffset).getUint16(metaCursor.offset, true) === 0x0002
  ) {
    const { tag, vr, length } = readElementHeader(metaCursor);
    metaElements.set(tag, { vr, value: metaCursor.take(length, tag) });
  }
  const meta = new Part10Dataset(metaElements, true);
  const transferSyntaxUid = meta.string('TransferSyntaxUID');
  if (!transferSyntaxUid) throw new CorruptInstanceError('the file meta information has no Transfer Syntax UID');
  let body = bytes.subarray(metaCursor.offset);
  if (transferSyntaxUid === TransferSyntax.DeflatedExplicitVRLittleEndian) {
    try {
      body = inflateRawSync(body, { maxOutputLength: maxInflatedBytes });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new TooLargeError('the inflated dataset', maxInflatedBytes);
      }
      throw new CorruptInstanceError('the deflated dataset cannot be inflated', { cause: error });
    }
  }
  const dataset = readDataset(new Cursor(body, syntaxOf(transferSyntaxUid)), body.length, untilPixelData);
  return { transferSyntaxUid, meta, dataset };
}

/** The encapsulated fragments of PixelData (Basic Offset Table excluded), or undefined for native data. */
export function pixelFragments(
  dataset: Part10Dataset,
): { offsetTable: Uint8Array; fragments: Uint8Array[] } | undefined {
  const fragments = dataset.element(PIXEL_DATA)?.fragments;
  if (!fragments) return undefined;
  return { offsetTable: fragments[0] ?? new Uint8Array(0), fragments: fragments.slice(1) };
}
