import type { TriageMeasurements } from '@app/triage-contracts';
import { describe, expect, it } from 'vitest';
import { readStoredReport } from './stored-report.js';
import { buildTriageBundle } from './triage-bundle.js';

/** Round trip: the bundle we write, as a server returns it from a search with _include. */

const model = { id: 'covid-triage-multitask-demo', name: 'Demo', version: '0.1.0' };
const STUDY = '1.2.826.0.1.3680043.8.498.1';
const measurements: TriageMeasurements = {
  model,
  covidProbability: 0.8734,
  severityPercent: 23.456,
  lungs: [
    { region: 'left', lungVolumeMl: 2400.04, lesionVolumeMl: 562.96, percentAffected: 23.456 },
    { region: 'right', lungVolumeMl: 2700, lesionVolumeMl: 270, percentAffected: 10 },
    { region: 'both', lungVolumeMl: 5100.04, lesionVolumeMl: 832.96, percentAffected: 16.33 },
  ],
};

/** The written resources with server ids, the report first (as `match`), its Observations included. */
function searchset(drop?: string): fhir4.Bundle {
  const written = buildTriageBundle({
    study: { studyInstanceUid: STUDY, seriesInstanceUid: '1.2.826.0.1.3680043.8.498.2' },
    patient: { value: 'PID-1' },
    measurements,
    seg: { sopInstanceUid: '1.2.826.0.1.3680043.8.498.10', seriesInstanceUid: '1.2.826.0.1.3680043.8.498.11' },
    sr: { sopInstanceUid: '1.2.826.0.1.3680043.8.498.20', seriesInstanceUid: '1.2.826.0.1.3680043.8.498.21' },
    timestamp: new Date('2024-05-06T07:08:09Z'),
    identifierSystem: 'https://example.org/id',
  });
  const resources = written.entry!.map((e, i) => ({ ...e.resource!, id: String(100 + i) }));
  const report = resources.find((r) => r.resourceType === 'DiagnosticReport')!;
  const observations = resources.filter(
    (r) => r.resourceType === 'Observation' && !r.identifier?.[0].value?.endsWith(`/${drop}`),
  );
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: [report, ...observations].map((resource) => ({ resource })),
  };
}

describe('readStoredReport', () => {
  it('gives back the measurements as stored (rounded) and the report reference', () => {
    const stored = readStoredReport(searchset(), STUDY, model)!;
    expect(stored.diagnosticReport).toMatch(/^DiagnosticReport\/\d+$/);
    expect(stored.covidProbability).toBeCloseTo(0.8734, 4);
    expect(stored.severityPercent).toBe(23.46);
    expect(stored.lungs).toEqual([
      { region: 'left', lungVolumeMl: 2400, lesionVolumeMl: 563, percentAffected: 23.46 },
      { region: 'right', lungVolumeMl: 2700, lesionVolumeMl: 270, percentAffected: 10 },
      { region: 'both', lungVolumeMl: 5100, lesionVolumeMl: 833, percentAffected: 16.33 },
    ]);
  });

  it('is undefined without the report, or with an Observation missing', () => {
    expect(readStoredReport({ resourceType: 'Bundle', type: 'searchset' }, STUDY, model)).toBeUndefined();
    expect(readStoredReport(searchset('lung-volume/right'), STUDY, model)).toBeUndefined();
    expect(readStoredReport(searchset(), STUDY, { ...model, version: '0.2.0' })).toBeUndefined();
  });
});
