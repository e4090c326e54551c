/**
 * Synthetic CT for demonstrations and tests, reached as `@app/dicom/phantom`: the embedded
 * phantom study (the CLI's `triage phantom` and `triage analyze` without a study) and the
 * generators behind it. Kept out of `@app/dicom` so that the production reading path does
 * not carry them; not named "testing" because the CLI ships it (and the build leaves
 * testing folders out).
 */
export { phantomStudy } from './phantom-study.js';
export { syntheticCtSeries } from './synthetic-ct.js';
export type { SyntheticCtOptions, SyntheticCtSeries, SyntheticInstance } from './synthetic-ct.js';
export { syntheticEnhancedCt } from './synthetic-enhanced-ct.js';
