import type { FailureCode } from '@app/errors';
import type { Attempt } from './attempt.js';
import { DicomwebHttpError, type DicomwebErrorDetails } from './errors.js';
import { MultipartError } from './multipart.js';

/**
 * Which failures are worth another attempt, and the typed errors for those that
 * are not (see errors.ts).
 */

/** A failed attempt that may be retried. */
export interface Failure {
  summary: string;
  status?: number;
  reason?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

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

/** 408, 429 and 5xx are worth retrying, except 501 Not Implemented and 505 HTTP Version Not Supported. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Network errors, our timeouts and truncated bodies: worth another attempt. Anything else is not ours to retry. */
export function transportFailure(error: unknown, attempt: Attempt, timeoutMs: number): Failure | undefined {
  if (attempt.timedOut) {
    const summary = attempt.idle ? `no data for ${timeoutMs} ms` : `timed out after ${timeoutMs} ms`;
    return { summary, cause: error };
  }
  if (error instanceof MultipartError && error.truncated) return { summary: 'response body truncated', cause: error };
  const code = networkCode(error);
  if (code !== undefined) return { summary: `network error${code ? ` (${code})` : ''}`, cause: error };
  return undefined;
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

/** The status and reason of a failure, for the error that reports it. */
export function failureDetails(failure: Failure): Partial<DicomwebErrorDetails> {
  const extra: Partial<DicomwebErrorDetails> = {};
  if (failure.status !== undefined) extra.status = failure.status;
  if (failure.reason !== undefined) extra.reason = failure.reason;
  return extra;
}

export function httpError(
  code: FailureCode,
  details: DicomwebErrorDetails & { status: number },
  response: Response,
): DicomwebHttpError {
  const status = details.status;
  const text =
    status === 406
      ? 'HTTP 406 Not Acceptable: the archive cannot provide the requested media type or transfer syntax'
      : `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new DicomwebHttpError(code, details, text);
}
