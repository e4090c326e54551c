import { TriageError, type FailureCode } from '@app/errors';
import type { AuthProvider } from '@app/credentials';
import { startAttempt, type Attempt } from './attempt.js';
import {
  DicomwebAccessRefusedError,
  DicomwebResponseError,
  DicomwebUnavailableError,
  type DicomwebErrorDetails,
} from './errors.js';
import { failureDetails, httpError, isRetryableStatus, transportFailure, type Failure } from './failures.js';
import { MultipartError } from './multipart.js';
import { safeUrl } from './query.js';
import { discard, readLimited, reasonFrom } from './response-body.js';
import { backoffDelay, sleep, validateRetryPolicy, type RetryPolicy } from '@app/errors';
import { DEFAULT_RETRY, parseRetryAfter } from './retry-after.js';

/**
 * The HTTP exchange under every DICOMweb operation: request headers with auth,
 * a timeout per attempt, bounded retries with backoff or Retry-After, one
 * re-authentication after a 401, and failures classified into the typed errors.
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
  /** The largest JSON answer (QIDO, metadata, STOW) read; default MAX_JSON_BYTES. */
  maxJsonBytes?: number;
}

/**
 * QIDO results and WADO metadata are read whole: a 2,000-instance study's metadata is
 * about 20 MB, so 256 MiB leaves room and still keeps a runaway answer off the heap.
 */
export const MAX_JSON_BYTES = 256 * 2 ** 20;

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

export interface RequestSpec {
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

/** Turns an accepted response into the operation's result. */
export type ResponseReader<T> = (response: Response, attempt: Attempt) => Promise<T>;

type Outcome<T> =
  | { kind: 'done'; value: T }
  | { kind: 'retry'; failure: Failure }
  | { kind: 'reauthenticate'; details: DicomwebErrorDetails & { status: 401 } };

const DEFAULT_USER_AGENT = 'covid-ct-triage-dicomweb/0.1';
const MAX_ERROR_BODY = 64 * 1024;

export class Transport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxJsonBytes: number;
  private readonly auth: AuthProvider;
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
    this.maxJsonBytes = options.maxJsonBytes ?? MAX_JSON_BYTES;
  }

  /** What an error about `path` may say of the request. */
  details(method: string, path: string): DicomwebErrorDetails {
    return { method, url: safeUrl(this.url(path)) };
  }

  private url(path: string, search?: string): string {
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  /** One request with timeouts, retries and re-authentication; read() turns an accepted response into T. */
  async execute<T>(spec: RequestSpec, read: ResponseReader<T>): Promise<T> {
    const url = this.url(spec.path, spec.search);
    const details = { method: spec.method, url: safeUrl(url) };
    let reauthenticated = false;
    let counted = 0;
    for (;;) {
      spec.signal?.throwIfAborted();
      counted++;
      const attempt = startAttempt(counted, {
        timeoutMs: this.timeoutMs,
        idle: spec.idleTimeout === true,
        signal: spec.signal,
      });
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
        if (!(await this.auth.refresh!())) throw new DicomwebAccessRefusedError(outcome.details);
        counted--; // a refreshed credential earns a free repeat
        continue;
      }
      const { failure } = outcome;
      const base = { ...details, attempts: counted, ...failureDetails(failure) };
      if (counted >= this.retry.attempts) {
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
    read: ResponseReader<T>,
    mayReauthenticate: boolean,
  ): Promise<Outcome<T>> {
    const { headers, credentials } = await this.headers(spec, url);
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
      return { kind: 'reauthenticate', details: { ...withStatus, status } };
    }
    if (status === 401 || status === 403) throw new DicomwebAccessRefusedError({ ...withStatus, status });
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
    const failure = transportFailure(error, attempt, this.timeoutMs);
    if (!failure) throw error;
    return { kind: 'retry', failure };
  }

  /** The request headers, and the auth values in them (whole, and each word) for redaction. */
  private async headers(spec: RequestSpec, url: string): Promise<{ headers: Headers; credentials: string[] }> {
    // The request itself goes to the provider: SigV4 signs its method, URL and body hash.
    const extra = await this.auth.headers({ method: spec.method, url, ...(spec.body ? { body: spec.body } : {}) });
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
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}
