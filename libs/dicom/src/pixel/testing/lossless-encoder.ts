/**
 * A small JPEG Lossless (process 14) encoder for tests: what dcmcjpeg cannot write —
 * restart intervals, several components in separate scans, 16-bit Huffman codes — so
 * that our decoder meets them. Its streams are checked against dcmdjpeg in the specs,
 * so this encoder is not the only judge of itself.
 */
export interface LosslessEncoding {
  precision: number;
  predictor: number;
  pointTransform?: number;
  /** Rows per restart interval (DRI = rows x columns MCUs); 0 or absent: none. */
  restartRows?: number;
  components?: number;
  /** Components in one interleaved scan (default) or one scan each. */
  interleaved?: boolean;
  /** 'unary': code lengths 1, 2, 3, … 16 (long codes); default: a fixed shape up to 15 bits. */
  table?: 'unary' | 'shaped';
}

/** Encodes pixel-interleaved `samples` (rows x columns x components). */
export function encodeJpegLossless(samples: ArrayLike<number>, rows: number, columns: number, o: LosslessEncoding) {
  const nc = o.components ?? 1;
  const pt = o.pointTransform ?? 0;
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) =>
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  segment(0xc3, [
    o.precision,
    rows >> 8,
    rows & 255,
    columns >> 8,
    columns & 255,
    nc,
    ...Array.from({ length: nc }, (_, c) => [c + 1, 0x11, 0]).flat(),
  ]);
  const interval = (o.restartRows ?? 0) * columns;
  if (interval) segment(0xdd, [interval >> 8, interval & 255]);
  const scans =
    o.interleaved === false ? Array.from({ length: nc }, (_, c) => [c]) : [Array.from({ length: nc }, (_, c) => c)];
  for (const scan of scans) {
    const diffs = scan.map((c) =>
      differences(samples, rows, columns, nc, c, o.predictor, o.precision, pt, o.restartRows ?? 0),
    );
    const codes = diffs.map((d) => huffmanCodes(d, o.table ?? 'shaped'));
    codes.forEach((code, k) => segment(0xc4, [k, ...code.counts, ...code.values]));
    segment(0xda, [scan.length, ...scan.flatMap((c, k) => [c + 1, k << 4]), o.predictor, 0, pt]);
    const bits = new BitWriter(out);
    for (let p = 0, restart = 0; p < rows * columns; p++) {
      if (interval && p > 0 && p % interval === 0) bits.restart(restart++ & 7);
      scan.forEach((_, k) => bits.difference(diffs[k][p], codes[k]));
    }
    bits.flush();
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/** The prediction differences of component c, per H.1.2.1, as libjpeg computes them. */
function differences(
  s: ArrayLike<number>,
  rows: number,
  columns: number,
  nc: number,
  c: number,
  predictor: number,
  precision: number,
  pt: number,
  restartRows: number,
) {
  const v = (y: number, x: number) => s[(y * columns + x) * nc + c] >> pt;
  const d = new Int32Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    const first = y === 0 || (restartRows > 0 && y % restartRows === 0);
    for (let x = 0; x < columns; x++) {
      let prediction: number;
      if (first) prediction = x === 0 ? 1 << (precision - pt - 1) : v(y, x - 1);
      else if (x === 0) prediction = v(y - 1, 0);
      else {
        const [ra, rb, rc] = [v(y, x - 1), v(y - 1, x), v(y - 1, x - 1)];
        prediction = [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][
          predictor
        ];
      }
      const diff = (v(y, x) - prediction) & 0xffff;
      d[y * columns + x] = diff >= 32768 ? diff - 65536 : diff;
    }
  }
  return d;
}

interface Codes {
  counts: number[];
  values: number[];
  /** By category: [code, length]. */
  code: [number, number][];
}

const category = (diff: number) => (diff === -32768 ? 16 : diff === 0 ? 0 : 32 - Math.clz32(Math.abs(diff)));

/** Categories by falling frequency take the canonical codes of a fixed shape of lengths. */
function huffmanCodes(diffs: Int32Array, shape: 'unary' | 'shaped'): Codes {
  const frequency = Array.from({ length: 17 }, () => 0);
  for (const d of diffs) frequency[category(d)]++;
  const used = [...frequency.keys()].filter((k) => frequency[k] > 0).toSorted((a, b) => frequency[b] - frequency[a]);
  const values = shape === 'unary' ? used : [...used, ...[...frequency.keys()].filter((k) => frequency[k] === 0)];
  // No code may be all 1-bits (fill bits): unary has at most 16 symbols, the shape leaves room.
  const lengths =
    shape === 'unary'
      ? values.map((_, i) => i + 1)
      : [2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].slice(0, values.length);
  if (values.length > 16 && shape === 'unary') throw new Error('a unary table holds 16 categories at most');
  const counts = Array.from({ length: 16 }, () => 0);
  const code: [number, number][] = [];
  let next = 0;
  let length = 1;
  values.forEach((value, i) => {
    while (length < lengths[i]) [next, length] = [next << 1, length + 1];
    code[value] = [next++, length];
    counts[length - 1]++;
  });
  return { counts, values, code };
}

class BitWriter {
  private acc = 0;
  private bits = 0;
  constructor(private readonly out: number[]) {}

  difference(diff: number, codes: Codes): void {
    const c = category(diff);
    this.put(...codes.code[c]);
    if (c > 0 && c < 16) this.put((diff < 0 ? diff - 1 : diff) & ((1 << c) - 1), c);
  }

  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.bits === 8) {
        this.out.push(this.acc);
        if (this.acc === 0xff) this.out.push(0);
        this.acc = this.bits = 0;
      }
    }
  }

  /** Pads the last byte with 1-bits. */
  flush(): void {
    if (this.bits > 0) this.put(0xff, 8 - this.bits);
  }

  restart(n: number): void {
    this.flush();
    this.out.push(0xff, 0xd0 + n);
  }
}
