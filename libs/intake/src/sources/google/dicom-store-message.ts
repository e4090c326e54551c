import { isDicomUid } from '@app/dicom';
import type { InstanceNotification } from '../../notification.js';

/**
 * Cloud Healthcare API's Pub/Sub notification for a DICOM store, one per stored instance
 * (https://cloud.google.com/healthcare-api/docs/dicom-pubsub): `data` is the instance's resource
 * name, projects/{p}/locations/{l}/datasets/{d}/dicomStores/{s}/dicomWeb/studies/{st}/series/{se}/instances/{sop};
 * newer messages also carry attributes (action, storeName, studyInstanceUID, seriesInstanceUID,
 * sopInstanceUID, versionId, modality, …). The resource name is always there and decides; the
 * attributes are not needed.
 */

const RESOURCE =
  /^(projects\/[^/]+\/locations\/[^/]+\/datasets\/[^/]+\/dicomStores\/[^/]+)\/dicomWeb\/studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)$/;
/** A DICOM store's resource name, as INTAKE_GOOGLE_DICOM_STORE names it. */
export const DICOM_STORE_NAME = /^projects\/[^/]+\/locations\/[^/]+\/datasets\/[^/]+\/dicomStores\/[^/]+$/;

export type DicomStoreMessage =
  | { kind: 'notification'; notification: InstanceNotification }
  | { kind: 'foreign-store'; dicomStore: string }
  | { kind: 'malformed'; reason: string };

/** The notification in a message's data (UTF-8 resource name), for the configured store. */
export function dicomStoreMessage(
  data: Buffer | Uint8Array | string,
  config: { store: string; dicomStore: string },
): DicomStoreMessage {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  const match = RESOURCE.exec(text.trim());
  if (!match) return { kind: 'malformed', reason: 'data is not a DICOM instance resource name' };
  const [, dicomStore, study, series, sop] = match as unknown as [string, string, string, string, string];
  if (dicomStore !== config.dicomStore) return { kind: 'foreign-store', dicomStore };
  if (![study, series, sop].every((uid) => isDicomUid(uid))) {
    return { kind: 'malformed', reason: 'resource name holds a UID that is not one' };
  }
  return {
    kind: 'notification',
    notification: {
      store: config.store,
      level: 'instance',
      studyInstanceUid: study,
      seriesInstanceUid: series,
      sopInstanceUid: sop,
    },
  };
}
