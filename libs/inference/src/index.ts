/**
 * The model at run time: load a verified model set, analyse a CT volume. Only what other
 * libraries, the apps and the integration tests use is exported; the measurements' types
 * live in @app/triage-contracts.
 */
export { loadTriageModel } from './load-triage-model.js';
export { readModelIdentity } from './model-identity.js';
export { NoLungsFoundError } from './lung-box.js';
export { OnnxSession } from './onnx-session.js';
export { PYRAMID_FEATURE_SIZE, PyramidPooler } from './pyramid-pooling.js';
export type { InferenceTimings, TriageAnalysis, VolumeAnalyzer } from './triage-analysis.js';
