import type { LungRegion, LungRegionMeasurement } from '@app/triage-contracts';
import { LUNG_REGIONS } from '@app/triage-contracts';
import { triageReportKey } from './identifiers.js';

/**
 * Our report of a study as the FHIR server holds it, read back from a search of the
 * DiagnosticReport by its identifier with `_include=DiagnosticReport:result`. Lets the
 * worker answer a study it already triaged (a TriageCompleted lost on the way) from what
 * was stored. Values are as stored: percentages rounded to 2 decimals, volumes to 0.1 mL.
 */
export interface StoredTriageReport {
  /** e.g. "DiagnosticReport/123". */
  diagnosticReport: string;
  covidProbability: number;
  severityPercent: number;
  lungs: LungRegionMeasurement[];
}

/** The report in a searchset, or undefined when it or one of its Observations is missing. */
export function readStoredReport(
  bundle: fhir4.Bundle,
  studyInstanceUid: string,
  model: { id: string; version: string },
): StoredTriageReport | undefined {
  const resources = (bundle.entry ?? []).flatMap((entry) =>
    entry.resource ? [entry.resource as fhir4.FhirResource] : [],
  );
  const report = resources.find((r): r is fhir4.DiagnosticReport => r.resourceType === 'DiagnosticReport');
  if (!report?.id) return undefined;
  const key = triageReportKey(studyInstanceUid, model);
  const values = new Map<string, number>();
  for (const resource of resources) {
    if (resource.resourceType !== 'Observation') continue;
    const value = resource.valueQuantity?.value;
    for (const identifier of resource.identifier ?? []) {
      if (identifier.value?.startsWith(`${key}/`) && typeof value === 'number') {
        values.set(identifier.value.slice(key.length + 1), value);
      }
    }
  }
  const probabilityPercent = values.get('covid-probability');
  const severityPercent = values.get('severity');
  const lungs = LUNG_REGIONS.map((region) => lungOf(values, region));
  if (probabilityPercent === undefined || severityPercent === undefined || lungs.some((l) => l === undefined)) {
    return undefined;
  }
  return {
    diagnosticReport: `DiagnosticReport/${report.id}`,
    covidProbability: probabilityPercent / 100,
    severityPercent,
    lungs: lungs as LungRegionMeasurement[],
  };
}

function lungOf(values: Map<string, number>, region: LungRegion): LungRegionMeasurement | undefined {
  const percentAffected = values.get(`lung-percent-affected/${region}`);
  const lesionVolumeMl = values.get(`lung-lesion-volume/${region}`);
  const lungVolumeMl = values.get(`lung-volume/${region}`);
  if (percentAffected === undefined || lesionVolumeMl === undefined || lungVolumeMl === undefined) return undefined;
  return { region, lungVolumeMl, lesionVolumeMl, percentAffected };
}
