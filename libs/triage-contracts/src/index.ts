/**
 * What a triage result is, shared by the libraries that produce it (inference) and those
 * that report it (sr, fhir, pipeline), so that none of them depends on another's runtime.
 */
export { LUNG_REGIONS } from './triage-measurements.js';
export type { LungRegion, LungRegionMeasurement, ModelIdentity, TriageMeasurements } from './triage-measurements.js';
export { DEFAULT_PRIORITY_RULES, triagePriority } from './triage-priority.js';
export type { PriorityRules, TriagePriorityLevel } from './triage-priority.js';
