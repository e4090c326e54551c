import { CorruptPixelDataError } from './errors.js';

/**
 * Just enough parsing of JPEG (ISO 10918-1), JPEG-LS (ISO 14495-1) and JPEG 2000
 * (ISO 15444-1/-15) headers to check a frame before a codec sees it: what it
 * claims to be, its size, precision and signedness, and whether it is complete.
 * Some codecs decode a truncated stream without an error (OpenJPH fills the
 * rest with garbage), so completeness is checked here, independently of them.
 */

export interface JpegHeader {
  /** Second byte of the SOF marker: 0xc0–0xcf for ISO 10918-1, 0xf7 for JPEG-LS (SOF55). */
  sof: number;
  precision: number;
  rows: number;
  columns: number;
  components: number;
  /** First SOS: predictor (lossless), NEAR (JPEG-LS) or spectral start (DCT). */
  ss: number;
  /** First SOS: point transform. */
  al: number;
  /** DRI before the first SOS: MCUs per restart interval (0: none). */
  restartInterval: number;
}

export interface J2kHeader {
  codestream: Uint8Array;
  rows: number;
  columns: number;
  components: number;
  precision: number;
  signed: boolean;
  /** A CAP marker: the codestream uses Part 15 (HTJ2K) capabilities. */
  highThroughput: boolean;
}

/** How far before the end of a fragment an end marker is looked for; what follows it is padding. */
const MAX_PADDING = 64;

/**
 * Drops the padding after the end marker (FF D9: JPEG EOI, JPEG 2000 EOC). Fragments are
 * padded to even length, usually with 0x00, by some encoders with 0xFF (pydicom's test
 * files) or another byte, and some write a few more bytes after the marker; DCMTK, GDCM
 * and pydicom ignore them all. FF D9 cannot occur inside entropy-coded data (an 0xFF
 * there is followed by 0x00 or a restart marker), so the last one near the end is the
 * end of the stream. Without one, trailing 0x00/0xFF go and the caller reports a
 * truncated stream.
 */
export function withoutPadding(frame: Uint8Array): Uint8Array {
  for (let end = frame.length; end >= 2 && end >= frame.length - MAX_PADDING; end--) {
    if (frame[end - 2] === 0xff && frame[end - 1] === 0xd9) return frame.subarray(0, end);
  }
  let end = frame.length;
  while (end > 0 && (frame[end - 1] === 0 || frame[end - 1] === 0xff)) end--;
  return frame.subarray(0, end);
}

function endsWithFfd9(stream: Uint8Array): boolean {
  return stream.length >= 4 && stream[stream.length - 2] === 0xff && stream[stream.length - 1] === 0xd9;
}

const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);

