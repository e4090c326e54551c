import { writePart10 } from '@app/dicom';
import { PermanentError } from '@app/errors';
import { describe, expect, it } from 'vitest';
import { basicAuth, noAuth } from '@app/credentials';
import { createDicomwebClient } from './client.js';
import { DicomwebResponseError } from './errors.js';
import { boundaryOf, MultipartParser } from './multipart.js';
import { json, orthancError, useFakeServer } from './testing/fake-server.js';
import { caught, clientOf, SERIES, SOP, STUDY } from './testing/support.js';
import type { DicomwebClientOptions } from './transport.js';

/**
 * The operations (paths, queries, arguments, response bodies) against a
 * throwaway HTTP server; retrieval of bulk data is in retrieve.spec.ts, retries,
 * timeouts and error classification in transport.spec.ts.
 */

const server = useFakeServer();
const client = (overrides?: Partial<DicomwebClientOptions>) => clientOf(server, overrides);

/** A minimal Part 10 file of our own writer: just the SOP UIDs. */
function part10(sopInstanceUid: string): Buffer {
  return writePart10({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: sopInstanceUid });
}

function referenced(uid: string) {
  return {
    '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00081155': { vr: 'UI', Value: [uid] },
    '00081190': { vr: 'UR', Value: [`http://archive/studies/${STUDY}/series/${SERIES}/instances/${uid}`] },
  };
}
function failedItem(uid: string, reason: number) {
  return {
    '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00081155': { vr: 'UI', Value: [uid] },
    '00081197': { vr: 'US', Value: [reason] },
  };
}

