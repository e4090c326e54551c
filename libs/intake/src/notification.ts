import { isDicomUid } from '@app/dicom';

/**
 * What every source turns its platform's messages into: "something was stored in store S",
 * with whatever UIDs the platform gives (Orthanc IDs resolved to UIDs by its adapter). The
 * completion rules work on these alone, whatever the platform.
 */
export interface InstanceNotification {
  /** The configured store it came from (INTAKE_STORE). */
  store: string;
  /** How much was stored: one instance, a series, or "the study changed" (a QIDO poller). */
  level: 'instance' | 'series' | 'study';
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
}

/** Why a notification cannot be used (logged and counted, never thrown), or undefined. */
export function notificationProblem(
  notification: InstanceNotification,
  knownStores: ReadonlySet<string>,
): string | undefined {
  if (!knownStores.has(notification.store)) return 'unknown-store';
  if (!isDicomUid(notification.studyInstanceUid)) return 'malformed';
  if (notification.seriesInstanceUid !== undefined && !isDicomUid(notification.seriesInstanceUid)) return 'malformed';
  if (notification.level !== 'study' && notification.seriesInstanceUid === undefined) return 'malformed';
  return undefined;
}
