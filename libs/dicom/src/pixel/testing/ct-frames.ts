import { writePart10, type Dataset } from '../../part10-writer.js';
import { SopClass } from '../../sop-classes.js';
import { newUid } from '../../uid.js';
import type { PixelDescription } from '../pixel-description.js';

/**
 * Test inputs for the pixel decoders: CT-like frames with texture (so that the
 * codecs' predictors and entropy coders are exercised, not just runs of one
 * value), the extreme values of the stored range (to catch sign and mask bugs),
 * and Part 10 files that dcmtk can compress.
 */

export interface CtFrameOptions {
  rows?: number;
  columns?: number;
  bitsStored?: number;
  signed?: boolean;
  seed?: number;
}

export interface CtFrame {
  pixel: PixelDescription;
  /** The stored values, as a decoder must return them. */
  stored: Int16Array | Uint16Array;
}

/** Deterministic pseudo-random numbers (mulberry32), so that failures reproduce. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A chest-like slice in HU (air, body, lungs, a bone ring, noise), turned into
 * stored values: unsigned with intercept -1024, or signed HU directly. The first
 * pixels hold the minimum and maximum of the stored range, and a few negative
 * values sit next to large positive ones.
 */
export function ctLikeFrame(options: CtFrameOptions = {}): CtFrame {
  const rows = options.rows ?? 64;
  const columns = options.columns ?? 80;
  const bitsStored = options.bitsStored ?? (options.signed ? 16 : 12);
  const signed = options.signed ?? false;
  const random = prng(options.seed ?? 1);
  const min = signed ? -(2 ** (bitsStored - 1)) : 0;
  const max = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  const offset = signed ? 0 : 1024;
  const stored = signed ? new Int16Array(rows * columns) : new Uint16Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const y = (r + 0.5) / rows - 0.5;
    for (let c = 0; c < columns; c++) {
      const x = (c + 0.5) / columns - 0.5;
      const body = (x / 0.45) ** 2 + (y / 0.35) ** 2;
      let hu = -1000;
      if (body <= 1) hu = body > 0.85 ? 700 : 40;
      for (const centre of [-0.17, 0.17]) {
        if (((x - centre) / 0.12) ** 2 + (y / 0.22) ** 2 <= 1) hu = -850;
      }
      hu += Math.round((random() - 0.5) * 120) + Math.round(40 * x);
      stored[r * columns + c] = Math.min(max, Math.max(min, hu + offset));
    }
  }
  const extremes = [min, max, min + 1, max - 1, 0, signed ? -1 : 1, signed ? -1024 : 1024];
  extremes.forEach((value, i) => (stored[i] = value));
  return {
    pixel: {
      rows,
      columns,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored,
      highBit: bitsStored - 1,
      pixelRepresentation: signed ? 1 : 0,
      photometricInterpretation: 'MONOCHROME2',
    },
    stored,
  };
}

/** An 8-bit monochrome frame (for JPEG baseline): smooth shapes plus mild noise. */
export function eightBitFrame(rows = 64, columns = 64, seed = 3): { pixel: PixelDescription; stored: Uint8Array } {
  const random = prng(seed);
  const stored = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const inside = ((c - columns / 2) / (columns * 0.4)) ** 2 + ((r - rows / 2) / (rows * 0.3)) ** 2 <= 1;
      const value = (inside ? 150 : 30) + Math.round(c * 0.5) + Math.round((random() - 0.5) * 6);
      stored[r * columns + c] = Math.min(255, Math.max(0, value));
    }
  }
  return {
    pixel: {
      rows,
      columns,
      samplesPerPixel: 1,
      bitsAllocated: 8,
      bitsStored: 8,
      highBit: 7,
      pixelRepresentation: 0,
      photometricInterpretation: 'MONOCHROME2',
    },
    stored,
  };
}

/** A single-frame CT Part 10 file (Explicit VR Little Endian) holding `stored`. */
export function ctPart10(pixel: PixelDescription, stored: ArrayBufferView): Buffer {
  const dataset: Dataset = {
    SOPClassUID: SopClass.CtImage,
    SOPInstanceUID: newUid(),
    Modality: 'CT',
    PatientName: 'PHANTOM^PIXEL',
    PatientID: 'PHANTOM-PIXEL',
    StudyInstanceUID: newUid(),
    SeriesInstanceUID: newUid(),
    InstanceNumber: 1,
    SamplesPerPixel: pixel.samplesPerPixel,
    PhotometricInterpretation: pixel.photometricInterpretation,
    Rows: pixel.rows,
    Columns: pixel.columns,
    BitsAllocated: pixel.bitsAllocated,
    BitsStored: pixel.bitsStored,
    HighBit: pixel.highBit,
    PixelRepresentation: pixel.pixelRepresentation,
    RescaleIntercept: pixel.pixelRepresentation === 1 ? 0 : -1024,
    RescaleSlope: 1,
    PixelData: pixel.bitsAllocated === 8 ? { vr: 'OB', value: stored } : stored,
  };
  return writePart10(dataset);
}