/** Reads the markers of a JPEG or JPEG-LS stream up to its first SOS; checks it ends with EOI. */
export function readJpegHeader(uid: string, frame: Uint8Array): JpegHeader {
  const fail = (detail: string): never => {
    throw new CorruptPixelDataError(uid, detail);
  };
  const stream = withoutPadding(frame);
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== 0xd8)
    fail('bitstream does not start with a JPEG SOI marker');
  if (!endsWithFfd9(stream)) fail('bitstream does not end with an EOI marker (truncated?)');
  let pos = 2;
  let sof: Omit<JpegHeader, 'ss' | 'al' | 'restartInterval'> | undefined;
  let restartInterval = 0;
  while (pos < stream.length) {
    if (stream[pos] !== 0xff) fail(`expected a JPEG marker at byte ${pos}`);
    while (stream[pos] === 0xff && pos < stream.length) pos++; // fill bytes
    const marker = stream[pos++];
    if (STANDALONE.has(marker)) continue;
    if (marker === 0xd9) break;
    if (pos + 2 > stream.length) break;
    const length = (stream[pos] << 8) | stream[pos + 1];
    if (length < 2 || pos + length > stream.length) fail(`JPEG marker segment 0xff${hex(marker)} overruns the stream`);
    const isSof =
      (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isSof) {
      if (length < 8) fail('JPEG frame header is too short');
      sof = {
        sof: marker,
        precision: stream[pos + 2],
        rows: (stream[pos + 3] << 8) | stream[pos + 4],
        columns: (stream[pos + 5] << 8) | stream[pos + 6],
        components: stream[pos + 7],
      };
    } else if (marker === 0xdd && length >= 4) {
      restartInterval = (stream[pos + 2] << 8) | stream[pos + 3];
    } else if (marker === 0xda) {
      if (!sof) fail('JPEG scan starts before any frame header (SOF)');
      const ns = stream[pos + 2];
      const tail = pos + 3 + 2 * ns;
      if (ns < 1 || tail + 3 > pos + length) fail('JPEG scan header is malformed');
      return { ...sof!, ss: stream[tail], al: stream[tail + 2] & 0x0f, restartInterval };
    }
    pos += length;
  }
  return fail('no JPEG scan (SOS) before the end of the bitstream');
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** The JPEG 2000 codestream of a frame (unwrapping a JP2 file if an encoder wrote one), with its SIZ values. */
export function readJ2kHeader(uid: string, frame: Uint8Array): J2kHeader {
  const fail = (detail: string): never => {
    throw new CorruptPixelDataError(uid, detail);
  };
  let codestream = withoutPadding(frame);
  if (isJp2(codestream)) codestream = jp2Codestream(codestream) ?? fail('JP2 file has no contiguous codestream box');
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  if (codestream.length < 4 || view.getUint16(0) !== 0xff4f || view.getUint16(2) !== 0xff51) {
    fail('bitstream does not start with JPEG 2000 SOC and SIZ markers');
  }
  const lsiz = codestream.length >= 6 ? view.getUint16(4) : 0;
  if (lsiz < 41 || 4 + lsiz > codestream.length) fail('JPEG 2000 SIZ marker segment is truncated');
  const components = view.getUint16(40);
  if (lsiz !== 38 + 3 * components || components < 1) fail('JPEG 2000 SIZ marker segment is malformed');
  const ssiz = codestream[42];
  const header: J2kHeader = {
    codestream,
    columns: view.getUint32(8) - view.getUint32(16),
    rows: view.getUint32(12) - view.getUint32(20),
    components,
    precision: (ssiz & 0x7f) + 1,
    signed: (ssiz & 0x80) !== 0,
    highThroughput: false,
  };

  // Main header markers up to the first SOT, then tile-part by tile-part (Psot) to EOC.
  let pos = 4 + lsiz;
  while (pos + 4 <= codestream.length && view.getUint16(pos) !== 0xff90) {
    const marker = view.getUint16(pos);
    if (marker >> 8 !== 0xff) fail(`expected a JPEG 2000 marker at byte ${pos}`);
    if (marker === 0xff50) header.highThroughput = true;
    pos += 2 + view.getUint16(pos + 2);
  }
  if (pos + 12 > codestream.length) fail('JPEG 2000 codestream has no tile-part (truncated?)');
  const eoc = codestream.length - 2;
  while (pos < eoc) {
    if (view.getUint16(pos) !== 0xff90 || pos + 12 > codestream.length) {
      fail(`JPEG 2000 tile-part expected at byte ${pos} (truncated or malformed codestream)`);
    }
    const psot = view.getUint32(pos + 6);
    if (psot === 0)
      pos = eoc; // the last tile-part runs to EOC
    else if (psot < 14) fail('JPEG 2000 tile-part length is invalid');
    else pos += psot;
  }
  if (pos !== eoc || view.getUint16(eoc) !== 0xffd9) {
    fail('JPEG 2000 codestream does not end with EOC after its last tile-part (truncated?)');
  }
  return header;
}

function isJp2(stream: Uint8Array): boolean {
  return stream.length > 12 && stream[4] === 0x6a && stream[5] === 0x50 && stream[6] === 0x20 && stream[7] === 0x20;
}

/** The payload of the JP2 'jp2c' box. */
function jp2Codestream(stream: Uint8Array): Uint8Array | undefined {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let pos = 0;
  while (pos + 8 <= stream.length) {
    let length = view.getUint32(pos);
    const type = view.getUint32(pos + 4);
    let header = 8;
    if (length === 1 && pos + 16 <= stream.length) {
      length = Number(view.getBigUint64(pos + 8));
      header = 16;
    } else if (length === 0) length = stream.length - pos;
    if (length < header) return undefined;
    if (type === 0x6a703263) return stream.subarray(pos + header, Math.min(stream.length, pos + length));
    pos += length;
  }
  return undefined;
}
