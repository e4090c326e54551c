import type { StoredPixels } from './pixel-description.js';

/** The Modality LUT of a CT frame: HU = stored × slope + intercept. */
export interface Rescale {
  slope: number;
  intercept: number;
  /** int16 holds every HU of an integral rescale (clamped beyond it); float32 for the others. */
  output: 'int16' | 'float32';
}

/** A frame in HU, with the extremes of its true values (before any clamping to Int16). */
export interface RescaledFrame {
  values: Int16Array | Float32Array;
  min: number;
  max: number;
}

/**
 * Applies the rescale and finds the extremes in the same pass, so that the volume's
 * sanity check needs no pass of its own and both run on the decoding threads. Takes
 * `stored` over: an Int16 result reuses a 16-bit frame's buffer.
 */
export function rescaleFrame(stored: StoredPixels, { slope, intercept, output }: Rescale): RescaledFrame {
  const length = stored.length;
  let min = Infinity;
  let max = -Infinity;
  if (output === 'float32') {
    const values = new Float32Array(length);
    for (let p = 0; p < length; p++) {
      values[p] = stored[p] * slope + intercept;
      const value = values[p]; // as stored: rounded to float32
      if (value < min) min = value;
      if (value > max) max = value;
    }
    return { values, min, max };
  }
  // A 16-bit frame that owns its buffer is replaced in place (each value read before its write).
  const inPlace = stored.BYTES_PER_ELEMENT === 2 && stored.byteLength === stored.buffer.byteLength;
  const values = inPlace ? new Int16Array(stored.buffer) : new Int16Array(length);
  for (let p = 0; p < length; p++) {
    const value = stored[p] * slope + intercept;
    if (value < min) min = value;
    if (value > max) max = value;
    values[p] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
  }
  return { values, min, max };
}
