/**
 * Huffman tables of lossless JPEG (ISO 10918-1 H.1.2.2, F.2.2.3): a symbol is a difference
 * category SSSS (0–16), followed by SSSS bits of the difference itself (none for 16).
 * Decoding is table-driven: the next LOOKUP_BITS bits index `fast`, which gives the
 * whole difference and the bits it took whenever the code and its extra bits fit in
 * LOOKUP_BITS (nearly every sample of a CT slice); `symbol` gives the category of any
 * code that fits; only longer codes fall back to canonical decoding.
 */

export const LOOKUP_BITS = 12;

export interface HuffmanTable {
  /** (difference << 5) | bits taken; 0 when the code and its extra bits are longer than LOOKUP_BITS. */
  fast: Int32Array;
  /** (category << 5) | code length; 0 when the code is longer than LOOKUP_BITS. */
  symbol: Int32Array;
  /** Largest code of each length (index 1–16), -1 when there is none. */
  maxCode: Int32Array;
  /** Index into `values` of the first code of each length, minus that code. */
  valueOffset: Int32Array;
  values: Uint8Array;
}

/** The difference whose SSSS-bit pattern is `bits` (F.2.2.1 EXTEND). */
export function extend(bits: number, category: number): number {
  return bits < 1 << (category - 1) ? bits - (1 << category) + 1 : bits;
}

/**
 * Builds a table from a DHT segment's 16 counts and its values; returns a problem
 * (a sentence) for a table no encoder could have written.
 */
export function buildHuffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable | string {
  const fast = new Int32Array(1 << LOOKUP_BITS);
  const symbol = new Int32Array(1 << LOOKUP_BITS);
  const maxCode = new Int32Array(18).fill(-1);
  const valueOffset = new Int32Array(18);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const count = counts[length - 1];
    valueOffset[length] = k - code;
    for (let i = 0; i < count; i++, k++, code++) {
      const category = values[k];
      if (category > 16) return `Huffman table holds difference category ${category} (0–16 allowed)`;
      if (length <= LOOKUP_BITS) fillLookup(fast, symbol, code, length, category);
    }
    if (count > 0) maxCode[length] = code - 1;
    if (code > 1 << length) return `Huffman table has more codes of length ${length} than fit`;
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff; // a sentinel: canonical decoding stops at 17 bits as corrupt
  return { fast, symbol, maxCode, valueOffset, values };
}

function fillLookup(fast: Int32Array, symbol: Int32Array, code: number, length: number, category: number): void {
  const free = LOOKUP_BITS - length;
  const first = code << free;
  for (let index = first; index < first + (1 << free); index++) {
    symbol[index] = (category << 5) | length;
    if (category === 16) fast[index] = (32768 << 5) | length;
    else if (category === 0) fast[index] = length;
    else if (length + category <= LOOKUP_BITS) {
      const bits = (index >> (free - category)) & ((1 << category) - 1);
      fast[index] = (extend(bits, category) << 5) | (length + category);
    }
  }
}
