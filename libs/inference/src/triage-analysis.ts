import type { CtVolume } from '@app/dicom';
import type { ExecutionProvider } from './onnx-session.js';
import type { ModelIdentity, TriageMeasurements } from '@app/triage-contracts';

/**
 * The contract between the inference library and the pipeline: one CT volume in,
 * measurements and masks out. Masks are 0/1 per voxel in the CtVolume layout
 * (voxel (i, j, k) at k·rows·columns + j·columns + i), ready for @app/seg.
 */
export interface TriageMasks {
  rightLung: Uint8Array;
  leftLung: Uint8Array;
  /** Lesion voxels, restricted to the lungs. */
  lesion: Uint8Array;
}

/** Wall-clock milliseconds of each inference stage, for logs and benchmarks. */
export interface InferenceTimings {
  preprocessMs: number;
  lungsMs: number;
  backboneMs: number;
  classifyMs: number;
  postprocessMs: number;
  totalMs: number;
}

export interface TriageAnalysis {
  measurements: TriageMeasurements;
  masks: TriageMasks;
  timings: InferenceTimings;
  /**
   * The lung bounding box in model layout (rows A→P, cols R→L, slices head→feet; half-open), for logs
   * and previews. Rows and cols index the 2 mm in-plane grid the network saw; slices are source slices.
   */
  lungBox: { rows: [number, number]; cols: [number, number]; slices: [number, number] };
}

export interface TriageModelOptions {
  /** Path of the model set's manifest.json; the graphs are resolved beside it and their SHA-256 checked. */
  manifestPath: string;
  /** Tried in order; a failing non-CPU provider falls back to CPU with one log line. Default ['cpu']. */
  executionProviders?: readonly ExecutionProvider[];
  /** Threads per ONNX operator. Default: onnxruntime's choice. */
  intraOpThreads?: number;
  /** Slices per ONNX run: bounds memory. Default 16. */
  batchSlices?: number;
  log?: (line: string) => void;
}

/** A loaded model set: sessions are created once and reused for every study. */
export interface VolumeAnalyzer {
  readonly model: ModelIdentity;
  /** The providers the graphs run on. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** Set when the configured providers failed to load (no GPU, no CUDA libraries) and CPU runs instead. */
  readonly providerFallback?: { requested: readonly ExecutionProvider[]; reason: string };
  analyze(volume: CtVolume): Promise<TriageAnalysis>;
  close(): Promise<void>;
}
