/**
 * 3D pyramid max pooling of the classification head (notes §1, step 2), computed outside
 * the ONNX graphs and fed slice by slice (notes §7): only the running maxima of the
 * 585 × channels bins are held, never the whole feature-map volume.
 *
 * Rule, per axis of length L and l bins: stride s = floor(L / l), kernel k = L − (l − 1)·s,
 * window i = [i·s, i·s + k). Windows overlap when l does not divide L (this is not
 * AdaptiveMaxPool), so one slice can feed several bins of a level.
 * Layout of the result: levels 1, 2, 4, 8 in order; within a level (channel, h, w, d),
 * channel-major, exactly as training/covid_triage/pyramid_pool.py.
 */

export const PYRAMID_LEVELS: readonly number[] = [1, 2, 4, 8];
/** 1 + 8 + 64 + 512. */
export const PYRAMID_BINS = PYRAMID_LEVELS.reduce((sum, l) => sum + l * l * l, 0);
export const FM_CHANNELS = 8;
/** Feature vector length for the model's 8 channels: 4680. */
export const PYRAMID_FEATURE_SIZE = PYRAMID_BINS * FM_CHANNELS;
/** Every axis, slices included, must be at least the finest level (stride ≥ 1). */
export const PYRAMID_MIN_AXIS = Math.max(...PYRAMID_LEVELS);

/** A half-open window [start, stop) of one axis. */
export interface PoolWindow {
  start: number;
  stop: number;
}

/** The windows of one axis of `length` for `bins` bins. */
export function pyramidWindows(length: number, bins: number): PoolWindow[] {
  if (!Number.isInteger(length) || !Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`pyramid pooling: invalid axis length ${length} or bin count ${bins}`);
  }
  if (length < bins) {
    throw new RangeError(`pyramid pooling: axis of length ${length} is shorter than ${bins} bins`);
  }
  const stride = Math.floor(length / bins);
  const kernel = length - (bins - 1) * stride;
  return Array.from({ length: bins }, (_, i) => ({ start: i * stride, stop: i * stride + kernel }));
}

export interface PyramidPoolerOptions {
  /** Rows of the (cropped) volume, i.e. fm height. */
  height: number;
  /** Columns of the volume, i.e. fm width. */
  width: number;
  /** Number of slices; known before inference. */
  depth: number;
  /** Feature-map channels; the model has 8. */
  channels?: number;
}

interface LevelPlan {
  bins: number;
  /** Offset of this level in the feature vector. */
  offset: number;
  h: PoolWindow[];
  w: PoolWindow[];
  /** For each slice index d, the d-bins whose window contains d. */
  dBinsOfSlice: number[][];
}

/**
 * Accumulates the pyramid-pooled features of an (channels, H, W, D) feature map that
 * arrives one slice (channels, H, W) at a time, in any order.
 */
export class PyramidPooler {
  readonly height: number;
  readonly width: number;
  readonly depth: number;
  readonly channels: number;
  readonly featureSize: number;

  private readonly levels: LevelPlan[];
  private readonly maxima: Float32Array;
  private readonly seen: Uint8Array;
  private seenCount = 0;
  /** Scratch for one level's 2D bin maxima of one slice: channels × l × l. */
  private readonly scratch: Float32Array;

