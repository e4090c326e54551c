import { AccessRefusedError, PermanentError, TransientError, type FailureCode } from '@app/errors';

/**
 * What went wrong with a DICOMweb request, in the shared taxonomy: the worker
 * retries a TransientError later and parks a PermanentError.
 *
 * Messages carry the method, the URL without credentials and with every query
 * value redacted (QIDO values are patient data), the status and the server's
 * DICOM-level reason. Never a header, a body or a query value.
 */
export interface DicomwebErrorDetails {
  method: string;
  /** Safe to log: no user-info, query values replaced by "…". */
  url: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** The server's reason: Warning header, STOW FailureReason, Orthanc's Message/Details. */
  reason?: string;
}

function describe(details: DicomwebErrorDetails, summary: string): string {
  return `DICOMweb ${details.method} ${details.url}: ${summary}${details.reason ? ` (${details.reason})` : ''}`;
}

/** The server answered with a status that retrying cannot fix (4xx). */
export class DicomwebHttpError extends PermanentError implements DicomwebErrorDetails {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly reason?: string;

  constructor(code: FailureCode, details: DicomwebErrorDetails & { status: number }, summary?: string) {
    super(code, describe(details, summary ?? `HTTP ${details.status}`));
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    if (details.reason !== undefined) this.reason = details.reason;
  }
}

/**
 * The archive refused our credentials (401, after one refresh) or their rights (403). Transient:
 * the study waits until an operator fixes the credentials; readiness reports the archive.
 */
export class DicomwebAccessRefusedError extends AccessRefusedError implements DicomwebErrorDetails {
  readonly method: string;
  readonly url: string;
  declare readonly status: number;
  readonly reason?: string;

  constructor(details: DicomwebErrorDetails & { status: 401 | 403 }) {
    const summary =
      details.status === 401
        ? 'HTTP 401 Unauthorized: the archive rejected the credentials'
        : 'HTTP 403 Forbidden: the credentials lack permission';
    super(describe(details, summary), details.status);
    this.method = details.method;
    this.url = details.url;
    if (details.reason !== undefined) this.reason = details.reason;
  }
}

/** The server could not be reached, timed out, or answered 408/429/5xx, on every attempt. */
export class DicomwebUnavailableError extends TransientError implements DicomwebErrorDetails {
  readonly method: string;
  readonly url: string;
  readonly status?: number;
  readonly reason?: string;
  /** How many attempts were made. */
  readonly attempts: number;
  /** Set when the server asked (Retry-After) for a longer pause than the client waits by itself. */
  readonly retryAfterMs?: number;

  constructor(
    details: DicomwebErrorDetails & { attempts: number; retryAfterMs?: number },
    summary: string,
    options?: { cause?: unknown },
  ) {
    const tries = details.attempts === 1 ? '1 attempt' : `${details.attempts} attempts`;
    super(describe(details, `${summary}; gave up after ${tries}`), options);
    this.method = details.method;
    this.url = details.url;
    this.attempts = details.attempts;
    if (details.status !== undefined) this.status = details.status;
    if (details.reason !== undefined) this.reason = details.reason;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** The server answered successfully but with something this client cannot understand. */
export class DicomwebResponseError extends PermanentError implements DicomwebErrorDetails {
  readonly method: string;
  readonly url: string;
  readonly status?: number;

  constructor(details: DicomwebErrorDetails, summary: string) {
    super('INTERNAL', describe(details, summary));
    this.method = details.method;
    this.url = details.url;
    if (details.status !== undefined) this.status = details.status;
  }
}

export type DicomwebError =
  DicomwebHttpError | DicomwebAccessRefusedError | DicomwebUnavailableError | DicomwebResponseError;

export function isDicomwebError(error: unknown): error is DicomwebError {
  return (
    error instanceof DicomwebHttpError ||
    error instanceof DicomwebAccessRefusedError ||
    error instanceof DicomwebUnavailableError ||
    error instanceof DicomwebResponseError
  );
}