describe('requests', () => {
  it('encodes QIDO queries, keeping wildcards and PN carets literal', async () => {
    server.handle((_, response) => json(response, 200, []));
    await client().searchStudies({
      PatientName: 'DOE^J*',
      PatientID: 'A&B=C+D %?',
      StudyInstanceUID: ['1.2', '1.3'],
      StudyDate: '20200101-20201231',
      '00080061': 'CT',
      Unused: undefined,
      includefield: ['00081030', 'ModalitiesInStudy'],
      limit: 10,
      offset: 20,
      fuzzymatching: true,
    });
    expect(server.seen[0].url).toBe(
      '/dicom-web/studies?PatientName=DOE^J*&PatientID=A%26B%3DC%2BD%20%25?&StudyInstanceUID=1.2,1.3' +
        '&StudyDate=20200101-20201231&00080061=CT&includefield=00081030&includefield=ModalitiesInStudy' +
        '&limit=10&offset=20&fuzzymatching=true',
    );
  });

  it('builds series and instance search paths and sends the headers', async () => {
    server.handle((_, response) => json(response, 200, [{ '0020000E': { vr: 'UI', Value: [SERIES] } }]));
    const dicomweb = client({ auth: basicAuth('triage', 'pw'), userAgent: 'test-agent' });
    const series = await dicomweb.searchSeries(STUDY, { includefield: 'all' });
    await dicomweb.searchInstances(STUDY);
    await dicomweb.searchInstances(STUDY, SERIES, { limit: 1 });
    expect(series).toEqual([{ '0020000E': { vr: 'UI', Value: [SERIES] } }]);
    expect(server.seen.map((s) => s.url)).toEqual([
      `/dicom-web/studies/${STUDY}/series?includefield=all`,
      `/dicom-web/studies/${STUDY}/instances`,
      `/dicom-web/studies/${STUDY}/series/${SERIES}/instances?limit=1`,
    ]);
    expect(server.seen[0].headers).toMatchObject({
      accept: 'application/dicom+json',
      'user-agent': 'test-agent',
      authorization: `Basic ${Buffer.from('triage:pw').toString('base64')}`,
    });
  });

  it('reads 204 and an empty 200 as no matches', async () => {
    server.handle((_, response, __, index) => {
      response.writeHead(index === 0 ? 204 : 200);
      response.end();
    });
    expect(await client().searchStudies()).toEqual([]);
    expect(await client().searchStudies()).toEqual([]);
  });

  it('refuses a response that is not a DICOM JSON array', async () => {
    server.handle((_, response) => json(response, 200, { not: 'an array' }));
    const error = await caught(client().retrieveSeriesMetadata(STUDY, SERIES));
    expect(error).toBeInstanceOf(DicomwebResponseError);
    expect(error).toBeInstanceOf(PermanentError);
  });

  it('refuses metadata larger than maxJsonBytes with TOO_LARGE, without retrying', async () => {
    const metadata = Array.from({ length: 200 }, (_, i) => referenced(`1.2.3.${i}`));
    server.handle((_, response) => json(response, 200, metadata));
    const error = await caught(client({ maxJsonBytes: 4096 }).retrieveSeriesMetadata(STUDY, SERIES));
    expect(error).toMatchObject({ code: 'TOO_LARGE', message: 'a DICOM JSON response exceeds the limit of 4 KiB' });
    expect(server.seen).toHaveLength(1);
    expect(await client({ maxJsonBytes: 1 << 20 }).retrieveSeriesMetadata(STUDY, SERIES)).toHaveLength(200);
  });

  it('validates arguments before any request', async () => {
    const dicomweb = client();
    const badUid = await caught(dicomweb.retrieveStudyMetadata('1.2.3/../../x'));
    expect(badUid).toBeInstanceOf(PermanentError);
    expect(badUid).toMatchObject({ code: 'MALFORMED_EVENT' });
    expect((badUid as Error).message).not.toContain('../');
    await expect(dicomweb.searchStudies({ 'Patient Name': 'x' })).rejects.toThrow(TypeError);
    await expect(dicomweb.searchStudies({ limit: -1 })).rejects.toThrow(RangeError);
    await expect(dicomweb.retrieveFrames(STUDY, SERIES, SOP, [])).rejects.toThrow(RangeError);
    await expect(dicomweb.retrieveInstance(STUDY, SERIES, SOP, { transferSyntax: 'jpeg' })).rejects.toThrow(TypeError);
    await expect(dicomweb.store([])).rejects.toThrow(RangeError);
    expect(server.seen).toHaveLength(0);
    expect(() => createDicomwebClient({ baseUrl: 'http://u:p@host/x', auth: noAuth(), timeoutMs: 1 })).toThrow(
      /credentials/,
    );
    expect(() => createDicomwebClient({ baseUrl: 'http://host/x?key=1', auth: noAuth(), timeoutMs: 1 })).toThrow(
      /query/,
    );
    expect(() => createDicomwebClient({ baseUrl: 'ftp://host', auth: noAuth(), timeoutMs: 1 })).toThrow(/http/);
  });

  it('strips trailing slashes from the base URL', async () => {
    server.handle((_, response) => json(response, 200, []));
    await client({ baseUrl: `${server.baseUrl}//` }).retrieveStudyMetadata(STUDY);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/metadata`);
  });
});

describe('store (STOW-RS)', () => {
  const files = ['1.2.3.1', '1.2.3.2', '1.2.3.3'].map(part10);

  it('posts a multipart/related body of application/dicom parts and reads the answer', async () => {
    server.handle((_, response) =>
      json(response, 200, {
        '00081198': { vr: 'SQ' },
        '00081199': { vr: 'SQ', Value: files.map((__, i) => referenced(`1.2.3.${i + 1}`)) },
      }),
    );
    const result = await client().store(files, STUDY);
    expect(result).toMatchObject({ status: 200, ok: true, failed: [] });
    expect(result.stored.map((s) => [s.index, s.sopInstanceUid, s.duplicate])).toEqual([
      [0, '1.2.3.1', false],
      [1, '1.2.3.2', false],
      [2, '1.2.3.3', false],
    ]);
    expect(result.stored[0].retrieveUrl).toContain('/instances/1.2.3.1');
    const request = server.seen[0];
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`/dicom-web/studies/${STUDY}`);
    expect(request.headers.accept).toBe('application/dicom+json');
    expect(request.headers['content-type']).toMatch(/^multipart\/related; type="application\/dicom"; boundary=\S+$/);
    const parser = new MultipartParser(boundaryOf(request.headers['content-type']));
    const parts = parser.push(request.body);
    parser.end();
    expect(parts.map((p) => Buffer.from(p.body))).toEqual(files);
    expect(parts.every((p) => p.headers['content-type'] === 'application/dicom')).toBe(true);
  });

  it('treats duplicates (Azure 409/45070) as stored', async () => {
    server.handle((_, response) =>
      json(response, 409, {
        '00081198': { vr: 'SQ', Value: [failedItem('1.2.3.1', 45070), failedItem('1.2.3.2', 0x0111)] },
      }),
    );
    const result = await client().store(files.slice(0, 2));
    expect(result.ok).toBe(true);
    expect(result.stored.map((s) => [s.index, s.duplicate])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(server.seen[0].url).toBe('/dicom-web/studies');
  });

  it('lists failures with their reasons on a 202', async () => {
    server.handle((_, response) =>
      json(
        response,
        202,
        {
          '00081198': { vr: 'SQ', Value: [failedItem('1.2.3.2', 0xa900)] },
          '00081199': { vr: 'SQ', Value: [referenced('1.2.3.1'), referenced('1.2.3.3')] },
        },
        { Warning: '299 archive: "some instances failed"' },
      ),
    );
    const result = await client().store(files);
    expect(result.ok).toBe(false);
    expect(result.stored.map((s) => s.index)).toEqual([0, 2]);
    expect(result.failed).toEqual([
      {
        index: 1,
        sopInstanceUid: '1.2.3.2',
        sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        reason: 0xa900,
        description: 'FailureReason 43264 (0xA900 data set does not match SOP class)',
      },
    ]);
  });

  it("reports parts Orthanc's 400 does not mention, such as a non-DICOM part", async () => {
    server.handle((_, response) => {
      response.writeHead(400);
      response.end(
        JSON.stringify({ '00081198': { vr: 'SQ' }, '00081199': { vr: 'SQ', Value: [referenced('1.2.3.1')] } }),
      );
    });
    const result = await client().store([files[0], Buffer.from('not dicom')]);
    expect(result).toMatchObject({ status: 400, ok: false, stored: [{ index: 0, sopInstanceUid: '1.2.3.1' }] });
    expect(result.failed).toEqual([
      { index: 1, description: 'not a DICOM Part 10 file (no File Meta Information); not acknowledged (HTTP 400)' },
    ]);
  });

  it('raises a permanent error for a 4xx without a STOW response, and retries 5xx', async () => {
    server.handle((_, response) => orthancError(response, 415, 'Unsupported media type'));
    await expect(client().store(files)).rejects.toMatchObject({ status: 415, transient: false });
    server.reset();
    server.handle((_, response, __, index) =>
      index === 0
        ? orthancError(response, 503, 'busy')
        : json(response, 200, { '00081199': { vr: 'SQ', Value: [referenced('1.2.3.1')] } }),
    );
    const result = await client().store([files[0]]);
    expect(result.ok).toBe(true);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1].body).toEqual(server.seen[0].body);
  });
});
