import { encodeDataset } from '@app/dicom';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { describe, expect, it } from 'vitest';
import { interpretStoreResponse, identifyInstance } from './stow.js';

describe('identifyInstance', () => {
  it('reads the SOP UIDs and transfer syntax of a Part 10 file', () => {
    const series = syntheticCtSeries({ slices: 1, rows: 4, columns: 4 });
    const instance = series.instances[0];
    expect(identifyInstance(instance.bytes)).toEqual({
      sopInstanceUid: instance.sopInstanceUid,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
  });

  it('falls back to the dataset when the File Meta Information lacks the SOP UIDs', () => {
    // As in the real sample data: group 0002 holds only the transfer syntax.
    const meta = encodeDataset({ TransferSyntaxUID: '1.2.840.10008.1.2.1' });
    const bytes = Buffer.concat([
      Buffer.alloc(128),
      Buffer.from('DICM'),
      encodeDataset({ FileMetaInformationGroupLength: meta.length }),
      meta,
      encodeDataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: '1.2.3.4', Modality: 'CT' }),
    ]);
    expect(identifyInstance(bytes)).toEqual({
      sopInstanceUid: '1.2.3.4',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
  });

  it('returns nothing for bytes that are not Part 10', () => {
    expect(identifyInstance(Buffer.from('hello'))).toEqual({});
    expect(identifyInstance(Buffer.alloc(300))).toEqual({});
  });
});

describe('interpretStoreResponse', () => {
  const sent = [{ sopInstanceUid: '1.1' }, { sopInstanceUid: '1.2' }];

  it('counts a 200 without a body as all stored', () => {
    const result = interpretStoreResponse(200, undefined, sent);
    expect(result.ok).toBe(true);
    expect(result.stored.map((s) => s.index)).toEqual([0, 1]);
  });

  it('fails instances a response does not mention', () => {
    const result = interpretStoreResponse(200, { '00081199': { vr: 'SQ', Value: [] } }, sent);
    expect(result.ok).toBe(false);
    expect(result.failed.map((f) => [f.index, f.description])).toEqual([
      [0, 'not acknowledged in the STOW response (HTTP 200)'],
      [1, 'not acknowledged in the STOW response (HTTP 200)'],
    ]);
  });

  it('matches repeated UIDs one by one and keeps failures without a UID', () => {
    const body = {
      '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.1'] } }] },
      '00081198': { vr: 'SQ', Value: [{ '00081197': { vr: 'US', Value: [0xc000] } }] },
    };
    const result = interpretStoreResponse(202, body, [{ sopInstanceUid: '1.1' }, { sopInstanceUid: '1.1' }]);
    expect(result.stored).toEqual([{ index: 0, sopInstanceUid: '1.1', duplicate: false }]);
    expect(result.failed).toEqual([
      { index: 1, sopInstanceUid: '1.1', description: 'not acknowledged in the STOW response (HTTP 202)' },
      { reason: 0xc000, description: 'FailureReason 49152 (0xC000 cannot understand)' },
    ]);
  });
});
