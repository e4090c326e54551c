import { describe, expect, it } from 'vitest';
import { dicomStoreMessage } from './dicom-store-message.js';

/** Payloads as https://cloud.google.com/healthcare-api/docs/dicom-pubsub documents them. */
const STORE = 'projects/p1/locations/us-central1/datasets/ds/dicomStores/ct';
const config = { store: 'google', dicomStore: STORE };
const name = (store: string, study: string, series: string, sop: string) =>
  `${store}/dicomWeb/studies/${study}/series/${series}/instances/${sop}`;

describe('dicomStoreMessage', () => {
  it("reads the instance's resource name (UTF-8 data) into an instance notification", () => {
    expect(dicomStoreMessage(Buffer.from(name(STORE, '1.2.3', '1.2.3.4', '1.2.3.4.5')), config)).toEqual({
      kind: 'notification',
      notification: {
        store: 'google',
        level: 'instance',
        studyInstanceUid: '1.2.3',
        seriesInstanceUid: '1.2.3.4',
        sopInstanceUid: '1.2.3.4.5',
      },
    });
  });

  it('another store is foreign; anything else is malformed', () => {
    const other = 'projects/p2/locations/us/datasets/ds/dicomStores/ct';
    expect(dicomStoreMessage(name(other, '1.2', '1.3', '1.4'), config)).toEqual({
      kind: 'foreign-store',
      dicomStore: other,
    });
    for (const data of [
      '',
      '{}',
      `${STORE}/dicomWeb/studies/1.2`,
      name(STORE, '1.2', 'x.y', '1.4'),
      name(STORE, '1.2', '1.3', '01.4'),
    ]) {
      expect(dicomStoreMessage(data, config).kind).toBe('malformed');
    }
  });
});
