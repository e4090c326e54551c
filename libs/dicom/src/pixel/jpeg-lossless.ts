import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import { EntropyReader } from './lossless-entropy.js';
import { buildHuffmanTable, type HuffmanTable } from './lossless-huffman.js';
import { undifferenceRow } from './lossless-predictors.js';

/**
 * Our JPEG Lossless decoder (ISO 10918-1 process 14, SOF3, Huffman): predictors 1–7,
 * precision 2–16, point transform, restart intervals, one or more components in
 * interleaved or separate scans. The marker segments are read here; each restart
 * interval's differences are Huffman-decoded in one tight loop (lossless-entropy.ts),
 * then undone row by row (lossless-predictors.ts). Samples come back pixel-interleaved,
 * 8-bit for precision ≤ 8, else 16-bit, already shifted left by the point transform.
 */
export interface LosslessImage {
  samples: Uint8Array | Uint16Array;
  precision: number;
  rows: number;
  columns: number;
  components: number;
}

interface FrameHeader {
  precision: number;
  rows: number;
  columns: number;
  /** Component identifiers (Ci) in frame order. */
  ids: number[];
  samples: Uint16Array;
  decoded: boolean[];
}

/** The differences of one restart interval; reused, one per thread. */
let scratch = new Int32Array(0);

export function decodeJpegLossless(uid: string, stream: Uint8Array): LosslessImage {
  const fail = (detail: string): never => {
    throw new CorruptPixelDataError(uid, `JPEG lossless: ${detail}`);
  };
  const tables: (HuffmanTable | undefined)[] = [];
  let restartInterval = 0;
  let frame: FrameHeader | undefined;
  let pos = 2; // after SOI (checked by readJpegHeader)
  for (;;) {
    if (pos + 1 >= stream.length || stream[pos] !== 0xff) fail(`expected a marker at byte ${pos}`);
    while (stream[pos + 1] === 0xff) pos++; // fill bytes
    const marker = stream[pos + 1];
    pos += 2;
    if (marker === 0xd9) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    const length = pos + 2 <= stream.length ? (stream[pos] << 8) | stream[pos + 1] : 0;
    if (length < 2 || pos + length > stream.length)
      fail(`marker segment 0xff${marker.toString(16)} overruns the stream`);
    const segment = stream.subarray(pos + 2, pos + length);
    pos += length;
    if (marker === 0xc3) {
      if (frame) fail('a second frame header (SOF3)');
      frame = readFrameHeader(uid, segment, fail);
    } else if (marker === 0xc4) {
      readHuffmanTables(segment, tables, fail);
    } else if (marker === 0xdd) {
      if (segment.length < 2) fail('DRI segment is too short');
      restartInterval = (segment[0] << 8) | segment[1];
    } else if (marker === 0xda) {
      if (!frame) fail('a scan (SOS) before the frame header');
      pos = decodeScan(uid, stream, pos, segment, frame!, tables, restartInterval, fail);
    } else if (marker === 0xdc) {
      throw new UnsupportedTransferSyntaxError(uid, 'JPEG lossless with a DNL marker (height after the scan)');
    } else if ((marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc) || marker === 0xf7) {
      fail(`a frame header 0xff${marker.toString(16)} other than SOF3`);
    }
  }
  if (!frame) return fail('no frame header (SOF3)');
  if (frame.decoded.includes(false)) fail('a component has no scan');
  const { precision, rows, columns, ids, samples } = frame;
  return {
    samples: precision <= 8 ? new Uint8Array(samples) : samples,
    precision,
    rows,
    columns,
    components: ids.length,
  };
}

function readFrameHeader(uid: string, segment: Uint8Array, fail: (detail: string) => never): FrameHeader {
  if (segment.length < 6) fail('frame header is too short');
  const [precision, components] = [segment[0], segment[5]];
  const rows = (segment[1] << 8) | segment[2];
  const columns = (segment[3] << 8) | segment[4];
  if (precision < 2 || precision > 16) fail(`precision ${precision} is outside 2..16`);
  if (rows === 0 || columns === 0 || components === 0) fail(`frame of ${rows} x ${columns} x ${components}`);
  if (segment.length < 6 + 3 * components) fail('frame header is too short for its components');
  const ids: number[] = [];
  for (let c = 0; c < components; c++) {
    ids.push(segment[6 + 3 * c]);
    // One sample per component per MCU: the only layout DICOM's lossless colour images use.
    if (components > 1 && segment[7 + 3 * c] !== 0x11) {
      throw new UnsupportedTransferSyntaxError(uid, 'subsampled multi-component JPEG lossless');
    }
  }
  const samples = new Uint16Array(rows * columns * components);
  return { precision, rows, columns, ids, samples, decoded: ids.map(() => false) };
}

