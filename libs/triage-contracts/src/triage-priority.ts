import type { TriageMeasurements } from './triage-measurements.js';

/** How soon a radiologist should read the study (mirrors the TriagePriority enum of the events). */
export type TriagePriorityLevel = 'routine' | 'elevated' | 'urgent';

export interface PriorityRules {
  /** COVID-19 probability (0..1) at or above which a study is suspected. Default 0.5 (the report's threshold). */
  suspectedProbability: number;
  /**
   * Severity (percent of the more affected lung) at or above which a suspected study is urgent.
   * Default 25: the lower bound of CT-2 on the Moscow CT-0…CT-4 scale the paper's data uses.
   */
  urgentSeverityPercent: number;
}

export const DEFAULT_PRIORITY_RULES: PriorityRules = { suspectedProbability: 0.5, urgentSeverityPercent: 25 };

/**
 * Suspected and extensive → urgent; suspected → elevated; otherwise routine.
 * A worklist ordering, not a diagnosis: the model is not fit for clinical use.
 */
export function triagePriority(
  measurements: Pick<TriageMeasurements, 'covidProbability' | 'severityPercent'>,
  rules: PriorityRules = DEFAULT_PRIORITY_RULES,
): TriagePriorityLevel {
  if (measurements.covidProbability < rules.suspectedProbability) return 'routine';
  return measurements.severityPercent >= rules.urgentSeverityPercent ? 'urgent' : 'elevated';
}
