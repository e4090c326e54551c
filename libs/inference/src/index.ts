export type { LungRegion, LungRegionMeasurement, ModelIdentity, TriageMeasurements } from './triage-measurements.js';
export {
  FM_CHANNELS,
  PYRAMID_BINS,
  PYRAMID_FEATURE_SIZE,
  PYRAMID_LEVELS,
  PYRAMID_MIN_AXIS,
  PyramidPooler,
  pyramidWindows,
  type PoolWindow,
  type PyramidPoolerOptions,
} from './pyramid-pooling.js';
export { OnnxSession, type ExecutionProvider, type FloatTensor, type OnnxSessionOptions } from './onnx-session.js';
export {
  GRAPH_NAMES,
  ModelManifestError,
  modelManifestSchema,
  parseModelManifest,
  PIPELINE_EXPECTATIONS,
  type ExpectedTensor,
  type GraphName,
  type ManifestExpectations,
  type ManifestGraph,
  type ModelManifest,
} from './model-manifest.js';
export {
  applyWindow,
  NonAxialVolumeError,
  PAPER_WINDOW,
  resampleInPlane,
  sourceCoordinate,
  toModelLayout,
  volumeMinimum,
  type AxisMapping,
  type HuWindow,
  type ModelDims,
  type ModelLayoutVolume,
  type ResampledAxis,
  type ResampledVolume,
} from './preprocess.js';
export type {
  InferenceTimings,
  TriageAnalysis,
  TriageMasks,
  TriageModelOptions,
  VolumeAnalyzer,
} from './triage-analysis.js';
