import { extend, LOOKUP_BITS, type HuffmanTable } from './lossless-huffman.js';

/**
 * The entropy-coded segment of a lossless JPEG scan, read as Huffman-coded differences.
 * Bits come MSB first through a 32-bit accumulator refilled a byte at a time; a stuffed
 * 0xFF 0x00 is one 0xFF byte. At a marker the reader stops and feeds zero bits instead
 * ("phantom" bits): valid data only peeks at them, so taking one means the segment
 * ended before its last difference (a truncated or corrupt stream).
 */
export class EntropyReader {
  private acc = 0;
  private bits = 0;
  private phantom = 0;

  constructor(
    private readonly data: Uint8Array,
    public pos: number,
  ) {}

  /**
   * Decodes `count` differences into `out` from `start`, every `stride`-th sample
   * taken with `tables[k % stride]` (one table per component of an interleaved scan).
   * Returns a problem (a sentence) for an impossible code, else undefined.
   */
  decode(out: Int32Array, start: number, count: number, tables: HuffmanTable[]): string | undefined {
    const data = this.data;
    const end = data.length;
    const mask = (1 << LOOKUP_BITS) - 1;
    const stride = tables.length;
    let { acc, bits, pos, phantom } = this;
    let table = tables[0];
    let fast = table.fast;
    const stop = start + count;
    for (let i = start, k = 0; i < stop; i++) {
      if (stride > 1) {
        table = tables[k];
        fast = table.fast;
        k = k + 1 === stride ? 0 : k + 1;
      }
      // Refill to at least 25 bits: a whole lookup, or a long code's 16 bits.
      while (bits <= 24) {
        let byte = 0;
        if (pos < end && (byte = data[pos]) !== 0xff) pos++;
        else if (pos + 1 < end && data[pos + 1] === 0) pos += 2;
        else {
          byte = 0; // a marker (or the end): stay on it
          phantom += 8;
        }
        acc = (acc << 8) | byte;
        bits += 8;
      }
      const entry = fast[(acc >>> (bits - LOOKUP_BITS)) & mask];
      if (entry !== 0) {
        bits -= entry & 31;
        out[i] = entry >> 5;
        continue;
      }
      // A long code, or a short code whose difference bits run past the lookup.
      let category: number;
      const short = table.symbol[(acc >>> (bits - LOOKUP_BITS)) & mask];
      if (short !== 0) {
        bits -= short & 31;
        category = short >> 5;
      } else {
        let length = LOOKUP_BITS + 1;
        let code = (acc >>> (bits - length)) & ((1 << length) - 1);
        while (code > table.maxCode[length]) {
          length++;
          code = (acc >>> (bits - length)) & ((1 << length) - 1);
        }
        if (length > 16) return 'a Huffman code matches no entry of its table';
        bits -= length;
        category = table.values[table.valueOffset[length] + code];
      }
      if (category === 16) out[i] = 32768;
      else if (category === 0) out[i] = 0;
      else {
        while (bits < category) {
          let byte = 0;
          if (pos < end && (byte = data[pos]) !== 0xff) pos++;
          else if (pos + 1 < end && data[pos + 1] === 0) pos += 2;
          else {
            byte = 0;
            phantom += 8;
          }
          acc = (acc << 8) | byte;
          bits += 8;
        }
        bits -= category;
        out[i] = extend((acc >>> bits) & ((1 << category) - 1), category);
      }
    }
    this.acc = acc;
    this.bits = bits;
    this.pos = pos;
    this.phantom = phantom;
    return phantom > bits ? 'the entropy-coded data ended before the last sample (truncated?)' : undefined;
  }

  /** Drops the bits left (fill bits) and moves to the next marker; returns its second byte, or -1 at the end. */
  nextMarker(): number {
    this.acc = this.bits = this.phantom = 0;
    const data = this.data;
    for (; this.pos + 1 < data.length; this.pos++) {
      if (data[this.pos] === 0xff && data[this.pos + 1] !== 0 && data[this.pos + 1] !== 0xff) {
        return data[this.pos + 1];
      }
    }
    return -1;
  }
}
