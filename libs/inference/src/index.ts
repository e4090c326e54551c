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
