import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from './event-codec.js';
import { FailureReason, TriageCompletedSchema, TriageFailedSchema, TriagePriority } from './index.js';
import { newTriageCompleted, newTriageFailed } from './result-events.js';

const object = (n: number) => ({
  seriesInstanceUid: `1.2.${n}`,
  sopInstanceUid: `1.2.${n}.1`,
  sopClassUid: '1.2.840.1',
});

describe('result events', () => {
  it('builds a TriageCompleted that round-trips through the JSON codec', () => {
    const event = newTriageCompleted({
      correlationId: 'abc',
      studyInstanceUid: '1.2.3',
      seriesInstanceUid: '1.2.4',
      model: { id: 'm', version: '1' },
      covidProbability: 0.7,
      severityPercent: 31.5,
      lungs: [{ region: 'both', lungVolumeMl: 4000, lesionVolumeMl: 1000, percentAffected: 25 }],
      priority: 'urgent',
      segmentation: object(5),
      structuredReport: object(6),
      diagnosticReport: 'DiagnosticReport/7',
    });
    const back = decodeEvent(TriageCompletedSchema, encodeEvent(TriageCompletedSchema, event).value);
    expect(back.priority).toBe(TriagePriority.URGENT);
    expect(back.segmentation?.sopInstanceUid).toBe('1.2.5.1');
    expect(back.structuredReport?.seriesInstanceUid).toBe('1.2.6');
    expect(back.notForClinicalUse).toBe(true);
    expect(back.eventId).not.toBe('');
  });

  it('maps failure codes onto the reason enum, unknown ones to INTERNAL', () => {
    const failed = newTriageFailed({
      correlationId: '',
      studyInstanceUid: '',
      code: 'NO_USABLE_SERIES',
      message: 'none',
      attempts: 1,
      rejectedSeries: [{ seriesInstanceUid: '1.2', reason: 'localizer' }],
    });
    const json = JSON.parse(encodeEvent(TriageFailedSchema, failed).value.toString()) as Record<string, unknown>;
    expect(json.reason).toBe('FAILURE_REASON_NO_USABLE_SERIES');
    expect(
      newTriageFailed({ correlationId: '', studyInstanceUid: '', code: 'NOPE', message: 'x', attempts: 1 }).reason,
    ).toBe(FailureReason.INTERNAL);
  });
});
