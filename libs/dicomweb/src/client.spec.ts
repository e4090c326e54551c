import { writePart10 } from '@app/dicom';
import { PermanentError, TransientError } from '@app/errors';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, bearerToken, noAuth, type AuthProvider } from './auth.js';
import { createDicomwebClient, type DicomwebClientOptions, type RetryEvent } from './client.js';
import { DicomwebHttpError, DicomwebResponseError, DicomwebUnavailableError } from './errors.js';
import { boundaryOf, buildMultipartRelated, MultipartParser } from './multipart.js';

/**
 * The client's pure logic (URLs, headers, retry, backoff, timeouts, error
 * classification, streaming) against a throwaway HTTP server on 127.0.0.1.
 * Orthanc itself is exercised by test/integration/dicomweb-client.spec.ts.
 */

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer, index: number) => unknown;

class FakeServer {
  readonly seen: Seen[] = [];
  private handler: Handler = (_, response) => response.end();
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const index = this.seen.length;
      this.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      void Promise.resolve(this.handler(request, response, body, index)).catch(() => response.destroy());
    });
  });
  baseUrl = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/dicom-web`;
  }

  handle(handler: Handler): void {
    this.handler = handler;
  }

  reset(): void {
    this.seen.length = 0;
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const server = new FakeServer();
beforeAll(() => server.start());
afterEach(async () => {
  server.reset();
  // Let the client's pool see the closed keep-alive sockets before the next test.
  await delay(20);
});
afterAll(() => server.stop());

const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 };
const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SERIES = '1.2.826.0.1.3680043.8.498.2';
const SOP = '1.2.826.0.1.3680043.8.498.3';
const instances = [Buffer.from('first instance'), Buffer.alloc(70_000, 7), Buffer.from('third')];

function client(overrides: Partial<DicomwebClientOptions> = {}) {
  return createDicomwebClient({
    baseUrl: server.baseUrl,
    auth: noAuth(),
    timeoutMs: 2_000,
    retry: FAST_RETRY,
    ...overrides,
  });
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'application/dicom+json', ...headers });
  response.end(JSON.stringify(body));
}

/** Orthanc's error body: no Content-Type, JSON with Message and Details. */
function orthancError(response: ServerResponse, status: number, message: string, details?: string): void {
  response.writeHead(status);
  response.end(JSON.stringify({ HttpStatus: status, Message: message, ...(details ? { Details: details } : {}) }));
}

function multipart(response: ServerResponse, parts: Buffer[], type = 'application/dicom'): void {
  const built = buildMultipartRelated(parts, { type });
  response.writeHead(200, { 'Content-Type': built.contentType });
  response.end(built.body);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(Buffer.from(part));
  return parts;
}

/**
 * Writes a multipart response part by part, with a pause between writes, and
 * optional sabotage once `failAfter` / `stallAfter` instances are complete
 * (an instance is complete when the delimiter after it has been sent).
 */
function streamParts(
  response: ServerResponse,
  options: { failAfter?: number; stallAfter?: number; omitClose?: boolean } = {},
): Promise<void> {
  const built = buildMultipartRelated(instances, { type: 'application/dicom' });
  const pieces: Buffer[] = [];
  const body = Buffer.from(built.body);
  let start = 0;
  let at = body.indexOf(`--${built.boundary}`, 1);
  while (at > 0) {
    pieces.push(body.subarray(start, at));
    start = at;
    at = body.indexOf(`--${built.boundary}`, at + 1);
  }
  pieces.push(body.subarray(start));
  response.writeHead(200, { 'Content-Type': built.contentType });
  return (async () => {
    for (const [i, piece] of pieces.entries()) {
      // pieces[i + 1] completes instance i (its delimiter follows it).
      if (options.failAfter === i - 1) return void response.destroy();
      if (options.stallAfter === i - 1) return;
      if (options.omitClose && i === pieces.length - 1) return void response.end();
      response.write(piece);
      await delay(5);
    }
    response.end();
  })();
}

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

describe('retries and error classification', () => {
  it('retries 5xx with backoff and succeeds', async () => {
    server.handle((_, response, __, index) =>
      index < 2 ? orthancError(response, 503, 'busy') : json(response, 200, []),
    );
    const events: RetryEvent[] = [];
    expect(await client({ onRetry: (event) => events.push(event) }).searchStudies()).toEqual([]);
    expect(server.seen).toHaveLength(3);
    expect(events.map((e) => [e.attempt, e.status])).toEqual([
      [1, 503],
      [2, 503],
    ]);
    // Equal jitter: between half and all of base·2^(n-1).
    expect(events[0].delayMs).toBeGreaterThanOrEqual(2);
    expect(events[0].delayMs).toBeLessThanOrEqual(5);
    expect(events[1].delayMs).toBeGreaterThanOrEqual(5);
    expect(events[1].delayMs).toBeLessThanOrEqual(10);
  });

  it('gives up after maxAttempts with a transient error carrying the reason', async () => {
    server.handle((_, response) => orthancError(response, 500, 'Internal error', 'database locked'));
    const error = await caught(client().retrieveStudyMetadata(STUDY));
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({
      transient: true,
      code: 'RETRIES_EXHAUSTED',
      status: 500,
      attempts: 3,
      method: 'GET',
      reason: 'Internal error: database locked',
    });
    expect((error as Error).message).toBe(
      `DICOMweb GET ${server.baseUrl}/studies/${STUDY}/metadata: HTTP 500; gave up after 3 attempts (Internal error: database locked)`,
    );
    expect(server.seen).toHaveLength(3);
  });

  it('honours Retry-After on 429', async () => {
    const events: RetryEvent[] = [];
    const started = performance.now();
    const dicomweb = client({
      retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 2_000 },
      onRetry: (e) => events.push(e),
    });
    server.handle((_, response, __, index) => {
      if (index === 0) {
        response.writeHead(429, { 'Retry-After': '1' });
        response.end();
      } else json(response, 200, []);
    });
    await dicomweb.searchStudies();
    expect(events).toMatchObject([{ status: 429, delayMs: 1000 }]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('hands a Retry-After longer than maxDelayMs back to the caller', async () => {
    server.handle((_, response) => {
      response.writeHead(503, { 'Retry-After': '120' });
      response.end();
    });
    const error = await caught(client().searchStudies());
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect(error).toMatchObject({ retryAfterMs: 120_000, attempts: 1, status: 503 });
    expect(server.seen).toHaveLength(1);
  });

  it('does not retry other 4xx and reports the DICOM-level reason', async () => {
    server.handle((_, response) =>
      orthancError(response, 400, 'Bad request', 'This WADO-RS plugin cannot generate the following content type'),
    );
    const error = await caught(client().retrieveInstance(STUDY, SERIES, SOP));
    expect(error).toBeInstanceOf(DicomwebHttpError);
    expect(error).toMatchObject({
      transient: false,
      code: 'INTERNAL',
      status: 400,
      reason: 'Bad request: This WADO-RS plugin cannot generate the following content type',
    });
    expect(server.seen).toHaveLength(1);
  });

  it('reads the Warning header as the reason', async () => {
    server.handle((_, response) => {
      response.writeHead(404, { Warning: '299 example.com: "The specified study cannot be found."' });
      response.end();
    });
    const error = await caught(client().retrieveStudyMetadata(STUDY));
    expect(error).toMatchObject({
      code: 'STUDY_NOT_FOUND',
      status: 404,
      reason: 'The specified study cannot be found.',
    });
  });

  it('maps 404 to STUDY_NOT_FOUND for retrieval but not for QIDO', async () => {
    server.handle((_, response) => orthancError(response, 404, 'Accessing an inexistent item'));
    const dicomweb = client();
    for (const promise of [
      dicomweb.retrieveStudyMetadata(STUDY),
      dicomweb.retrieveSeriesMetadata(STUDY, SERIES),
      dicomweb.retrieveInstance(STUDY, SERIES, SOP),
      dicomweb.retrieveFrames(STUDY, SERIES, SOP, [1]),
      collect(dicomweb.retrieveSeries(STUDY, SERIES)),
    ]) {
      const error = await caught(promise);
      expect(error).toBeInstanceOf(DicomwebHttpError);
      expect(error).toMatchObject({ code: 'STUDY_NOT_FOUND', transient: false, status: 404 });
    }
    expect(await caught(dicomweb.searchSeries(STUDY))).toMatchObject({ code: 'INTERNAL', status: 404 });
    expect(server.seen).toHaveLength(6);
  });

  it('retries network errors and then reports a transient error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const events: RetryEvent[] = [];
    const error = await caught(
      client({ baseUrl: `http://127.0.0.1:${port}/dicom-web`, onRetry: (e) => events.push(e) }).searchStudies(),
    );
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect(error).toMatchObject({ attempts: 3, transient: true });
    expect((error as Error).message).toContain('network error (ECONNREFUSED)');
    expect(events).toHaveLength(2);
  });

  it('retries a connection reset mid-response', async () => {
    server.handle((_, response, __, index) => {
      if (index === 0) {
        response.writeHead(200, { 'Content-Type': 'application/dicom+json', 'Content-Length': '100' });
        response.write('[{"00080018"');
        setTimeout(() => response.destroy(), 10);
      } else json(response, 200, []);
    });
    expect(await client().searchStudies()).toEqual([]);
    expect(server.seen).toHaveLength(2);
  });

  it('times out each attempt', async () => {
    server.handle(() => undefined); // never answers
    const started = performance.now();
    const error = await caught(
      client({ timeoutMs: 150, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }).searchStudies(),
    );
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('timed out after 150 ms; gave up after 2 attempts');
    expect(server.seen).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("stops at once when the caller's signal aborts, without retrying", async () => {
    server.handle(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    const error = await caught(client({ timeoutMs: 5_000 }).searchStudies({}, { signal: controller.signal }));
    expect(error).toEqual(new Error('shutting down'));
    expect(server.seen).toHaveLength(1);
    // Already aborted: no request at all.
    await expect(client().searchStudies({}, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(server.seen).toHaveLength(1);
  });

  it('aborts the backoff pause too', async () => {
    server.handle((_, response) => orthancError(response, 503, 'busy'));
    const controller = new AbortController();
    const promise = client({ retry: { maxAttempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 } }).searchStudies(
      {},
      { signal: controller.signal },
    );
    await delay(100);
    controller.abort();
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.seen).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('reports 401 with basic auth as a permanent error, without retrying', async () => {
    server.handle((_, response) => {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Orthanc Secure Area"' });
      response.end();
    });
    const error = await caught(client({ auth: basicAuth('triage', 'wrong') }).searchStudies());
    expect(error).toBeInstanceOf(DicomwebHttpError);
    expect(error).toMatchObject({ status: 401, transient: false });
    expect((error as Error).message).toContain('rejected the credentials');
    expect(server.seen).toHaveLength(1);
  });

  it('refreshes a bearer token once after a 401 and repeats the request', async () => {
    const tokens = ['old-token', 'new-token'];
    const asked: boolean[] = [];
    const auth = bearerToken(({ forceRefresh }) => {
      asked.push(forceRefresh);
      return tokens[asked.length - 1] ?? 'newest';
    });
    server.handle((request, response) =>
      request.headers.authorization === 'Bearer new-token' ? json(response, 200, []) : response.writeHead(401).end(),
    );
    expect(await client({ auth }).searchStudies()).toEqual([]);
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(['Bearer old-token', 'Bearer new-token']);
    expect(asked).toEqual([false, true]);
    // The new token is cached for the next request.
    await client({ auth }).searchStudies();
    expect(asked).toHaveLength(2);
  });

  it('gives up when the refreshed token is refused as well', async () => {
    let n = 0;
    server.handle((_, response) => response.writeHead(401).end());
    const error = await caught(client({ auth: bearerToken(() => `token-${n++}`) }).searchStudies());
    expect(error).toMatchObject({ status: 401, transient: false });
    expect(server.seen).toHaveLength(2);
  });

  it('does not repeat a request when a refresh yields the same token', async () => {
    server.handle((_, response) => response.writeHead(401).end());
    await expect(client({ auth: bearerToken(() => 'same') }).searchStudies()).rejects.toBeInstanceOf(DicomwebHttpError);
    expect(server.seen).toHaveLength(1);
  });

  it('refetches a token when it is about to expire', async () => {
    let clock = 1_000_000;
    let issued = 0;
    const auth = bearerToken(() => ({ token: `t${++issued}`, expiresAt: clock + 60_000 }), { now: () => clock });
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock += 20_000;
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t1' });
    clock += 15_000; // within the 30 s margin
    expect(await auth.headers()).toEqual({ Authorization: 'Bearer t2' });
  });

  it('never lets a header-injection attempt through, nor echoes it', async () => {
    const evil: AuthProvider = { headers: () => Promise.resolve({ Authorization: 'Bearer abc\r\nX-Evil: 1' }) };
    const error = await caught(client({ auth: evil }).searchStudies());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('abc');
    expect(server.seen).toHaveLength(0);
  });
});

/** A server that echoes the request into its error details, credentials included. */
function echo(request: IncomingMessage): string {
  return `query was ${decodeURIComponent(request.url ?? '')}; auth was ${request.headers.authorization ?? ''}`;
}

describe('credentials and patient data never reach error messages', () => {
  const password = 'S3cr3t-Pa55word';
  const token = 'tok-SECRET-0123456789';
  const patient = 'SMITH^JOHN';

  function leaks(error: unknown): string[] {
    const text = [
      inspect(error, { depth: 10, showHidden: true }),
      JSON.stringify(error),
      String(error),
      (error as Error).stack ?? '',
    ].join('\n');
    const secrets = [password, token, Buffer.from(`triage:${password}`).toString('base64'), patient, 'SMITH'];
    return secrets.filter((secret) => text.includes(secret));
  }

  it('for HTTP errors, retries, network errors and timeouts', async () => {
    const errors: unknown[] = [];
    const auths = [basicAuth('triage', password), bearerToken(token), bearerToken(() => token)];
    for (const auth of auths) {
      server.handle((request, response) => orthancError(response, 400, 'Bad request', echo(request)));
      errors.push(await caught(client({ auth }).searchStudies({ PatientName: patient })));
      server.handle((request, response) => orthancError(response, 500, 'Internal error', echo(request)));
      errors.push(await caught(client({ auth }).searchStudies({ PatientName: patient })));
      server.handle((_, response) => response.writeHead(401).end());
      errors.push(await caught(client({ auth }).searchStudies({ PatientName: patient })));
      server.handle(() => undefined);
      errors.push(
        await caught(
          client({ auth, timeoutMs: 50, retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } }).searchStudies({
            PatientName: patient,
          }),
        ),
      );
      errors.push(
        await caught(
          createDicomwebClient({
            baseUrl: 'http://127.0.0.1:1/dicom-web',
            auth,
            timeoutMs: 500,
            retry: FAST_RETRY,
          }).searchStudies({ PatientName: patient }),
        ),
      );
    }
    expect(errors).toHaveLength(15);
    for (const error of errors) {
      expect(error).toHaveProperty('url');
      expect(leaks(error)).toEqual([]);
    }
    // The URL keeps the attribute names for debugging, but no values.
    expect((errors[0] as DicomwebHttpError).url).toBe(`${server.baseUrl}/studies?PatientName=…`);
  });

  it('providers keep their secrets out of inspection', () => {
    for (const auth of [basicAuth('triage', password), bearerToken(token)]) {
      const text = `${inspect(auth, { showHidden: true, depth: 5 })} ${JSON.stringify(auth)}`;
      expect(text).not.toContain(password);
      expect(text).not.toContain(token);
    }
  });
});

describe('retrieveSeries (streaming)', () => {
  it('yields every instance byte for byte, asking for the stored transfer syntax', async () => {
    server.handle((_, response) => streamParts(response));
    const received = await collect(client().retrieveSeries(STUDY, SERIES));
    expect(received).toEqual(instances);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/series/${SERIES}`);
    expect(server.seen[0].headers.accept).toBe('multipart/related; type="application/dicom"; transfer-syntax=*');
  });

  it('asks for an explicit transfer syntax', async () => {
    server.handle((_, response) => multipart(response, instances));
    await collect(client().retrieveSeries(STUDY, SERIES, { transferSyntax: '1.2.840.10008.1.2.1' }));
    expect(server.seen[0].headers.accept).toBe(
      'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1',
    );
  });

  it('retries when the connection fails before the first instance', async () => {
    // The first attempt sends the headers and most of the first instance, then drops.
    server.handle((_, response, __, index) => streamParts(response, index === 0 ? { failAfter: 0 } : {}));
    expect(await collect(client().retrieveSeries(STUDY, SERIES))).toEqual(instances);
    expect(server.seen).toHaveLength(2);
  });

  it('does not retry once an instance was yielded', async () => {
    server.handle((_, response) => streamParts(response, { failAfter: 1 }));
    const received: Buffer[] = [];
    const error = await caught(
      (async () => {
        for await (const part of client().retrieveSeries(STUDY, SERIES)) received.push(Buffer.from(part));
      })(),
    );
    expect(received).toEqual([instances[0]]);
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('connection lost after 1 instance had been received');
    expect(server.seen).toHaveLength(1);
  });

  it('applies the timeout to silence, not to the whole transfer', async () => {
    // 3 parts with 5 ms pauses fit easily in a 150 ms idle timeout...
    server.handle((_, response) => streamParts(response));
    expect(await collect(client({ timeoutMs: 150 }).retrieveSeries(STUDY, SERIES))).toHaveLength(3);
    // ...but a stall after the first part does not.
    server.handle((_, response) => streamParts(response, { stallAfter: 1 }));
    const error = await caught(collect(client({ timeoutMs: 150 }).retrieveSeries(STUDY, SERIES)));
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('no data for 150 ms');
  });

  it('does not count the time the consumer spends on an instance', async () => {
    server.handle((_, response) => multipart(response, instances));
    const received: Buffer[] = [];
    for await (const part of client({ timeoutMs: 100 }).retrieveSeries(STUDY, SERIES)) {
      received.push(Buffer.from(part));
      await delay(250);
    }
    expect(received).toEqual(instances);
  });

  it('reports a body that ends without the close delimiter', async () => {
    server.handle((_, response) => streamParts(response, { omitClose: true }));
    const error = await caught(collect(client().retrieveSeries(STUDY, SERIES)));
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('truncated');
  });

  it('closes the connection when the consumer stops early', async () => {
    let closed = false;
    server.handle((_, response) => {
      response.on('close', () => {
        closed = true;
      });
      return streamParts(response, { stallAfter: 1 });
    });
    for await (const part of client().retrieveSeries(STUDY, SERIES)) {
      expect(Buffer.from(part)).toEqual(instances[0]);
      break;
    }
    await delay(50);
    expect(closed).toBe(true);
  });

  it('refuses a non-multipart answer as a permanent error', async () => {
    server.handle((_, response) => json(response, 200, []));
    const error = await caught(collect(client().retrieveSeries(STUDY, SERIES)));
    expect(error).toBeInstanceOf(DicomwebResponseError);
    expect(server.seen).toHaveLength(1);
  });
});

describe('retrieveInstance and retrieveFrames', () => {
  it('returns one instance', async () => {
    server.handle((_, response) => multipart(response, [instances[1]]));
    const bytes = await client().retrieveInstance(STUDY, SERIES, SOP);
    expect(Buffer.from(bytes)).toEqual(instances[1]);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/series/${SERIES}/instances/${SOP}`);
  });

  it('returns frames in order, asking for multipart octet-stream', async () => {
    const frames = [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8])];
    server.handle((_, response) => {
      const built = buildMultipartRelated(frames, { type: 'application/octet-stream' });
      // Orthanc's variant: transfer-syntax inside the quoted type parameter.
      response.writeHead(200, {
        'Content-Type': `multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=${built.boundary}`,
      });
      response.end(built.body);
    });
    const received = await client().retrieveFrames(STUDY, SERIES, SOP, [1, 3]);
    expect(received.map((f) => Buffer.from(f))).toEqual(frames);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/series/${SERIES}/instances/${SOP}/frames/1,3`);
    expect(server.seen[0].headers.accept).toBe('multipart/related; type="application/octet-stream"; transfer-syntax=*');
  });

  it('refuses a part count that does not match', async () => {
    server.handle((_, response) => multipart(response, instances));
    await expect(client().retrieveInstance(STUDY, SERIES, SOP)).rejects.toBeInstanceOf(DicomwebResponseError);
    await expect(client().retrieveFrames(STUDY, SERIES, SOP, [1])).rejects.toBeInstanceOf(DicomwebResponseError);
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
