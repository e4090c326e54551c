import { isDicomUid } from '@app/dicom';
import type { InstanceNotification } from '../../notification.js';

/**
 * Azure Health Data Services' DICOM events as Event Grid delivers them, in either schema:
 * - Event Grid: {id, topic, subject, eventType, eventTime, data, dataVersion, metadataVersion}
 *   (https://learn.microsoft.com/azure/event-grid/event-schema);
 * - CloudEvents 1.0: {specversion, id, source, subject, type, time, data}
 *   (https://learn.microsoft.com/azure/event-grid/cloud-event-schema).
 * `data` of Microsoft.HealthcareApis.DicomImageCreated/Updated: imageStudyInstanceUid,
 * imageSeriesInstanceUid, imageSopInstanceUid, serviceHostName, sequenceNumber, partitionName
 * (https://learn.microsoft.com/azure/event-grid/event-schema-azure-health-data-services).
 */

export const SUBSCRIPTION_VALIDATION = 'Microsoft.EventGrid.SubscriptionValidationEvent';
const STORED = new Set(['Microsoft.HealthcareApis.DicomImageCreated', 'Microsoft.HealthcareApis.DicomImageUpdated']);

export interface DicomEventsConfig {
  store: string;
  /** The DICOM service's host name (serviceHostName), e.g. ws-dicom.dicom.azurehealthcareapis.com. */
  serviceHost: string;
  /** Only this data partition's events, when set. */
  partition?: string;
}

export type DicomEvent =
  | { kind: 'notification'; notification: InstanceNotification; id: string }
  | { kind: 'validation'; validationCode: string }
  | { kind: 'skipped'; reason: string; id: string }
  | { kind: 'malformed'; reason: string; id?: string };

export function dicomEvent(event: unknown, config: DicomEventsConfig): DicomEvent {
  if (typeof event !== 'object' || event === null) return { kind: 'malformed', reason: 'event is not an object' };
  const fields = event as Record<string, unknown>;
  const type = fields['eventType'] ?? fields['type'];
  const id = typeof fields['id'] === 'string' ? fields['id'] : undefined;
  const data = fields['data'] as Record<string, unknown> | undefined;
  if (typeof type !== 'string' || id === undefined) return { kind: 'malformed', reason: 'event without a type or id' };
  if (type === SUBSCRIPTION_VALIDATION) {
    const code = data?.['validationCode'];
    return typeof code === 'string'
      ? { kind: 'validation', validationCode: code }
      : { kind: 'malformed', reason: 'validation event without a code', id };
  }
  if (!STORED.has(type)) return { kind: 'skipped', reason: 'event type not watched', id };
  if (typeof data !== 'object' || data === null) return { kind: 'malformed', reason: 'event without data', id };
  const study = data['imageStudyInstanceUid'];
  const series = data['imageSeriesInstanceUid'];
  const sop = data['imageSopInstanceUid'];
  if (![study, series, sop].every((uid) => typeof uid === 'string' && isDicomUid(uid))) {
    return { kind: 'malformed', reason: 'event data without valid UIDs', id };
  }
  const host = data['serviceHostName'];
  const partition = data['partitionName'];
  if (host !== config.serviceHost || (config.partition !== undefined && partition !== config.partition)) {
    return { kind: 'skipped', reason: 'unknown-store', id };
  }
  return {
    kind: 'notification',
    id,
    notification: {
      store: config.store,
      level: 'instance',
      studyInstanceUid: study as string,
      seriesInstanceUid: series as string,
      sopInstanceUid: sop as string,
    },
  };
}
