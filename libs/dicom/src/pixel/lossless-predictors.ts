/**
 * Undoes the prediction of one row of one component (ISO 10918-1 H.1.2.1): sample =
 * (prediction + difference) modulo 2^16, where Ra is the sample to the left, Rb the one
 * above and Rc the one above-left. The first row of a scan and of each restart interval
 * predicts from Ra only, starting from `initial` (2^(P - Pt - 1)); every other row's first
 * sample from Rb. Integer arithmetic with arithmetic shifts, as libjpeg (and so DCMTK and
 * GDCM) computes it. `out` holds samples pixel-interleaved, `stride` apart; a Uint16Array
 * store is itself the modulo.
 */
export function undifferenceRow(
  out: Uint16Array,
  base: number,
  stride: number,
  diffs: Int32Array,
  diffBase: number,
  diffStride: number,
  width: number,
  predictor: number,
  firstRow: boolean,
  initial: number,
): void {
  const end = base + width * stride;
  if (firstRow) {
    let ra = (initial + diffs[diffBase]) & 0xffff;
    out[base] = ra;
    for (let o = base + stride, d = diffBase + diffStride; o < end; o += stride, d += diffStride) {
      ra = (ra + diffs[d]) & 0xffff;
      out[o] = ra;
    }
    return;
  }
  const up = width * stride; // distance to the sample above
  let ra = (out[base - up] + diffs[diffBase]) & 0xffff;
  out[base] = ra;
  let o = base + stride;
  let d = diffBase + diffStride;
  switch (predictor) {
    case 1:
      for (; o < end; o += stride, d += diffStride) {
        ra = (ra + diffs[d]) & 0xffff;
        out[o] = ra;
      }
      return;
    case 2:
      for (; o < end; o += stride, d += diffStride) out[o] = out[o - up] + diffs[d];
      return;
    case 3:
      for (; o < end; o += stride, d += diffStride) out[o] = out[o - up - stride] + diffs[d];
      return;
    case 4:
      for (; o < end; o += stride, d += diffStride) {
        out[o] = out[o - stride] + out[o - up] - out[o - up - stride] + diffs[d];
      }
      return;
    case 5:
      for (; o < end; o += stride, d += diffStride) {
        out[o] = out[o - stride] + ((out[o - up] - out[o - up - stride]) >> 1) + diffs[d];
      }
      return;
    case 6:
      for (; o < end; o += stride, d += diffStride) {
        out[o] = out[o - up] + ((out[o - stride] - out[o - up - stride]) >> 1) + diffs[d];
      }
      return;
    default: // 7
      for (; o < end; o += stride, d += diffStride) out[o] = ((out[o - stride] + out[o - up]) >> 1) + diffs[d];
  }
}
