/**
 * What the model produces for one study, in numbers: the contract between the
 * inference library and the encoders and reports (DICOM SR, FHIR, events). The masks travel
 * separately (see @app/seg). Values are never presented as fit for clinical use.
 */

export interface ModelIdentity {
  /** Stable identifier from the model manifest, e.g. "covid-triage-multitask-demo". */
  id: string;
  /** Human-readable name, e.g. "COVID-19 CT triage (Goncharov et al. 2021), demonstration weights". */
  name: string;
  /** Version of the weights, from the manifest, e.g. "0.1.0". */
  version: string;
}

export type LungRegion = 'left' | 'right' | 'both';
/** Every region, in the order the reports list them. */
export const LUNG_REGIONS: readonly LungRegion[] = ['left', 'right', 'both'];

export interface LungRegionMeasurement {
  region: LungRegion;
  lungVolumeMl: number;
  /** Volume of lesion voxels inside this region's lung mask. */
  lesionVolumeMl: number;
  /** lesionVolumeMl / lungVolumeMl × 100, 0 to 100. */
  percentAffected: number;
}

export interface TriageMeasurements {
  model: ModelIdentity;
  /** Study-level probability of COVID-19 from the classification head, 0 to 1. */
  covidProbability: number;
  /** The paper's severity: the larger lesion fraction of the two lungs, in percent (0 to 100). */
  severityPercent: number;
  /** One entry per region: left, right and both lungs. */
  lungs: LungRegionMeasurement[];
}
