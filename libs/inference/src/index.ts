export type { LungRegion, LungRegionMeasurement, ModelIdentity, TriageMeasurements } from './triage-measurements.js';
