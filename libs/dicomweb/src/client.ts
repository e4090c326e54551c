import { PermanentError, TriageError, type FailureCode } from '@app/errors';
import type { AuthProvider } from './auth.js';
import { isDicomJsonDataset, items, firstNumber, TAG, type DicomJsonDataset } from './dicom-json.js';
import {
  DicomwebHttpError,
  DicomwebResponseError,
  DicomwebUnavailableError,
  type DicomwebErrorDetails,
} from './errors.js';
import {
  boundaryOf,
  buildMultipartRelated,
  MultipartError,
  parseMultipartStream,
  type MultipartPart,
} from './multipart.js';
import { encodeQidoQuery, redact, safeUrl, type QidoQuery } from './query.js';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, sleep, validateRetryPolicy, type RetryPolicy } from './retry.js';
import { describeReason, interpretStoreResponse, isStoreResponse, identifyInstance, type StoreResult } from './stow.js';

/**
 * A DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) on Node's fetch. Every request
 * gets a timeout and bounded retries; failures surface as TransientError or
 * PermanentError subclasses (see errors.ts). Series retrieval streams.
 */

export interface DicomwebClientOptions {
  /** Service root, e.g. http://127.0.0.1:18042/dicom-web (no credentials, no query). */
  baseUrl: string;
  auth: AuthProvider;
  /** Per attempt: the whole exchange, or for retrieveSeries the longest silence while streaming. */
  timeoutMs: number;
  retry?: RetryPolicy;
  userAgent?: string;
  fetch?: typeof fetch;
  /** Told about every retry before its pause (for logs and metrics). */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  method: string;
  /** Safe to log (see DicomwebErrorDetails.url). */
  url: string;
  /** The attempt that failed, 1-based. */
  attempt: number;
  delayMs: number;
  status?: number;
  summary: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface RetrieveOptions extends RequestOptions {
  /** Transfer syntax UID to ask for; '*' (default) returns what the archive stored, without transcoding. */
  transferSyntax?: string;
}

export interface DicomwebClient {
  readonly baseUrl: string;
  /** QIDO-RS /studies. */
  searchStudies(query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /** QIDO-RS /studies/{study}/series. */
  searchSeries(studyUid: string, query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /** QIDO-RS /studies/{study}[/series/{series}]/instances. Orthanc returns no geometry here: use metadata. */
  searchInstances(
    studyUid: string,
    seriesUid?: string,
    query?: QidoQuery,
    options?: RequestOptions,
  ): Promise<DicomJsonDataset[]>;
  /** WADO-RS /studies/{study}/metadata: one dataset per instance. */
  retrieveStudyMetadata(studyUid: string, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /** WADO-RS /studies/{study}/series/{series}/metadata: one dataset per instance. */
  retrieveSeriesMetadata(studyUid: string, seriesUid: string, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /**
   * WADO-RS series: each Part 10 instance as soon as it has arrived, holding
   * one instance in memory at a time. Retried only until the first instance is
   * yielded; a failure after that is a DicomwebUnavailableError.
   */
  retrieveSeries(
    studyUid: string,
    seriesUid: string,
    options?: RetrieveOptions,
  ): AsyncGenerator<Uint8Array, void, undefined>;
  /** WADO-RS instance as a Part 10 file. */
  retrieveInstance(studyUid: string, seriesUid: string, sopUid: string, options?: RetrieveOptions): Promise<Uint8Array>;
  /** WADO-RS frames (1-based numbers): the pixel data of each frame, in the order asked. */
  retrieveFrames(
    studyUid: string,
    seriesUid: string,
    sopUid: string,
    frameNumbers: readonly number[],
    options?: RetrieveOptions,
  ): Promise<Uint8Array[]>;
  /** STOW-RS of Part 10 instances, optionally into a given study. */
  store(instances: readonly Uint8Array[], studyUid?: string, options?: RequestOptions): Promise<StoreResult>;
}

const UID = /^[0-9]+(?:\.[0-9]+)*$/;
const DICOM_JSON = 'application/dicom+json';
const DEFAULT_USER_AGENT = 'covid-ct-triage-dicomweb/0.1';
const MAX_ERROR_BODY = 64 * 1024;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  search?: string;
  /** Query values, redacted from anything the server says back. */
  secrets?: readonly string[];
  accept?: string;
  body?: Uint8Array;
  contentType?: string;
  signal?: AbortSignal | undefined;
  notFound: FailureCode;
  /** Statuses read() handles; default 2xx. */
  accepts?: (status: number) => boolean;
  /** Timeout resets on every received chunk (streaming) instead of covering the whole exchange. */
  idleTimeout?: boolean;
}

/** The per-attempt timer and signal; read() may keep it alive past the exchange (streaming). */
interface Attempt {
  readonly number: number;
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  /** The timeout is an idle timeout, reset by touch(). */
  readonly idle: boolean;
  /** Auth header values sent with this attempt, to redact from server text. */
  credentials: string[];
  touch(): void;
  /** Stops the idle clock while the consumer holds a yielded instance; resume() restarts it. */
  pause(): void;
  resume(): void;
  dispose(): void;
}

interface Failure {
  summary: string;
  status?: number;
  reason?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

type Outcome<T> =
  | { kind: 'done'; value: T }
  | { kind: 'retry'; failure: Failure }
  | { kind: 'reauthenticate'; error: DicomwebHttpError };

export function createDicomwebClient(options: DicomwebClientOptions): DicomwebClient {
  return new FetchDicomwebClient(options);
}

class FetchDicomwebClient implements DicomwebClient {
  readonly baseUrl: string;
  private readonly auth: AuthProvider;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly userAgent: string;
  private readonly fetch: typeof fetch;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(options: DicomwebClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError('DICOMweb baseUrl is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('DICOMweb baseUrl must be http(s)');
    if (url.username || url.password) {
      throw new TypeError('DICOMweb baseUrl must not contain credentials; use basicAuth() or bearerToken()');
    }
    if (url.search || url.hash) throw new TypeError('DICOMweb baseUrl must not have a query or fragment');
    if (!(options.timeoutMs > 0)) throw new RangeError('DICOMweb timeoutMs must be > 0');
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.auth = options.auth;
    this.timeoutMs = options.timeoutMs;
    this.retry = validateRetryPolicy(options.retry ?? DEFAULT_RETRY);
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.onRetry = options.onRetry;
  }

  // ---- QIDO-RS -------------------------------------------------------------

  async searchStudies(query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]> {
    return this.search('/studies', query, options);
  }

  async searchSeries(studyUid: string, query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]> {
    return this.search(`/studies/${uid(studyUid, 'StudyInstanceUID')}/series`, query, options);
  }

  async searchInstances(
    studyUid: string,
    seriesUid?: string,
    query?: QidoQuery,
    options?: RequestOptions,
  ): Promise<DicomJsonDataset[]> {
    const study = `/studies/${uid(studyUid, 'StudyInstanceUID')}`;
    const series = seriesUid === undefined ? '' : `/series/${uid(seriesUid, 'SeriesInstanceUID')}`;
    return this.search(`${study}${series}/instances`, query, options);
  }

  private async search(path: string, query: QidoQuery = {}, options: RequestOptions = {}): Promise<DicomJsonDataset[]> {
    const { search, values } = encodeQidoQuery(query);
    return this.execute(
      {
        method: 'GET',
        path,
        search,
        secrets: values,
        accept: DICOM_JSON,
        signal: options.signal,
        // A 404 from QIDO means a wrong base URL more often than a missing study.
        notFound: 'INTERNAL',
      },
      (response) => this.readDatasets(response, 'GET', path),
    );
  }

  // ---- WADO-RS metadata ------------------------------------------------------

  async retrieveStudyMetadata(studyUid: string, options: RequestOptions = {}): Promise<DicomJsonDataset[]> {
    return this.metadata(`/studies/${uid(studyUid, 'StudyInstanceUID')}/metadata`, options);
  }

  async retrieveSeriesMetadata(
    studyUid: string,
    seriesUid: string,
    options: RequestOptions = {},
  ): Promise<DicomJsonDataset[]> {
    const path = `/studies/${uid(studyUid, 'StudyInstanceUID')}/series/${uid(seriesUid, 'SeriesInstanceUID')}/metadata`;
    return this.metadata(path, options);
  }

  private metadata(path: string, options: RequestOptions): Promise<DicomJsonDataset[]> {
    return this.execute(
      { method: 'GET', path, accept: DICOM_JSON, signal: options.signal, notFound: 'STUDY_NOT_FOUND' },
      (response) => this.readDatasets(response, 'GET', path),
    );
  }

  // ---- WADO-RS bulk ----------------------------------------------------------

  async *retrieveSeries(
    studyUid: string,
    seriesUid: string,
    options: RetrieveOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const path = `/studies/${uid(studyUid, 'StudyInstanceUID')}/series/${uid(seriesUid, 'SeriesInstanceUID')}`;
    const accept = multipartAccept('application/dicom', options.transferSyntax);
    const details = { method: 'GET', url: safeUrl(this.url(path)) };
    // The first part is read inside the retried exchange: failing before it is retried.
    const opened = await this.execute(
      { method: 'GET', path, accept, signal: options.signal, notFound: 'STUDY_NOT_FOUND', idleTimeout: true },
      async (response, current) => {
        const stream = this.partsOf(response, current, details);
        const next = await stream.next();
        return { parts: stream, attempt: current, first: next.done ? undefined : next.value.body };
      },
    );
    const { parts, attempt } = opened;
    // Nothing here keeps an instance once the consumer has it, so each can be collected when it is done.
    let pending = opened.first;
    opened.first = undefined;
    let delivered = 0;
    try {
      if (pending === undefined) return;
      // The idle clock measures the server, not the time the consumer spends on an instance.
      attempt.pause();
      yield pending;
      pending = undefined;
      attempt.resume();
      delivered++;
      for await (const part of parts) {
        attempt.pause();
        yield part.body;
        attempt.resume();
        delivered++;
      }
    } catch (error) {
      throw this.streamFailure(error, details, attempt, delivered, options.signal);
    } finally {
      attempt.dispose();
      await parts.return(undefined);
    }
  }

  async retrieveInstance(
    studyUid: string,
    seriesUid: string,
    sopUid: string,
    options: RetrieveOptions = {},
  ): Promise<Uint8Array> {
    const path = instancePath(studyUid, seriesUid, sopUid);
    const parts = await this.retrieveParts(path, multipartAccept('application/dicom', options.transferSyntax), options);
    if (parts.length !== 1) {
      throw new DicomwebResponseError(
        { method: 'GET', url: safeUrl(this.url(path)) },
        `expected 1 instance, got ${parts.length} parts`,
      );
    }
    return parts[0].body;
  }

  async retrieveFrames(
    studyUid: string,
    seriesUid: string,
    sopUid: string,
    frameNumbers: readonly number[],
    options: RetrieveOptions = {},
  ): Promise<Uint8Array[]> {
    if (frameNumbers.length === 0 || !frameNumbers.every((n) => Number.isSafeInteger(n) && n >= 1)) {
      throw new RangeError('frame numbers must be a non-empty list of integers ≥ 1');
    }
    const path = `${instancePath(studyUid, seriesUid, sopUid)}/frames/${frameNumbers.join(',')}`;
    // Orthanc refuses a bare application/octet-stream (400); multipart of it works everywhere.
    const parts = await this.retrieveParts(
      path,
      multipartAccept('application/octet-stream', options.transferSyntax),
      options,
    );
    if (parts.length !== frameNumbers.length) {
      throw new DicomwebResponseError(
        { method: 'GET', url: safeUrl(this.url(path)) },
        `asked for ${frameNumbers.length} frames, got ${parts.length} parts`,
      );
    }
    return parts.map((part) => part.body);
  }

  private retrieveParts(path: string, accept: string, options: RequestOptions): Promise<MultipartPart[]> {
    const details = { method: 'GET', url: safeUrl(this.url(path)) };
    return this.execute(
      { method: 'GET', path, accept, signal: options.signal, notFound: 'STUDY_NOT_FOUND' },
      async (response, attempt) => {
        const parts: MultipartPart[] = [];
        for await (const part of this.partsOf(response, attempt, details)) parts.push(part);
        return parts;
      },
    );
  }

  private partsOf(
    response: Response,
    attempt: Attempt,
    details: DicomwebErrorDetails,
  ): AsyncGenerator<MultipartPart, void, undefined> {
    let boundary: string;
    try {
      boundary = boundaryOf(response.headers.get('content-type'));
    } catch (error) {
      throw new DicomwebResponseError({ ...details, status: response.status }, (error as Error).message);
    }
    if (!response.body) throw new DicomwebResponseError({ ...details, status: response.status }, 'empty response body');
    return parseMultipartStream(response.body, boundary, { onChunk: () => attempt.touch() });
  }

  /** Classifies an error thrown while a retrieveSeries stream was being consumed. */
  private streamFailure(
    error: unknown,
    details: DicomwebErrorDetails,
    attempt: Attempt,
    delivered: number,
    signal: AbortSignal | undefined,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof TriageError) return error;
    if (error instanceof MultipartError && !error.truncated) return new DicomwebResponseError(details, error.message);
    const failure = this.transportFailure(error, attempt);
    if (!failure) return error;
    const instances = delivered === 1 ? '1 instance' : `${delivered} instances`;
    return new DicomwebUnavailableError(
      { ...details, attempts: attempt.number },
      `connection lost after ${instances} had been received: ${failure.summary}`,
      { cause: error },
    );
  }

  // ---- STOW-RS ---------------------------------------------------------------

  async store(instances: readonly Uint8Array[], studyUid?: string, options: RequestOptions = {}): Promise<StoreResult> {
    if (instances.length === 0) throw new RangeError('store() needs at least one instance');
    const path = studyUid === undefined ? '/studies' : `/studies/${uid(studyUid, 'StudyInstanceUID')}`;
    const identities = instances.map(identifyInstance);
    const { body, contentType } = buildMultipartRelated(instances, { type: 'application/dicom' });
    const details = { method: 'POST', url: safeUrl(this.url(path)) };
    return this.execute(
      {
        method: 'POST',
        path,
        accept: DICOM_JSON,
        body,
        contentType,
        signal: options.signal,
        notFound: 'INTERNAL',
        // 202: some failed; 400/409: none or some stored, per the FailedSOPSequence.
        accepts: (status) => status === 200 || status === 202 || status === 400 || status === 409,
      },
      async (response, attempt) => {
        const text = await response.text();
        const parsed = parseJson(text);
        if (isStoreResponse(parsed)) return interpretStoreResponse(response.status, parsed, identities);
        if (response.status === 200 && text.trim() === '') {
          return interpretStoreResponse(response.status, undefined, identities);
        }
        const reason = reasonFrom(response, text, attempt.credentials);
        if (response.ok)
          throw new DicomwebResponseError(
            { ...details, status: response.status },
            'the STOW response is not a DICOM JSON dataset',
          );
        throw httpError('INTERNAL', { ...details, status: response.status, ...(reason ? { reason } : {}) }, response);
      },
    );
  }

  // ---- the exchange ------------------------------------------------------------

  private url(path: string, search?: string): string {
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  /** One request with timeouts, retries and re-authentication; read() turns an accepted response into T. */
  private async execute<T>(spec: RequestSpec, read: (response: Response, attempt: Attempt) => Promise<T>): Promise<T> {
    const url = this.url(spec.path, spec.search);
    const details = { method: spec.method, url: safeUrl(url) };
    let reauthenticated = false;
    let counted = 0;
    for (;;) {
      spec.signal?.throwIfAborted();
      counted++;
      const attempt = this.startAttempt(counted, spec);
      let outcome: Outcome<T>;
      try {
        outcome = await this.attemptOnce(spec, url, details, attempt, read, !reauthenticated);
      } catch (error) {
        attempt.dispose();
        if (spec.signal?.aborted) throw spec.signal.reason;
        throw error;
      }
      // A streaming read keeps its attempt (timer) alive; everything else is finished.
      if (!(outcome.kind === 'done' && spec.idleTimeout)) attempt.dispose();

      if (outcome.kind === 'done') return outcome.value;
      if (outcome.kind === 'reauthenticate') {
        reauthenticated = true;
        if (!(await this.auth.refresh!())) throw outcome.error;
        counted--; // a refreshed credential earns a free repeat
        continue;
      }
      const { failure } = outcome;
      const base = { ...details, attempts: counted, ...optional(failure) };
      if (counted >= this.retry.maxAttempts) {
        throw new DicomwebUnavailableError(base, failure.summary, { cause: failure.cause });
      }
      let delayMs = backoffDelay(this.retry, counted);
      if (failure.retryAfterMs !== undefined) {
        if (failure.retryAfterMs > this.retry.maxDelayMs) {
          // Longer than this client waits by itself: hand it to the caller's scheduler.
          throw new DicomwebUnavailableError(
            { ...base, retryAfterMs: failure.retryAfterMs },
            `${failure.summary}, Retry-After ${Math.ceil(failure.retryAfterMs / 1000)} s`,
            { cause: failure.cause },
          );
        }
        delayMs = failure.retryAfterMs;
      }
      this.onRetry?.({
        method: spec.method,
        url: details.url,
        attempt: counted,
        delayMs,
        summary: failure.summary,
        ...(failure.status === undefined ? {} : { status: failure.status }),
      });
      await sleep(delayMs, spec.signal);
    }
  }

  private async attemptOnce<T>(
    spec: RequestSpec,
    url: string,
    details: DicomwebErrorDetails,
    attempt: Attempt,
    read: (response: Response, attempt: Attempt) => Promise<T>,
    mayReauthenticate: boolean,
  ): Promise<Outcome<T>> {
    const { headers, credentials } = await this.headers(spec);
    attempt.credentials = credentials;
    let response: Response;
    try {
      response = await this.fetch(url, {
        method: spec.method,
        headers,
        signal: attempt.signal,
        ...(spec.body ? { body: spec.body } : {}),
      });
    } catch (error) {
      return this.retryOrThrow(error, attempt, spec);
    }

    const { status } = response;
    if ((spec.accepts ?? isSuccess)(status)) {
      try {
        return { kind: 'done', value: await read(response, attempt) };
      } catch (error) {
        await discard(response);
        if (error instanceof TriageError) throw error;
        if (error instanceof MultipartError && !error.truncated) {
          throw new DicomwebResponseError({ ...details, status }, error.message);
        }
        return this.retryOrThrow(error, attempt, spec);
      }
    }

    let text = '';
    try {
      text = await readLimited(response, MAX_ERROR_BODY);
    } catch {
      if (spec.signal?.aborted) throw spec.signal.reason;
      // The status is what matters; a body cut short only loses the reason.
    }
    // A server that echoes the request back must not leak the credentials either.
    const reason = reasonFrom(response, text, [...(spec.secrets ?? []), ...credentials]);
    const withStatus = { ...details, status, ...(reason ? { reason } : {}) };
    if (status === 401 && mayReauthenticate && this.auth.refresh) {
      return { kind: 'reauthenticate', error: httpError('INTERNAL', withStatus, response) };
    }
    if (isRetryableStatus(status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const failure: Failure = { summary: `HTTP ${status}`, status };
      if (reason) failure.reason = reason;
      if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
      return { kind: 'retry', failure };
    }
    throw httpError(status === 404 ? spec.notFound : 'INTERNAL', withStatus, response);
  }

  private retryOrThrow(error: unknown, attempt: Attempt, spec: RequestSpec): Outcome<never> {
    if (spec.signal?.aborted) throw spec.signal.reason;
    const failure = this.transportFailure(error, attempt);
    if (!failure) throw error;
    return { kind: 'retry', failure };
  }

  /** Network errors, our timeouts and truncated bodies: worth another attempt. Anything else is not ours to retry. */
  private transportFailure(error: unknown, attempt: Attempt): Failure | undefined {
    if (attempt.timedOut) {
      const summary = attempt.idle ? `no data for ${this.timeoutMs} ms` : `timed out after ${this.timeoutMs} ms`;
      return { summary, cause: error };
    }
    if (error instanceof MultipartError && error.truncated) return { summary: 'response body truncated', cause: error };
    const code = networkCode(error);
    if (code !== undefined) return { summary: `network error${code ? ` (${code})` : ''}`, cause: error };
    return undefined;
  }

  private startAttempt(number: number, spec: RequestSpec): Attempt {
    const controller = new AbortController();
    let timedOut = false;
    let disposed = false;
    const fire = () => {
      timedOut = true;
      controller.abort(new DOMException(`DICOMweb request timed out after ${this.timeoutMs} ms`, 'TimeoutError'));
    };
    let timer: NodeJS.Timeout | undefined = setTimeout(fire, this.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([controller.signal, spec.signal]) : controller.signal;
    const idle = spec.idleTimeout === true;
    return {
      number,
      signal,
      idle,
      credentials: [],
      get timedOut() {
        return timedOut;
      },
      touch: () => {
        if (idle) timer?.refresh();
      },
      pause: () => {
        if (!idle) return;
        clearTimeout(timer);
        timer = undefined;
      },
      resume: () => {
        if (idle && !disposed && !timer) timer = setTimeout(fire, this.timeoutMs);
      },
      dispose: () => {
        disposed = true;
        clearTimeout(timer);
        timer = undefined;
      },
    };
  }

  /** The request headers, and the auth values in them (whole, and each word) for redaction. */
  private async headers(spec: RequestSpec): Promise<{ headers: Headers; credentials: string[] }> {
    const extra = await this.auth.headers();
    try {
      const headers = new Headers(extra);
      headers.set('User-Agent', this.userAgent);
      if (spec.accept) headers.set('Accept', spec.accept);
      if (spec.contentType) headers.set('Content-Type', spec.contentType);
      const credentials = Object.values(extra).flatMap((value) => [value, ...value.split(/\s+/).slice(1)]);
      return { headers, credentials };
    } catch {
      // Headers' own error would quote the offending value, which may be a credential.
      throw new TypeError('the DICOMweb auth provider returned an invalid header');
    }
  }

  private async readDatasets(response: Response, method: string, path: string): Promise<DicomJsonDataset[]> {
    if (response.status === 204) {
      await discard(response);
      return [];
    }
    const text = await response.text();
    if (text.trim() === '') return [];
    const parsed = parseJson(text);
    if (!Array.isArray(parsed) || !parsed.every(isDicomJsonDataset)) {
      throw new DicomwebResponseError(
        { method, url: safeUrl(this.url(path)), status: response.status },
        'expected a DICOM JSON array',
      );
    }
    return parsed;
  }
}

// ---- helpers -------------------------------------------------------------------

function uid(value: string, name: string): string {
  if (typeof value !== 'string' || value.length > 64 || !UID.test(value)) {
    // The value itself is not repeated: it came from outside and may be anything.
    throw new PermanentError('MALFORMED_EVENT', `${name} is not a valid DICOM UID`);
  }
  return value;
}

function instancePath(studyUid: string, seriesUid: string, sopUid: string): string {
  return `/studies/${uid(studyUid, 'StudyInstanceUID')}/series/${uid(seriesUid, 'SeriesInstanceUID')}/instances/${uid(sopUid, 'SOPInstanceUID')}`;
}

function multipartAccept(type: string, transferSyntax = '*'): string {
  if (transferSyntax !== '*' && !UID.test(transferSyntax)) throw new TypeError('transferSyntax must be "*" or a UID');
  return `multipart/related; type="${type}"; transfer-syntax=${transferSyntax}`;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** 408, 429 and 5xx are worth retrying, except 501 Not Implemented and 505 HTTP Version Not Supported. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

function networkCode(error: unknown): string | undefined {
  // undici: TypeError('fetch failed' | 'terminated', { cause: { code } }).
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_'))) return code;
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated')) return '';
  return undefined;
}

function optional(failure: Failure): Partial<DicomwebErrorDetails> {
  const extra: Partial<DicomwebErrorDetails> = {};
  if (failure.status !== undefined) extra.status = failure.status;
  if (failure.reason !== undefined) extra.reason = failure.reason;
  return extra;
}

function httpError(code: FailureCode, details: DicomwebErrorDetails & { status: number }, response: Response) {
  const status = details.status;
  const text =
    status === 401
      ? 'HTTP 401 Unauthorized: the archive rejected the credentials'
      : status === 403
        ? 'HTTP 403 Forbidden: the credentials lack permission'
        : status === 406
          ? 'HTTP 406 Not Acceptable: the archive cannot provide the requested media type or transfer syntax'
          : `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new DicomwebHttpError(code, details, text);
}

function parseJson(text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The DICOM-level reason from an error response, without patient data: the
 * Warning header, STOW FailureReasons, Orthanc's Message/Details, or a JSON
 * "message"; query values we sent are redacted, length is capped.
 */
function reasonFrom(response: Response, text: string, secrets: readonly string[]): string | undefined {
  const reasons: string[] = [];
  const warning = response.headers.get('warning');
  if (warning) reasons.push(warning.replace(/^\s*\d{3}\s+\S+\s*/, '').replace(/^"|"$/g, ''));
  const body = parseJson(text);
  if (isDicomJsonDataset(body)) {
    if (isStoreResponse(body)) {
      const failures = new Set(
        items(body, TAG.FailedSOPSequence)
          .map((item) => firstNumber(item, TAG.FailureReason))
          .filter((reason) => reason !== undefined),
      );
      for (const reason of failures) reasons.push(describeReason(reason));
    }
    const record = body as Record<string, unknown>;
    const message = [record['Message'], record['Details'], record['message'], record['errorMessage']]
      .filter((value): value is string => typeof value === 'string' && value.length > 0)
      .join(': ');
    if (message) reasons.push(message);
  }
  if (reasons.length === 0) return undefined;
  const joined = redact(reasons.join('; '), secrets)
    .split('')
    .map((char) => (char < ' ' || char === '\x7f' ? ' ' : char))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  return joined.length > 300 ? `${joined.slice(0, 299)}…` : joined;
}

async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (size >= limit) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, limit));
}

async function discard(response: Response): Promise<void> {
  if (response.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
}