function readHuffmanTables(segment: Uint8Array, tables: (HuffmanTable | undefined)[], fail: (d: string) => never) {
  for (let at = 0; at < segment.length;) {
    const [kind, id] = [segment[at] >> 4, segment[at] & 15];
    const counts = segment.subarray(at + 1, at + 17);
    const total = counts.reduce((sum, count) => sum + count, 0);
    if (counts.length < 16 || at + 17 + total > segment.length) fail('DHT segment is truncated');
    if (kind > 1 || id > 3) fail(`Huffman table class ${kind} id ${id}`);
    const table = buildHuffmanTable(counts, segment.subarray(at + 17, at + 17 + total));
    if (typeof table === 'string') fail(table);
    if (kind === 0) tables[id] = table; // lossless uses the DC class only
    at += 17 + total;
  }
}

/** Decodes the scan whose header is `segment` and whose data starts at `pos`; returns where its next marker is. */
function decodeScan(
  uid: string,
  stream: Uint8Array,
  pos: number,
  segment: Uint8Array,
  frame: FrameHeader,
  tables: (HuffmanTable | undefined)[],
  restartInterval: number,
  fail: (detail: string) => never,
): number {
  const ns = segment[0];
  if (ns < 1 || segment.length < 4 + 2 * ns) fail('scan header is malformed');
  const [predictor, pointTransform] = [segment[1 + 2 * ns], segment[3 + 2 * ns] & 15];
  const { precision, rows, columns, ids, samples } = frame;
  if (predictor < 1 || predictor > 7) fail(`predictor ${predictor} is not 1..7`);
  if (pointTransform >= precision) fail(`point transform ${pointTransform} is not below precision ${precision}`);
  const components: number[] = [];
  const scanTables: HuffmanTable[] = [];
  for (let k = 0; k < ns; k++) {
    const component = ids.indexOf(segment[1 + 2 * k]);
    if (component < 0 || frame.decoded[component]) fail(`scan names an unknown or repeated component`);
    components.push(component);
    scanTables.push(
      tables[segment[2 + 2 * k] >> 4] ?? fail(`scan uses Huffman table ${segment[2 + 2 * k] >> 4}, never defined`),
    );
  }
  if (restartInterval % columns !== 0) {
    throw new UnsupportedTransferSyntaxError(
      uid,
      `JPEG lossless restart interval ${restartInterval} is not a whole number of rows of ${columns}`,
    );
  }
  const intervalRows = restartInterval === 0 ? rows : restartInterval / columns;
  const nc = ids.length;
  const initial = 1 << (precision - pointTransform - 1);
  const needed = Math.min(rows, intervalRows) * columns * ns;
  if (scratch.length < needed) scratch = new Int32Array(needed);
  const reader = new EntropyReader(stream, pos);
  for (let top = 0, interval = 0; top < rows; top += intervalRows, interval++) {
    if (interval > 0) {
      const marker = reader.nextMarker();
      if (marker !== 0xd0 + ((interval - 1) & 7)) fail(`restart marker RST${(interval - 1) & 7} missing`);
      reader.pos += 2;
    }
    const height = Math.min(intervalRows, rows - top);
    const problem = reader.decode(scratch, 0, height * columns * ns, scanTables);
    if (problem) fail(problem);
    for (let r = 0; r < height; r++) {
      for (let k = 0; k < ns; k++) {
        const base = (top + r) * columns * nc + components[k];
        undifferenceRow(samples, base, nc, scratch, r * columns * ns + k, ns, columns, predictor, r === 0, initial);
      }
    }
  }
  for (const component of components) {
    frame.decoded[component] = true;
    if (pointTransform > 0) {
      for (let i = component; i < samples.length; i += nc) samples[i] <<= pointTransform;
    }
  }
  if (reader.nextMarker() < 0) fail('no marker after the scan (truncated?)');
  return reader.pos;
}
