import { create } from '@bufbuild/protobuf';
import { deterministicUuid } from '@app/dicom';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  FailureReason,
  TriageCompletedSchema,
  TriageFailedSchema,
  TriagePriority,
  type TriageCompleted,
  type TriageFailed,
} from './generated/covidtriage/events/v1/events_pb.js';

/** The worker's answers, built from plain values so that callers need no protobuf API. */

export interface DicomObjectInit {
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

export interface TriageCompletedInit {
  correlationId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  model: { id: string; version: string };
  covidProbability: number;
  severityPercent: number;
  lungs: { region: string; lungVolumeMl: number; lesionVolumeMl: number; percentAffected: number }[];
  priority: 'routine' | 'elevated' | 'urgent';
  segmentation: DicomObjectInit;
  structuredReport: DicomObjectInit;
  diagnosticReport: string;
  occurredAt?: Date;
}

const PRIORITY = {
  routine: TriagePriority.ROUTINE,
  elevated: TriagePriority.ELEVATED,
  urgent: TriagePriority.URGENT,
} as const;

/**
 * A TriageCompleted's eventId names the result (study, CT series, model), not the delivery:
 * the same triage answered twice (a re-publish from the stored report after a lost answer)
 * carries the same id, so consumers can drop the repeat.
 */
export function newTriageCompleted(init: TriageCompletedInit): TriageCompleted {
  return create(TriageCompletedSchema, {
    eventId: deterministicUuid(
      'TriageCompleted',
      init.studyInstanceUid,
      init.seriesInstanceUid,
      init.model.id,
      init.model.version,
    ),
    correlationId: init.correlationId,
    studyInstanceUid: init.studyInstanceUid,
    seriesInstanceUid: init.seriesInstanceUid,
    model: init.model,
    covidProbability: init.covidProbability,
    severityPercent: init.severityPercent,
    lungs: init.lungs,
    priority: PRIORITY[init.priority],
    segmentation: init.segmentation,
    structuredReport: init.structuredReport,
    diagnosticReport: init.diagnosticReport,
    occurredAt: timestampFromDate(init.occurredAt ?? new Date()),
    notForClinicalUse: true,
  });
}

export interface TriageFailedInit {
  /** The StudyAvailable's event id; empty when it could not be read. */
  correlationId: string;
  studyInstanceUid: string;
  /** A FailureCode of @app/errors (the enum's names without prefix). */
  code: string;
  message: string;
  attempts: number;
  rejectedSeries?: { seriesInstanceUid: string; reason: string }[];
  occurredAt?: Date;
}

export function newTriageFailed(init: TriageFailedInit): TriageFailed {
  const reason = FailureReason[init.code as keyof typeof FailureReason] ?? FailureReason.INTERNAL;
  return create(TriageFailedSchema, {
    eventId: crypto.randomUUID(),
    correlationId: init.correlationId,
    studyInstanceUid: init.studyInstanceUid,
    reason,
    message: init.message,
    attempts: init.attempts,
    rejectedSeries: init.rejectedSeries ?? [],
    occurredAt: timestampFromDate(init.occurredAt ?? new Date()),
  });
}
