import { segUids } from '@app/seg';
import type { StoredTriageReport } from '@app/fhir';
import { srUids } from '@app/sr';
import { describe, expect, it } from 'vitest';
import { findPriorTriage, type IndexedSeries } from './prior-triage.js';

const model = { id: 'm', version: '1' };
const ct = '1.2.826.0.1.1';
const seg = segUids(ct, model).seriesInstanceUid;
const sr = srUids(ct, model).seriesInstanceUid;

const stored: StoredTriageReport = {
  diagnosticReport: 'DiagnosticReport/7',
  covidProbability: 0.5,
  severityPercent: 10,
  lungs: [],
};

function ports(series: IndexedSeries[], hasReport: boolean) {
  const calls = { reports: 0 };
  return {
    calls,
    archive: { seriesOfStudy: async () => series },
    reports: {
      findReport: async () => {
        calls.reports++;
        return hasReport ? stored : undefined;
      },
    },
  };
}

const withOutputs: IndexedSeries[] = [
  { seriesInstanceUid: ct, modality: 'CT' },
  { seriesInstanceUid: seg, modality: 'SEG' },
  { seriesInstanceUid: sr, modality: 'SR' },
];

describe('findPriorTriage', () => {
  it('recognises an event about our own SEG and SR only', async () => {
    const p = ports(withOutputs, false);
    const prior = await findPriorTriage({ studyInstanceUid: '1.2', seriesInstanceUids: [seg, sr] }, model, p);
    expect(prior).toEqual({ kind: 'own-output', series: [seg, sr] });
  });

  it('finds a finished triage: SEG and SR in the archive and the report on the FHIR server', async () => {
    const prior = await findPriorTriage(
      { studyInstanceUid: '1.2', seriesInstanceUids: [] },
      model,
      ports(withOutputs, true),
    );
    expect(prior).toEqual({ kind: 'already-triaged', sourceSeriesInstanceUid: ct, report: stored });
  });

  it('redoes a triage that stopped before the report was written', async () => {
    const prior = await findPriorTriage(
      { studyInstanceUid: '1.2', seriesInstanceUids: [] },
      model,
      ports(withOutputs, false),
    );
    expect(prior).toEqual({ kind: 'none' });
  });

  it('triages a study without our outputs, or with outputs of another model version, without asking FHIR', async () => {
    const p = ports([{ seriesInstanceUid: ct, modality: 'CT' }], true);
    expect(await findPriorTriage({ studyInstanceUid: '1.2', seriesInstanceUids: [ct] }, model, p)).toEqual({
      kind: 'none',
    });
    expect(
      await findPriorTriage(
        { studyInstanceUid: '1.2', seriesInstanceUids: [seg] },
        { id: 'm', version: '2' },
        ports(withOutputs, true),
      ),
    ).toEqual({ kind: 'none' });
    expect(p.calls.reports).toBe(0);
  });
});
