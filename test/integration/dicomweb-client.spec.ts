import { syntheticCtSeries } from '@app/dicom/phantom';
import { basicAuth } from '@app/credentials';
import {
  createDicomwebClient,
  DicomwebAccessRefusedError,
  DicomwebHttpError,
  DicomwebUnavailableError,
  identifyInstance,
  type DicomwebClient,
  type RetryEvent,
} from '@app/dicomweb';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';

/**
 * The DICOMweb client against the real Orthanc of the local stack
 * (`npm run stack:up`): STOW, QIDO, WADO metadata, series streaming, single
 * instances, frames, and the error paths. The studies it creates are deleted
 * afterwards through Orthanc's REST API.
 */

const IMAGE_POSITION_PATIENT = '00200032';
const SOP_INSTANCE_UID = '00080018';
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';

function client(overrides: Partial<Parameters<typeof createDicomwebClient>[0]> = {}): DicomwebClient {
  return createDicomwebClient({
    baseUrl: stack.dicomwebUrl,
    auth: basicAuth(stack.orthancUsername, stack.orthancPassword),
    timeoutMs: 30_000,
    retry: { attempts: 3, initialDelayMs: 200, maxDelayMs: 2_000 },
    ...overrides,
  });
}

const created = new Set<string>();

/** Deletes a study with Orthanc's own REST API (DICOMweb has no delete). */
async function deleteStudy(studyUid: string): Promise<void> {
  const headers = { Authorization: stack.orthancAuthorization };
  const lookup = await fetch(`${stack.orthancUrl}/tools/lookup`, { method: 'POST', headers, body: studyUid });
  const found = (await lookup.json()) as { ID: string; Type: string }[];
  for (const { ID } of found.filter((item) => item.Type === 'Study')) {
    await fetch(`${stack.orthancUrl}/studies/${ID}`, { method: 'DELETE', headers });
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function megabytes(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
});

afterAll(async () => {
  for (const studyUid of created) await deleteStudy(studyUid);
});

describe('DICOMweb client against Orthanc', () => {
  const series = syntheticCtSeries({ slices: 12, rows: 64, columns: 64 });
  const bySop = new Map(series.instances.map((instance) => [instance.sopInstanceUid, instance]));
  const dicomweb = client();
  created.add(series.studyInstanceUid);

  it('stores a synthetic series with STOW-RS', async () => {
    const result = await dicomweb.store(
      series.instances.map((instance) => instance.bytes),
      series.studyInstanceUid,
    );
    expect(result).toMatchObject({ status: 200, ok: true, failed: [] });
    expect(result.stored.map((s) => s.index)).toEqual(series.instances.map((_, i) => i));
    expect(result.stored.map((s) => s.sopInstanceUid)).toEqual(series.instances.map((i) => i.sopInstanceUid));
    expect(result.stored.every((s) => s.retrieveUrl?.includes(s.sopInstanceUid))).toBe(true);
  });

  it('stores the same instances again without failures (idempotent)', async () => {
    const result = await dicomweb.store(series.instances.slice(0, 2).map((instance) => instance.bytes));
    expect(result.ok).toBe(true);
    expect(result.stored).toHaveLength(2);
  });

  it('finds the study with QIDO-RS, wildcards and PN carets included', async () => {
    const studyUid = series.studyInstanceUid;
    const studies = await dicomweb.searchStudies({ StudyInstanceUID: studyUid, includefield: ['00081030'] });
    expect(studies).toHaveLength(1);
    expect(studies[0]['00081030']?.Value).toEqual(['Synthetic chest CT phantom']);
    // Orthanc does not percent-decode QIDO values: these only match because `?` and `^` travel literally.
    expect(await dicomweb.searchStudies({ StudyInstanceUID: studyUid, PatientID: 'PHANTOM-000?' })).toHaveLength(1);
    expect(await dicomweb.searchStudies({ StudyInstanceUID: studyUid, PatientName: 'PHANTOM^SYN*' })).toHaveLength(1);
    expect(await dicomweb.searchStudies({ StudyInstanceUID: [studyUid, '1.2.3.4'] })).toHaveLength(1);
    expect(await dicomweb.searchStudies({ StudyInstanceUID: '1.2.3.4.5.6.7.8.9' })).toEqual([]);
  });

  it('finds the series and the instances with QIDO-RS', async () => {
    const found = await dicomweb.searchSeries(series.studyInstanceUid, { includefield: ['00201209'] });
    expect(found).toHaveLength(1);
    expect(found[0]['0020000E']?.Value).toEqual([series.seriesInstanceUid]);
    expect(found[0]['00080060']?.Value).toEqual(['CT']);
    expect(found[0]['00201209']?.Value).toEqual([series.instances.length]);

    const instances = await dicomweb.searchInstances(series.studyInstanceUid, series.seriesInstanceUid);
    expect(new Set(instances.map((i) => i[SOP_INSTANCE_UID]?.Value?.[0]))).toEqual(new Set(bySop.keys()));
    const page = await dicomweb.searchInstances(series.studyInstanceUid, undefined, { limit: 5, offset: 10 });
    expect(page).toHaveLength(2);
  });

  it('returns ImagePositionPatient for every instance in the series metadata', async () => {
    const metadata = await dicomweb.retrieveSeriesMetadata(series.studyInstanceUid, series.seriesInstanceUid);
    expect(metadata).toHaveLength(series.instances.length);
    for (const dataset of metadata) {
      const instance = bySop.get(dataset[SOP_INSTANCE_UID]?.Value?.[0] as string)!;
      const position = dataset[IMAGE_POSITION_PATIENT]?.Value as number[];
      expect(position).toHaveLength(3);
      position.forEach((value, axis) => expect(value).toBeCloseTo(instance.position[axis], 3));
    }
    const studyMetadata = await dicomweb.retrieveStudyMetadata(series.studyInstanceUid);
    expect(studyMetadata).toHaveLength(series.instances.length);
  });

  it('streams the series back, every instance byte for byte', async () => {
    let count = 0;
    for await (const bytes of dicomweb.retrieveSeries(series.studyInstanceUid, series.seriesInstanceUid)) {
      const uid = identifyInstance(bytes).sopInstanceUid!;
      expect(Buffer.from(bytes).equals(bySop.get(uid)!.bytes)).toBe(true);
      count++;
    }
    expect(count).toBe(series.instances.length);
  });

  it('asks Orthanc to transcode when a transfer syntax is given', async () => {
    const syntaxes = new Set<string | undefined>();
    for await (const bytes of dicomweb.retrieveSeries(series.studyInstanceUid, series.seriesInstanceUid, {
      transferSyntax: IMPLICIT_VR_LITTLE_ENDIAN,
    })) {
      syntaxes.add(identifyInstance(bytes).transferSyntaxUid);
    }
    expect(syntaxes).toEqual(new Set([IMPLICIT_VR_LITTLE_ENDIAN]));
  });

  it('retrieves a single instance', async () => {
    const instance = series.instances[5];
    const bytes = await dicomweb.retrieveInstance(
      series.studyInstanceUid,
      series.seriesInstanceUid,
      instance.sopInstanceUid,
    );
    expect(Buffer.from(bytes).equals(instance.bytes)).toBe(true);
  });

  it('retrieves the raw frame bytes, equal to the stored pixel data', async () => {
    const instance = series.instances[3];
    const frames = await dicomweb.retrieveFrames(
      series.studyInstanceUid,
      series.seriesInstanceUid,
      instance.sopInstanceUid,
      [1],
    );
    // The synthetic series stores HU + 1024 as unsigned 16-bit little endian (RescaleIntercept -1024).
    const stored = Uint16Array.from(instance.hu, (hu) => hu + 1024);
    expect(frames).toHaveLength(1);
    expect(Buffer.from(frames[0]).equals(Buffer.from(stored.buffer))).toBe(true);
  });

  it('reports wrong credentials as a clear 401 access refusal (the study waits for an operator, not parked)', async () => {
    const wrong = client({ auth: basicAuth(stack.orthancUsername, 'not-the-password') });
    const error = await caught(wrong.searchStudies({ StudyInstanceUID: series.studyInstanceUid }));
    expect(error).toBeInstanceOf(DicomwebAccessRefusedError);
    expect(error).toMatchObject({ status: 401, transient: true });
    expect((error as Error).message).toMatch(/HTTP 401 Unauthorized: the archive rejected the credentials/);
    expect((error as Error).message).not.toContain('not-the-password');
    expect((error as Error).message).not.toContain(stack.orthancPassword);
  });

  it('reports an unknown study as STUDY_NOT_FOUND', async () => {
    const unknown = '1.2.826.0.1.3680043.8.498.999999999';
    const metadata = await caught(dicomweb.retrieveStudyMetadata(unknown));
    expect(metadata).toBeInstanceOf(DicomwebHttpError);
    expect(metadata).toMatchObject({ code: 'STUDY_NOT_FOUND', status: 404, transient: false });
    expect((metadata as DicomwebHttpError).reason).toContain('Accessing an inexistent item');
    const streamed = await caught(
      (async () => {
        for await (const _ of dicomweb.retrieveSeries(unknown, series.seriesInstanceUid)) {
          // nothing arrives
        }
      })(),
    );
    expect(streamed).toMatchObject({ code: 'STUDY_NOT_FOUND', status: 404 });
  });

  it('reports an unreachable server as transient after the configured attempts', async () => {
    const events: RetryEvent[] = [];
    const unreachable = client({
      baseUrl: `http://127.0.0.1:${await closedPort()}/dicom-web`,
      retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
      onRetry: (event) => events.push(event),
    });
    const error = await caught(unreachable.searchStudies());
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect(error).toMatchObject({ transient: true, attempts: 3, code: 'RETRIES_EXHAUSTED' });
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(events.map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('reports a non-DICOM part as a failed instance, and stores the rest', async () => {
    const extra = syntheticCtSeries({ slices: 1, rows: 8, columns: 8 });
    created.add(extra.studyInstanceUid);
    const result = await dicomweb.store([extra.instances[0].bytes, Buffer.from('this is not a DICOM file')]);
    expect(result.status).toBe(400);
    expect(result.ok).toBe(false);
    expect(result.stored).toMatchObject([{ index: 0, sopInstanceUid: extra.instances[0].sopInstanceUid }]);
    expect(result.failed).toEqual([
      { index: 1, description: 'not a DICOM Part 10 file (no File Meta Information); not acknowledged (HTTP 400)' },
    ]);
  });

  it('reports a study UID mismatch with its FailureReason', async () => {
    const extra = syntheticCtSeries({ slices: 1, rows: 8, columns: 8 });
    const result = await dicomweb.store([extra.instances[0].bytes], '1.2.826.0.1.3680043.8.498.424242');
    expect(result).toMatchObject({ status: 409, ok: false, stored: [] });
    expect(result.failed).toMatchObject([{ index: 0, sopInstanceUid: extra.instances[0].sopInstanceUid, reason: 272 }]);
  });
});

describe('streaming a large series', () => {
  const SLICES = 200;
  const SIZE = 512;
  const BATCH = 20;
  const digests = new Map<string, string>();
  let studyUid = '';
  let seriesUid = '';
  let seriesBytes = 0;
  let storeSeconds = 0;
  const dicomweb = client();

  // gc() for measuring retained memory, without changing the test runner's flags.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  beforeAll(async () => {
    // Built and stored in batches so that the test itself never holds the whole series.
    for (let first = 0; first < SLICES; first += BATCH) {
      const batch = syntheticCtSeries({
        slices: BATCH,
        rows: SIZE,
        columns: SIZE,
        origin: [-192, -192, -100 - first * 2],
        ...(studyUid ? { studyInstanceUid: studyUid, seriesInstanceUid: seriesUid } : {}),
      });
      studyUid = batch.studyInstanceUid;
      seriesUid = batch.seriesInstanceUid;
      created.add(studyUid);
      for (const instance of batch.instances) {
        digests.set(instance.sopInstanceUid, createHash('sha256').update(instance.bytes).digest('hex'));
        seriesBytes += instance.bytes.length;
      }
      const started = performance.now();
      const result = await dicomweb.store(
        batch.instances.map((instance) => instance.bytes),
        studyUid,
      );
      storeSeconds += (performance.now() - started) / 1000;
      if (!result.ok) throw new Error(`STOW failed: ${JSON.stringify(result.failed)}`);
    }
  }, 300_000);

  it('holds about one instance at a time while streaming', async ({ annotate }) => {
    const measure = async (forceGc: boolean) => {
      gc();
      const before = process.memoryUsage();
      let peakRss = 0;
      let peakBuffers = 0;
      let count = 0;
      const started = performance.now();
      for await (const bytes of dicomweb.retrieveSeries(studyUid, seriesUid)) {
        const uid = identifyInstance(bytes).sopInstanceUid!;
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(digests.get(uid));
        count++;
        if (forceGc) {
          if (count % 4 !== 0) continue;
          gc();
        }
        const now = process.memoryUsage();
        peakRss = Math.max(peakRss, now.rss - before.rss);
        peakBuffers = Math.max(peakBuffers, now.arrayBuffers - before.arrayBuffers);
      }
      const seconds = (performance.now() - started) / 1000;
      return { count, seconds, peakRss, peakBuffers };
    };

    const natural = await measure(false);
    const retained = await measure(true);
    expect(natural.count).toBe(SLICES);
    expect(retained.count).toBe(SLICES);

    // For comparison: the naive way, the whole response in one buffer.
    gc();
    const before = process.memoryUsage();
    const started = performance.now();
    const response = await fetch(`${stack.dicomwebUrl}/studies/${studyUid}/series/${seriesUid}`, {
      headers: {
        Authorization: stack.orthancAuthorization,
        Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
      },
    });
    const whole = await response.arrayBuffer();
    const naiveSeconds = (performance.now() - started) / 1000;
    const naiveBuffers = process.memoryUsage().arrayBuffers - before.arrayBuffers;
    expect(whole.byteLength).toBeGreaterThan(seriesBytes);

    const report = [
      `series: ${SLICES} instances of ${SIZE}x${SIZE}, ${megabytes(seriesBytes)} MB;` +
        ` STOW in ${SLICES / BATCH} requests: ${storeSeconds.toFixed(2)} s`,
      `streamed: ${natural.seconds.toFixed(2)} s (${(SLICES / natural.seconds).toFixed(0)} instances/s,` +
        ` ${megabytes(seriesBytes / natural.seconds)} MB/s)`,
      `peak growth while streaming (no forced GC): RSS ${megabytes(natural.peakRss)} MB,` +
        ` ArrayBuffers ${megabytes(natural.peakBuffers)} MB`,
      `peak retained while streaming (GC after every 4th instance): RSS ${megabytes(retained.peakRss)} MB,` +
        ` ArrayBuffers ${megabytes(retained.peakBuffers)} MB`,
      `naive arrayBuffer(): ${naiveSeconds.toFixed(2)} s, ArrayBuffers ${megabytes(naiveBuffers)} MB`,
    ].join('\n');
    await annotate(report, 'measurement');
    console.warn(`[dicomweb streaming]\n${report}`);

    // Bounded: what stays alive is a few instances' worth, far below the series.
    expect(retained.peakBuffers).toBeLessThan(seriesBytes / 4);
  }, 300_000);
});
