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
export { backMapAxis, backMapMasks, type BackMapAxis, type BackMapInput, type SourceMasks } from './back-mapping.js';
export {
  boxDims,
  checkPoolableVolume,
  findLungBox,
  LungBoxTooSmallError,
  NoLungsFoundError,
  type LungBox,
} from './lung-box.js';
export { countVoxels, measureLungs, voxelVolumeMl, type VoxelCounts } from './lung-measurements.js';
export {
  LUNG_SPLIT_SEED,
  LUNG_SPLIT_STRIDE,
  mulberry32,
  splitLungs,
  twoMeans,
  type LungSplit,
  type TwoMeans,
} from './lung-split.js';
export { onnxTriageGraphs, type TriageGraphs, type TriageSessions } from './triage-graphs.js';
export { analyzeVolume, type PipelineSettings } from './triage-pipeline.js';
export {
  DEFAULT_BATCH_SLICES,
  loadTriageModel,
  ModelFileError,
  pipelineSettings,
  readModelSet,
  type ModelFileProblem,
  type VerifiedModelSet,
} from './load-triage-model.js';
