import { TransientError } from '@app/errors';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { awsSigV4, basicAuth, bearerToken, type AuthProvider, type SignedRequest } from '@app/credentials';
import { createDicomwebClient } from './client.js';
import { DicomwebAccessRefusedError, DicomwebHttpError, DicomwebUnavailableError } from './errors.js';
import { json, orthancError, useFakeServer } from './testing/fake-server.js';
import { caught, clientOf, collect, FAST_RETRY, SERIES, SOP, STUDY } from './testing/support.js';
import type { DicomwebClientOptions, RetryEvent } from './transport.js';

/**
 * The exchange under every operation (retry, backoff, Retry-After, timeouts,
 * abort, error classification, re-authentication, redaction) against a
 * throwaway HTTP server on 127.0.0.1.
 */

const server = useFakeServer();
const client = (overrides?: Partial<DicomwebClientOptions>) => clientOf(server, overrides);

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

  it('gives up after the last attempt with a transient error carrying the reason', async () => {
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
      reason: 'Internal error',
    });
    // Orthanc's Details is free text a server may fill with what it was sent: left out.
    expect((error as Error).message).toBe(
      `DICOMweb GET ${server.baseUrl}/studies/${STUDY}/metadata: HTTP 500; gave up after 3 attempts (Internal error)`,
    );
    expect(server.seen).toHaveLength(3);
  });

  it('honours Retry-After on 429', async () => {
    const events: RetryEvent[] = [];
    const started = performance.now();
    const dicomweb = client({
      retry: { attempts: 2, initialDelayMs: 5, maxDelayMs: 2_000 },
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
      reason: 'Bad request',
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
      client({ timeoutMs: 150, retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }).searchStudies(),
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
    const promise = client({ retry: { attempts: 5, initialDelayMs: 10_000, maxDelayMs: 10_000 } }).searchStudies(
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
  it('reports 401 with basic auth as an access refusal (transient: the study waits for new credentials), without retrying', async () => {
    server.handle((_, response) => {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Orthanc Secure Area"' });
      response.end();
    });
    const error = await caught(client({ auth: basicAuth('triage', 'wrong') }).searchStudies());
    expect(error).toBeInstanceOf(DicomwebAccessRefusedError);
    expect(error).toMatchObject({ status: 401, transient: true });
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
    expect(error).toMatchObject({ status: 401, transient: true });
    expect(server.seen).toHaveLength(2);
  });

  it('gives a request-signing provider (AWS SigV4) the method and URL it sends, and sends what it signed', async () => {
    const signed: SignedRequest[] = [];
    const sigv4 = awsSigV4({
      region: 'us-east-1',
      service: 'medical-imaging',
      credentials: () => Promise.resolve({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    const auth = { headers: (request?: SignedRequest) => (signed.push(request!), sigv4.headers(request)) };
    server.handle((_, response) => json(response, 200, []));
    await client({ auth }).searchStudies({ StudyInstanceUID: '1.2.3' });
    expect(signed).toEqual([{ method: 'GET', url: expect.stringContaining('/studies?StudyInstanceUID=1.2.3') }]);
    const expected = await sigv4.headers(signed[0]);
    expect(server.seen[0].headers.authorization).toBe(expected['authorization']);
    expect(server.seen[0].headers['x-amz-date']).toBe('20260101T000000Z');
  });

  it('does not repeat a request when a refresh yields the same token', async () => {
    server.handle((_, response) => response.writeHead(401).end());
    await expect(client({ auth: bearerToken(() => 'same') }).searchStudies()).rejects.toBeInstanceOf(
      DicomwebAccessRefusedError,
    );
    expect(server.seen).toHaveLength(1);
  });

  it('reports 403 as an access refusal, without a refresh or a retry', async () => {
    let asked = 0;
    server.handle((_, response) => response.writeHead(403).end());
    const error = await caught(client({ auth: bearerToken(() => `token-${asked++}`) }).searchStudies());
    expect(error).toBeInstanceOf(DicomwebAccessRefusedError);
    expect(error).toMatchObject({ status: 403, transient: true });
    expect((error as Error).message).toContain('lack permission');
    expect(asked).toBe(1);
    expect(server.seen).toHaveLength(1);
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
          client({ auth, timeoutMs: 50, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } }).searchStudies({
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