  constructor(options: PyramidPoolerOptions) {
    const { height, width, depth } = options;
    const channels = options.channels ?? FM_CHANNELS;
    if (!Number.isInteger(channels) || channels < 1) {
      throw new RangeError(`pyramid pooling: invalid channel count ${channels}`);
    }
    for (const [name, n] of [
      ['height', height],
      ['width', width],
      ['depth (slices)', depth],
    ] as const) {
      if (!Number.isInteger(n) || n < PYRAMID_MIN_AXIS) {
        throw new RangeError(
          `pyramid pooling: every axis must be an integer >= ${PYRAMID_MIN_AXIS}, got ${name} = ${n} ` +
            `(volume ${height}×${width}×${depth})`,
        );
      }
    }
    this.height = height;
    this.width = width;
    this.depth = depth;
    this.channels = channels;
    this.featureSize = PYRAMID_BINS * channels;

    let offset = 0;
    this.levels = PYRAMID_LEVELS.map((bins) => {
      const dBinsOfSlice: number[][] = Array.from({ length: depth }, () => []);
      pyramidWindows(depth, bins).forEach(({ start, stop }, k) => {
        for (let d = start; d < stop; d++) dBinsOfSlice[d].push(k);
      });
      const plan: LevelPlan = {
        bins,
        offset,
        h: pyramidWindows(height, bins),
        w: pyramidWindows(width, bins),
        dBinsOfSlice,
      };
      offset += channels * bins * bins * bins;
      return plan;
    });
    const finest = Math.max(...PYRAMID_LEVELS);
    this.scratch = new Float32Array(channels * finest * finest);
    this.maxima = new Float32Array(this.featureSize).fill(-Infinity);
    this.seen = new Uint8Array(depth);
  }

  /** Slices added so far. */
  get slicesAdded(): number {
    return this.seenCount;
  }

  /**
   * Folds slice `d` into the running maxima. `fm` is that slice's feature map,
   * shape (channels, H, W), channel-major (as one item of the ONNX `fm[N,8,h,w]` output).
   */
  addSlice(d: number, fm: Float32Array): void {
    if (!Number.isInteger(d) || d < 0 || d >= this.depth) {
      throw new RangeError(`pyramid pooling: slice index ${d} is outside [0, ${this.depth})`);
    }
    if (this.seen[d]) {
      throw new Error(`pyramid pooling: slice ${d} was already added`);
    }
    const plane = this.height * this.width;
    if (fm.length !== this.channels * plane) {
      throw new RangeError(
        `pyramid pooling: slice ${d} has ${fm.length} values, expected ${this.channels}×${this.height}×${this.width}`,
      );
    }
    const { channels, width, scratch, maxima } = this;
    for (const level of this.levels) {
      const { bins, h, w, offset } = level;
      const dBins = level.dBinsOfSlice[d];
      // 2D maxima of this slice for each (channel, hBin, wBin) of the level.
      for (let c = 0; c < channels; c++) {
        const base = c * plane;
        for (let i = 0; i < bins; i++) {
          const hw = h[i];
          for (let j = 0; j < bins; j++) {
            const ww = w[j];
            let m = -Infinity;
            for (let y = hw.start; y < hw.stop; y++) {
              const row = base + y * width;
              for (let x = ww.start; x < ww.stop; x++) {
                const v = fm[row + x];
                if (v > m) m = v;
              }
            }
            scratch[(c * bins + i) * bins + j] = m;
          }
        }
      }
      // Fold into every d-bin whose window contains this slice.
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < bins; i++) {
          for (let j = 0; j < bins; j++) {
            const m = scratch[(c * bins + i) * bins + j];
            const binBase = offset + ((c * bins + i) * bins + j) * bins;
            for (const k of dBins) {
              if (m > maxima[binBase + k]) maxima[binBase + k] = m;
            }
          }
        }
      }
    }
    this.seen[d] = 1;
    this.seenCount++;
  }

  /** The pooled feature vector (a copy). Throws unless every slice 0..D−1 was added. */
  features(): Float32Array {
    if (this.seenCount !== this.depth) {
      const missing: number[] = [];
      for (let d = 0; d < this.depth && missing.length < 10; d++) if (!this.seen[d]) missing.push(d);
      const more = this.depth - this.seenCount > missing.length ? ', …' : '';
      throw new Error(
        `pyramid pooling: ${this.depth - this.seenCount} of ${this.depth} slices missing ` +
          `(${missing.join(', ')}${more})`,
      );
    }
    return Float32Array.from(this.maxima);
  }
}
